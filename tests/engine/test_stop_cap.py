"""The backup stop never pays more than a condor can be worth: it is a stop-limit whose limit
is the wing width (the "get me out" order, marketable at every honest price), armed, moved in
place and checked as such; a stop-market found working (placed by an older version) is
replaced at once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import (
    OrderReport,
    OrderRequest,
    OrderRole,
    OrderType,
    parse_order_ref,
)
from condordesk.domain.prices import MULTIPLIER
from condordesk.engine import api
from tests.engine.crash import Crash, crash_at, invariants, patch_orders, restart, run_crash
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
ONE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


async def protected(rt: Runtime) -> str:
    """The first condor's id once its stops are verified."""
    await until(rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values()))
    return next(iter(rt.engine.desk.live))


async def working_stops(rt: Runtime, cid: str) -> dict[OrderRole, OrderReport]:
    """The condor's stop orders working at the broker, by role."""
    out = {}
    for rep in await rt.broker.open_orders():
        parsed = parse_order_ref(rep.order_ref)
        if parsed is not None and parsed[0] == cid and not rep.status.is_done:
            out[parsed[1]] = rep
    return out


def capped(rep: OrderReport, width: Decimal) -> bool:
    req = rep.request
    return req is not None and req.order_type is OrderType.STOP_LIMIT and req.limit_price == width


