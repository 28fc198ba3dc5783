"""Protected at once: any fill of a working entry, whenever it arrives, opens and protects the
condor immediately; a reconciliation never touches an order whose send awaits its answer
(issue 12, invariant 8)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.broker.base import OrderUpdated
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import (
    OrderReport,
    OrderRequest,
    OrderRole,
    OrderStatus,
    TimeInForce,
    parse_order_ref,
)
from condordesk.engine import api
from tests.engine import harness
from tests.engine.harness import Outcome, make_profile, run_engine

pytestmark = pytest.mark.usefixtures("warm_calendar")

ONE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


until = functools.partial(harness.until, step=1.0, limit_s=3600.0)


@dataclasses.dataclass
class Entry:
    """The first entry, made to rest at the broker (its cancel may be lost)."""

    request: OrderRequest | None = None
    resting: OrderRequest | None = None
    order_id: int | None = None


def resting_first_entry(rt: Runtime, entry: Entry, *, lose_cancel: bool) -> None:
    place, cancel = rt.broker.place_order, rt.broker.cancel_order

    async def placing(request: OrderRequest) -> OrderReport:
        parsed = parse_order_ref(request.order_ref)
        if parsed and parsed[1] is OrderRole.ENTRY and entry.request is None:
            entry.request = request
            entry.resting = dataclasses.replace(
                request, tif=TimeInForce.DAY, limit_price=Decimal("-9.00")
            )
            report = await place(entry.resting)
            entry.order_id = report.order_id
            return report
        return await place(request)

    async def cancelling(order_id: int) -> None:
        if lose_cancel and order_id == entry.order_id:
            return  # the cancel is lost on the way: the entry keeps working
        await cancel(order_id)

    rt.broker.place_order = placing  # type: ignore[method-assign]
    rt.broker.cancel_order = cancelling  # type: ignore[method-assign]


async def fill_it(rt: Runtime, entry: Entry) -> datetime:
    """Make the resting entry marketable: it fills now."""
    assert entry.request is not None and entry.resting is not None and entry.order_id
    marketable = dataclasses.replace(entry.resting, limit_price=entry.request.limit_price)
    filled_at = rt.clock.now()
    await rt.broker.modify_order(entry.order_id, marketable)
    return filled_at


def protected_after(out: Outcome, condor_id: str, since: datetime) -> float:
    verified = [e for e in out.of(api.StopVerified) if e.condor_id == condor_id and e.ts]
    assert verified, "the condor was never protected"
    return (verified[0].ts - since).total_seconds()


def test_an_entry_fill_after_the_timeout_and_a_lost_cancel_is_protected_at_once(
    tmp_path: Path,
) -> None:
    entry = Entry()
    filled: list[datetime] = []

    async def script(rt: Runtime) -> None:
        resting_first_entry(rt, entry, lose_cancel=True)
        await until(rt, lambda: "entry_unresolved" in rt.engine.pauses)
        filled.append(await fill_it(rt, entry))
        await until(
            rt, lambda: any(lc.state is CondorState.OPEN for lc in rt.engine.desk.live.values())
        )

    out = run_engine(ONE, tmp_path, script)
    (opened,) = out.of(api.CondorOpened)
    assert protected_after(out, opened.condor_id, filled[0]) <= ONE.strategy.cycle_seconds
    assert any(a.code == "late_entry_fill" for a in out.of(api.AlertRaised))


def test_an_entry_fill_after_it_was_journaled_not_filled_revives_and_protects_it(
    tmp_path: Path,
) -> None:
    entry = Entry()
    filled: list[datetime] = []

    async def script(rt: Runtime) -> None:
        resting_first_entry(rt, entry, lose_cancel=True)
        original = rt.engine.desk.cancel

        async def cancel_reported(order_id: int) -> None:
            await original(order_id)
            if order_id == entry.order_id:  # the broker says cancelled, yet it still works
                assert entry.resting is not None
                rt.engine.desk.on_broker_event(
                    OrderUpdated(
                        OrderReport(
                            order_id=order_id,
                            perm_id=0,
                            order_ref=entry.resting.order_ref,
                            status=OrderStatus.CANCELLED,
                            filled=0,
                            remaining=entry.resting.quantity,
                            avg_fill_price=None,
                            reason="cancelled",
                        )
                    )
                )

        rt.engine.desk.cancel = cancel_reported  # type: ignore[method-assign]
        await until(
            rt,
            lambda: (
                bool(rt.journal.condors())
                and rt.journal.condors()[0].state is CondorState.CANCELLED
            ),
        )
        filled.append(await fill_it(rt, entry))
        await until(rt, lambda: rt.journal.condors()[0].state is CondorState.OPEN)

    out = run_engine(ONE, tmp_path, script)
    cid = out.runtime.journal.condors()[0].id
    assert out.of(api.EntryNotFilled)[0].condor_id == cid
    assert protected_after(out, cid, filled[0]) <= ONE.strategy.cycle_seconds


def test_a_reconcile_during_the_entry_ack_wait_leaves_the_intent_alone(tmp_path: Path) -> None:
    plans: list[Any] = []

    async def script(rt: Runtime) -> None:
        place = rt.broker.place_order
        waiting = asyncio.Event()

        async def slow_ack(request: OrderRequest) -> OrderReport:
            parsed = parse_order_ref(request.order_ref)
            if parsed and parsed[1] is OrderRole.ENTRY and not waiting.is_set():
                waiting.set()
                await rt.clock.sleep(8.0)  # the ack takes its time
            return await place(request)

        rt.broker.place_order = slow_ack  # type: ignore[method-assign]
        await waiting.wait()
        plans.append(await rt.engine.reconcile("periodic"))

    out = run_engine(ONE, tmp_path, script)
    first = out.runtime.journal.condors()[0]
    entry = out.runtime.journal.order(f"cd:{first.id}:entry")
    assert entry is not None and entry.status == "filled"
    assert first.state in (CondorState.OPEN, CondorState.CLOSED)
    assert not [e for e in out.of(api.EntryNotFilled) if e.condor_id == first.id]
    assert plans and not [f for f in plans[0].findings if f.code == "intent_not_sent"]


def test_a_reconcile_during_a_stops_ack_wait_does_not_re_arm(tmp_path: Path) -> None:
    async def script(rt: Runtime) -> None:
        place = rt.broker.place_order
        waiting = asyncio.Event()

        async def slow_ack(request: OrderRequest) -> OrderReport:
            parsed = parse_order_ref(request.order_ref)
            if parsed and parsed[1] is OrderRole.STOP_LIMIT and not waiting.is_set():
                waiting.set()
                await rt.clock.sleep(8.0)
            return await place(request)

        rt.broker.place_order = slow_ack  # type: ignore[method-assign]
        await waiting.wait()
        await rt.engine.reconcile("periodic")

    out = run_engine(ONE, tmp_path, script)
    first = out.runtime.journal.condors()[0]
    stops = [
        o
        for o in out.runtime.journal.orders(first.id)
        if (p := parse_order_ref(o.order_ref)) and p[1] is OrderRole.STOP_LIMIT
    ]
    assert len(stops) == 1, [o.order_ref for o in stops]  # one stop pair for one unit
    assert stops[0].status != "cancelled" or first.state is CondorState.CLOSED


def test_reconcile_leaves_a_condor_alone_while_a_stop_send_awaits_its_answer(
    tmp_path: Path,
) -> None:
    from condordesk.app.bootstrap import build_sim
    from condordesk.engine.reconcile import ArmStops, ResolveOrder, analyze
    from condordesk.engine.repair import read_broker
    from condordesk.market.vtime import run_virtual

    rt = build_sim(ONE, journal_path=tmp_path / "j.sqlite3")
    plans: dict[str, Any] = {}

    async def scenario() -> None:
        task = asyncio.ensure_future(rt.engine.run())
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        live = next(iter(rt.engine.desk.live.values()))
        rt.engine.request_stop()
        await task
        for order_id in live.stop_order_ids:  # the old pair is gone at the broker...
            rt.broker.cancel_order_by_hand(order_id)  # type: ignore[attr-defined]
        old = rt.journal.order(f"cd:{live.id}:stop-limit")
        assert old is not None
        ref = f"cd:{live.id}:stop-limit.2"  # ...and the new one is on its way (no answer yet)
        new = dataclasses.replace(old.request, order_ref=ref)
        rt.journal.record_intent(live.id, OrderRole.STOP_LIMIT, new, rt.clock.now())
        await rt.broker.connect()
        view = await read_broker(rt.broker)
        today = rt.clock.now_et().date()
        plans["flying"] = analyze(rt.journal, view, today, {}, watching=True, in_flight={ref})
        plans["landed"] = analyze(rt.journal, view, today, {}, watching=True)
        plans["ref"] = ref

    run_virtual(scenario())
    flying, landed, ref = plans["flying"], plans["landed"], plans["ref"]
    assert not [a for a in flying.actions if getattr(a, "order_ref", None) == ref]
    assert not [a for a in flying.actions if isinstance(a, ArmStops)]  # no second pair
    assert any(isinstance(a, ResolveOrder) and a.order_ref == ref for a in landed.actions)
    assert any(isinstance(a, ArmStops) for a in landed.actions)  # (what it did before)