def test_the_backup_is_armed_and_moved_as_a_stop_limit_at_the_wing_width(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    async def script(rt: Runtime) -> None:
        cid = await protected(rt)
        live = rt.engine.desk.live[cid]
        armed = await working_stops(rt, cid)
        trigger = live.stop.trigger + Decimal("0.50")  # type: ignore[union-attr]
        ack = await rt.engine.submit(api.MoveStop(origin="test", condor_id=cid, trigger=trigger))
        await until(rt, lambda: live.stop is not None and live.stop.trigger == trigger)
        await until(rt, lambda: live.stop_state == "verified")
        seen.update(width=live.condor.max_value, armed=armed, ack=ack)
        seen["moved"] = await working_stops(rt, cid)
        rt.engine.request_stop()

    run_engine(ONE, tmp_path, script)
    width = seen["width"]
    assert isinstance(width, Decimal)
    armed, moved = seen["armed"], seen["moved"]
    assert isinstance(armed, dict) and isinstance(moved, dict)
    assert capped(armed[OrderRole.STOP_MARKET], width)
    assert isinstance(seen["ack"], api.Ack) and seen["ack"].accepted
    backup = moved[OrderRole.STOP_MARKET]
    assert backup.order_id == armed[OrderRole.STOP_MARKET].order_id  # modified in place
    assert backup.request.stop_price > armed[OrderRole.STOP_MARKET].request.stop_price
    assert capped(backup, width)  # the move kept the cap


def _past_the_calls(over: float):  # type: ignore[no-untyped-def]
    async def script(rt: Runtime) -> None:
        cid = await protected(rt)
        live = rt.engine.desk.live[cid]
        spot = float(await rt.broker.underlying_price())
        rt.broker.gap(float(live.condor.long_call) - spot + over)  # type: ignore[attr-defined]

    return script


@pytest.mark.parametrize("over", [25.0, 50.0])
def test_a_gap_that_quotes_the_condor_above_its_width_never_pays_above_it(
    tmp_path: Path, over: float
) -> None:
    out = run_engine(ONE, tmp_path, _past_the_calls(over))

    (rec,) = out.runtime.journal.condors()
    width = rec.condor.max_value
    assert rec.state is CondorState.CLOSED and rec.credit is not None
    assert rec.exit_debit is not None and rec.exit_debit <= width
    assert rec.realized_pnl is not None
    worst = -(width - rec.credit) * MULTIPLIER * rec.condor.quantity - rec.commissions
    assert rec.realized_pnl >= worst
    for order in out.runtime.journal.orders(rec.id):
        if order.role is not OrderRole.ENTRY and order.avg_price is not None:
            assert order.avg_price <= width, order


def test_a_stop_that_fired_but_cannot_fill_within_the_width_is_told_once(tmp_path: Path) -> None:
    """50 points past the long call the market asks more than the width all day: the backup
    waits, the operator is told (once), and the condor settles at the width."""
    out = run_engine(ONE, tmp_path, _past_the_calls(50.0))

    (rec,) = out.runtime.journal.condors()
    waiting = [a for a in out.of(api.AlertRaised) if a.code == "stop_waiting"]
    assert len(waiting) == 1
    assert rec.id in waiting[0].message and f"works at {rec.condor.max_value}" in waiting[0].message
    assert rec.exit_reason is not None and rec.exit_reason.value == "expired"
    assert rec.exit_debit == rec.condor.max_value


def test_a_stop_that_fills_within_the_width_raises_no_waiting_alert(tmp_path: Path) -> None:
    out = run_engine(ONE, tmp_path, _past_the_calls(-5.0))  # between the call strikes

    (rec,) = out.runtime.journal.condors()
    assert rec.exit_reason is not None and rec.exit_reason.value.startswith("stop")
    assert not [a for a in out.of(api.AlertRaised) if a.code == "stop_waiting"]


def test_a_stop_market_backup_found_working_is_replaced_by_a_capped_one(tmp_path: Path) -> None:
    """An engine of an older version sent its backup as a stop-market and died; the new
    engine's start reconciliation does not take that pair as protection: it is cancelled and
    a capped pair armed (a stop-market cannot be modified into a stop-limit)."""

    old_engine_sent: list[str] = []

    def as_stop_market(request: OrderRequest) -> OrderRequest:  # the old engine's backup
        parsed = parse_order_ref(request.order_ref)
        if parsed is None or parsed[1] is not OrderRole.STOP_MARKET or old_engine_sent:
            return request
        old_engine_sent.append(request.order_ref)
        return dataclasses.replace(request, order_type=OrderType.STOP, limit_price=None)

    seen: dict[str, object] = {}

    async def scenario(c: Crash) -> None:
        patch_orders(c.rt, as_stop_market)
        await crash_at(c, "sent:stop-market")
        cid = c.rt.journal.condors()[0].id
        old = await working_stops(c.rt, cid)
        seen["old"] = old[OrderRole.STOP_MARKET]
        engine = await restart(c, ONE, until_done=False)
        task = asyncio.ensure_future(engine.run())
        await c.rt.clock.sleep_until(at(DAY, "10:15"))
        seen["checked"] = await invariants(c)
        seen["new"] = await working_stops(c.rt, cid)
        engine.request_stop()
        await task

    c = run_crash(ONE, tmp_path, scenario)
    (rec,) = c.rt.journal.condors()
    old, new = seen["old"], seen["new"]
    assert isinstance(old, OrderReport) and isinstance(new, dict)
    assert old.request is not None and old.request.order_type is OrderType.STOP
    assert set(new) == {OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET}
    assert capped(new[OrderRole.STOP_MARKET], rec.condor.max_value)
    assert new[OrderRole.STOP_MARKET].order_id != old.order_id
    assert c.rt.journal.order(old.order_ref).status == "cancelled"  # type: ignore[union-attr]
    assert len(c.rt.journal.stops(rec.id)) == 2
    assert any(isinstance(e, api.AlertRaised) and e.code == "stop_missing" for e in c.events)


def waiting_alerts(events: list[api.Event]) -> list[api.AlertRaised]:
    return [e for e in events if isinstance(e, api.AlertRaised) and e.code == "stop_waiting"]


def test_an_operator_close_of_a_waiting_condor_never_pays_above_the_width(tmp_path: Path) -> None:
    """The stop fired and waits (the market asks more than the width): the operator's close is
    accepted, pays at most the width, and the stops keep protecting the condor meanwhile."""
    seen: dict[str, object] = {}

    async def script(rt: Runtime) -> None:
        cid = await protected(rt)
        live = rt.engine.desk.live[cid]
        spot = float(await rt.broker.underlying_price())
        rt.broker.gap(float(live.condor.long_call) - spot + 50.0)  # type: ignore[attr-defined]
        events: list[api.Event] = []
        rt.engine.bus.add_listener(events.append)
        await until(rt, lambda: bool(waiting_alerts(events)), limit_s=300)
        seen["ack"] = await rt.engine.submit(api.CloseCondor(origin="test", condor_id=cid))
        await rt.clock.sleep(120)
        seen["stops"] = await working_stops(rt, cid)

    out = run_engine(ONE, tmp_path, script)

    (rec,) = out.runtime.journal.condors()
    width = rec.condor.max_value
    ack = seen["ack"]
    assert isinstance(ack, api.Ack) and ack.accepted
    stops = seen["stops"]
    assert isinstance(stops, dict) and set(stops) == {OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET}
    closes = [o for o in out.runtime.journal.orders(rec.id) if o.role is OrderRole.CLOSE]
    assert closes
    assert all(o.request.limit_price is not None and o.request.limit_price <= width for o in closes)
    assert rec.exit_debit is not None and rec.exit_debit <= width
