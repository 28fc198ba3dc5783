"""Stop moves on the simulator (issue 12): a move modifies the working pair in place, so a gap
buys the condor back once; the engine refuses prices the broker would not take or that make
no sense for the condor; a refused modification keeps the good pair; exits never exceed what
the broker holds."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.domain.condor import IronCondor
from condordesk.domain.orders import OrderReport, OrderRole, parse_order_ref
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from tests.engine.harness import Outcome, make_profile, run_engine, until
from tests.engine.test_trading_day import assert_flat

pytestmark = pytest.mark.usefixtures("warm_calendar")

ONE_LOT = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00", "wing_widths": [10], "contracts": 1},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


async def protected(rt: Runtime) -> LiveCondor:
    """The first condor, once its stops are verified and it has a mark."""
    desk = rt.engine.desk
    await until(
        rt,
        lambda: any(
            lc.stop_state == "verified" and lc.mark is not None for lc in desk.live.values()
        ),
    )
    return next(lc for lc in desk.live.values() if lc.stop_state == "verified")


async def stop_orders(rt: Runtime, condor_id: str) -> dict[int, tuple[Any, ...]]:
    """The condor's stop orders working at the broker: id -> (ref, group, stop, limit, qty)."""
    out: dict[int, tuple[Any, ...]] = {}
    for rep in await rt.broker.open_orders():
        parsed = parse_order_ref(rep.order_ref)
        if parsed and parsed[0] == condor_id and parsed[1] is not OrderRole.CLOSE and rep.request:
            r = rep.request
            out[rep.order_id] = (
                rep.order_ref,
                r.oca_group,
                r.stop_price,
                r.limit_price,
                r.quantity,
            )
    return out


def exit_contracts(out: Outcome, condor_id: str) -> int:
    """Contracts the condor's closes and stops bought or sold back."""
    return sum(
        f.quantity
        for f in out.of(api.FillRecorded)
        if f.condor_id == condor_id and not f.order_ref.endswith(":entry")
    )


def assert_never_reversed(out: Outcome, condor: IronCondor) -> None:
    """Replaying the fills in order, no leg ever crosses to the other side of its position."""
    sign = {c.symbol: condor.position_sign(c) for c in condor.contracts}
    held: dict[str, int] = defaultdict(int)
    for f in out.of(api.FillRecorded):
        held[f.symbol] += f.quantity if f.side == "BUY" else -f.quantity
        assert held[f.symbol] * sign[f.symbol] >= 0, f"{f.symbol} reversed: {held[f.symbol]}"


def gap_through(rt: Runtime, condor: IronCondor) -> None:
    """Move SPX far through the long put: the condor is worth its full width."""
    spot = rt.engine.snapshot().spot
    assert spot is not None
    rt.broker.gap(float(condor.long_put - spot) - 10)  # type: ignore[attr-defined]


def before_first(rt: Runtime, names: tuple[str, ...], act: Callable[[], None]) -> None:
    """Run ``act`` once, just before the first call of any of the broker's ``names``."""
    done = False
    for name in names:
        original: Callable[..., Awaitable[OrderReport]] | None = getattr(rt.broker, name, None)
        if original is None:
            continue  # (a broker without modifications: the test then shows what it did)

        async def hooked(*args: Any, _original: Any = original, **kw: Any) -> OrderReport:
            nonlocal done
            if not done:
                done = True
                act()
            result: OrderReport = await _original(*args, **kw)
            return result

        setattr(rt.broker, name, hooked)


def test_a_move_during_a_gap_buys_the_condor_back_once(tmp_path: Path) -> None:
    """The market gaps through the condor while the stop is being moved: one buy-back (4
    contracts for a 1-lot), nothing reversed, no loss beyond the condor's maximum."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.stop is not None
        seen["live"] = live
        seen["before"] = await stop_orders(rt, live.id)
        new = live.stop.trigger + Decimal("0.50")
        before_first(rt, ("place_order", "modify_order"), lambda: gap_through(rt, live.condor))
        ack = await rt.engine.submit(api.MoveStop(condor_id=live.id, trigger=new, origin="tui"))
        assert ack.accepted

    out = run_engine(ONE_LOT, tmp_path, operator)
    live: LiveCondor = seen["live"]
    assert exit_contracts(out, live.id) == 4
    assert_never_reversed(out, live.condor)
    rec = out.runtime.journal.condor(live.id)
    assert rec is not None and rec.realized_pnl is not None and rec.credit is not None
    max_loss = (Decimal(10) - rec.credit) * 100 + (rec.commissions or Decimal(0))
    assert rec.realized_pnl >= -max_loss
    assert len(out.of(api.CondorClosed)) == 1
    assert_flat(out.runtime)


def test_a_move_modifies_the_working_pair_in_place_and_cancels_nothing(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.stop is not None
        before = await stop_orders(rt, live.id)
        cancels: list[int] = []
        original = rt.broker.cancel_order

        async def watched(order_id: int) -> None:
            cancels.append(order_id)
            await original(order_id)

        rt.broker.cancel_order = watched  # type: ignore[method-assign]
        new = live.stop.trigger + Decimal("0.50")
        ack = await rt.engine.submit(api.MoveStop(condor_id=live.id, trigger=new, origin="tui"))
        rt.broker.cancel_order = original  # type: ignore[method-assign]
        seen.update(
            ack=ack, before=before, after=await stop_orders(rt, live.id), cancels=cancels, new=new
        )
        seen["state"] = live.stop_state
        seen["journal"] = rt.journal.stops(live.id)[-1]
        gap_through(rt, live.condor)

    out = run_engine(ONE_LOT, tmp_path, operator)
    assert seen["ack"].accepted and seen["cancels"] == []
    before, after, new = seen["before"], seen["after"], seen["new"]
    assert set(after) == set(before)  # the same two orders
    assert {v[1] for v in after.values()} == {v[1] for v in before.values()}  # one OCA group
    assert sorted(v[2] for v in after.values()) == [new, new + Decimal("0.30")]
    assert seen["state"] == "verified"
    assert (seen["journal"].trigger, seen["journal"].state) == (new, "verified")
    assert len(out.of(api.CondorClosed)) == 1
    assert exit_contracts(out, out.of(api.CondorClosed)[0].condor_id) == 4
    assert_flat(out.runtime)


def test_a_modification_racing_a_fill_ends_in_exactly_one_buy_back(tmp_path: Path) -> None:
    """The first order of the pair is modified, then the market gaps before the second: the
    broker refuses the second modification (the pair filled) and the exit flow buys once."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.stop is not None
        seen["live"] = live
        calls = 0
        original = rt.broker.modify_order

        async def racing(order_id: int, request: Any) -> OrderReport:
            nonlocal calls
            calls += 1
            if calls == 2:
                gap_through(rt, live.condor)
            return await original(order_id, request)

        rt.broker.modify_order = racing  # type: ignore[method-assign]
        new = live.stop.trigger + Decimal("0.50")
        await rt.engine.submit(api.MoveStop(condor_id=live.id, trigger=new, origin="tui"))
        seen["calls"] = calls

    out = run_engine(ONE_LOT, tmp_path, operator)
    live: LiveCondor = seen["live"]
    assert seen["calls"] >= 2
    assert exit_contracts(out, live.id) == 4
    assert_never_reversed(out, live.condor)
    assert len(out.of(api.CondorClosed)) == 1
    assert_flat(out.runtime)


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        ("2.42", "2.42 is not on the 0.05 combo price grid (the nearest prices are 2.40 and 2.45)"),
        ("2.32", "2.32 is not on the 0.05 combo price grid (the nearest prices are 2.30 and 2.35)"),
        ("73.15", "73.15 is above 10.00, the most this condor can be worth (its wing width)"),
        ("99.00", "99.00 is above 10.00, the most this condor can be worth"),
        ("0", "the stop trigger must be above zero, got 0"),
        ("mark", "is at or below the condor's current mark"),
        ("below", "so the stop would fire at once; use close to buy it back now"),
    ],
)
def test_a_trigger_the_broker_would_refuse_or_that_would_fire_at_once_is_refused(
    tmp_path: Path, trigger: str, reason: str
) -> None:
    """Refused by the engine with a reason; no order leaves; the good pair keeps working."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.mark is not None
        at_mark = round_to_tick(live.mark, COMBO_TICK, "down")  # at (or just below) the mark
        price = {"mark": at_mark, "below": at_mark - COMBO_TICK}.get(trigger)
        assert price is None or price > 0
        before = await stop_orders(rt, live.id)
        ack = await rt.engine.submit(
            api.MoveStop(
                condor_id=live.id,
                trigger=price if price is not None else Decimal(trigger),
                origin="cli",
            )
        )
        seen.update(ack=ack, before=before, after=await stop_orders(rt, live.id))
        seen["state"] = live.stop_state
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    ack = seen["ack"]
    assert not ack.accepted and reason in ack.reason
    assert seen["after"] == seen["before"] and len(seen["after"]) == 2
    assert seen["state"] == "verified"
    moved = [e for e in out.of(api.CommandReceived) if e.command == "MoveStop"]
    assert [e.accepted for e in moved] == [False]
    assert not [s for s in out.of(api.OrderSubmitted) if s.role != "entry" and ".2" in s.order_ref]
    assert len(out.of(api.StopPlaced)) == 1  # the entry's pair only


def test_a_close_limit_off_the_grid_or_above_the_width_is_refused(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        seen["off"] = await rt.engine.submit(
            api.CloseCondor(condor_id=live.id, limit=Decimal("1.03"), origin="cli")
        )
        seen["high"] = await rt.engine.submit(
            api.CloseCondor(condor_id=live.id, limit=Decimal("12.00"), origin="cli")
        )
        seen["zero"] = await rt.engine.submit(
            api.CloseCondor(condor_id=live.id, limit=Decimal("0"), origin="cli")
        )
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    assert "the close limit 1.03 is not on the 0.05 combo price grid" in seen["off"].reason
    assert "the close limit 12.00 is above 10.00" in seen["high"].reason
    assert "the close limit must be above zero" in seen["zero"].reason
    assert not [s for s in out.of(api.OrderSubmitted) if s.role == "close"]


def test_a_refused_modification_keeps_the_old_pair_working_at_the_old_prices(
    tmp_path: Path,
) -> None:
    """The broker refuses the move (not because a stop filled): the good pair is never
    cancelled, no pair is added, the stop stays verified at the old trigger, the journal
    says so, and the operator is warned."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.stop is not None
        old = live.stop
        before = await stop_orders(rt, live.id)
        rt.broker.reject_next("no such price today")  # type: ignore[attr-defined]
        ack = await rt.engine.submit(
            api.MoveStop(condor_id=live.id, trigger=old.trigger + Decimal("0.50"), origin="tui")
        )
        seen.update(ack=ack, old=old, before=before, after=await stop_orders(rt, live.id))
        seen["state"], seen["stop"] = live.stop_state, live.stop
        seen["journal"] = rt.journal.stops(live.id)
        seen["condor"] = rt.journal.condor(live.id)
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    old = seen["old"]
    assert seen["ack"].accepted
    assert seen["after"] == seen["before"]  # same orders, same prices, nothing added
    assert seen["state"] == "verified" and seen["stop"] == old
    (record,) = seen["journal"]
    assert (record.trigger, record.limit_price, record.backup_trigger) == (
        old.trigger,
        old.limit,
        old.backup_trigger,
    )
    assert seen["condor"].stop_trigger == old.trigger
    alerts = [a for a in out.of(api.AlertRaised) if a.code == "stop_move_refused"]
    assert len(alerts) == 1 and alerts[0].level == "warning"
    assert f"the stop stays at {old.trigger}" in alerts[0].message
    assert not out.of(api.StopCancelled)


def test_arming_while_a_pair_works_never_adds_a_second_group(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        before = await stop_orders(rt, live.id)
        live.stop_state = "degraded"  # e.g. a stale cancel report: the pair still works
        ack = await rt.engine.submit(api.ArmStops(condor_id=live.id, origin="tui"))
        seen.update(ack=ack, before=before, after=await stop_orders(rt, live.id))
        seen["state"] = live.stop_state
        rt.engine.request_stop()

    run_engine(ONE_LOT, tmp_path, operator)
    assert seen["ack"].accepted
    assert seen["after"] == seen["before"]
    assert seen["state"] == "verified"


def test_a_close_for_more_than_the_broker_holds_is_not_sent(tmp_path: Path) -> None:
    """The journal says one unit is held, the broker shows the short put already bought back
    (by hand): a close would buy a put the account does not owe, so it is never sent."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        short_put = live.condor.contracts[1]
        rt.broker.close_position_by_hand(short_put)  # type: ignore[attr-defined]
        ack = await rt.engine.submit(api.CloseCondor(condor_id=live.id, origin="tui"))
        seen.update(ack=ack, live=live)
        seen["positions"] = {p.contract: p.quantity for p in await rt.broker.positions()}
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    live: LiveCondor = seen["live"]
    short_put = live.condor.contracts[1]
    assert short_put not in seen["positions"]  # flat in it, never bought a second time
    assert not [s for s in out.of(api.OrderSubmitted) if s.role == "close"]
    budget = [a for a in out.of(api.AlertRaised) if a.code == "exit_budget"]
    assert budget and all(a.level == "critical" for a in budget)
    assert f"{short_put.symbol}: 0 held, working exits could take 0, this order 1 more" in (
        budget[0].message
    )


def test_every_stop_placement_waits_for_the_one_stop_lock(tmp_path: Path) -> None:
    """While a reconciliation (or a stop command) holds Engine.stop_lock, a re-arm from
    another task waits; the holder itself may arm without deadlocking."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        engine = rt.engine
        live = await protected(rt)
        assert engine.stop_lock is engine.desk.stop_lock
        live.stop_state = "degraded"
        async with engine.stop_lock:
            other = asyncio.ensure_future(engine.desk.place_stops(live))
            await rt.clock.sleep(30)
            seen["done_while_held"] = other.done()
            seen["nested"] = await engine.desk.place_stops(live)  # re-entrant for the holder
        seen["other"] = await other
        seen["orders"] = await stop_orders(rt, live.id)
        engine.request_stop()

    run_engine(ONE_LOT, tmp_path, operator)
    assert seen["done_while_held"] is False
    assert seen["nested"] is True and seen["other"] is True
    assert len(seen["orders"]) == 2  # still the one pair


def test_a_refused_re_arm_never_cancels_the_working_pair(tmp_path: Path) -> None:
    """A move while the engine thinks the pair degraded (a stale cancel report) arms the stops
    at the new trigger; the broker refuses the modification: the pair that works is kept."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.stop is not None
        before = await stop_orders(rt, live.id)
        live.stop_state = "degraded"
        rt.broker.reject_next("not today")  # type: ignore[attr-defined]
        new = live.stop.trigger + Decimal("0.50")
        await rt.engine.submit(api.MoveStop(condor_id=live.id, trigger=new, origin="tui"))
        seen.update(before=before, after=await stop_orders(rt, live.id), state=live.stop_state)
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    assert seen["after"] == seen["before"]
    assert seen["state"] == "verified"
    assert not out.of(api.StopCancelled)
    assert [a.code for a in out.of(api.AlertRaised)].count("stop_move_refused") == 1


def test_a_move_below_the_market_of_a_condor_not_marked_yet_is_refused_when_carried_out(
    tmp_path: Path,
) -> None:
    """No mark yet (quotes not in): the engine asks for quotes before it modifies, and a
    trigger below the market is refused there; the pair keeps working."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        before = await stop_orders(rt, live.id)
        live.mark = None
        ack = await rt.engine.submit(
            api.MoveStop(condor_id=live.id, trigger=Decimal("0.05"), origin="tui")
        )
        seen.update(ack=ack, before=before, after=await stop_orders(rt, live.id))
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    assert seen["after"] == seen["before"]
    refused = [a for a in out.of(api.AlertRaised) if a.code == "stop_move_refused"]
    assert len(refused) == 1 and "is at or below its mark" in refused[0].message
    assert not out.of(api.CondorClosed)


def test_arming_right_after_a_cancel_never_adopts_the_pair_being_cancelled(
    tmp_path: Path,
) -> None:
    """CancelStop, then ArmStops while the cancels still travel (the broker still lists the
    pair): the old pair is seen gone before one new pair is placed; it is never taken for
    the protection."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        original = rt.broker.cancel_order
        later: list[asyncio.Future[None]] = []

        async def slow(order_id: int) -> None:
            async def land() -> None:
                await rt.clock.sleep(3)
                await original(order_id)

            later.append(asyncio.ensure_future(land()))

        rt.broker.cancel_order = slow  # type: ignore[method-assign]
        await rt.engine.submit(api.CancelStop(condor_id=live.id, origin="tui"))
        armed = await rt.engine.submit(api.ArmStops(condor_id=live.id, origin="tui"))
        rt.broker.cancel_order = original  # type: ignore[method-assign]
        await asyncio.gather(*later)
        await rt.clock.sleep(10)
        seen.update(armed=armed, after=await stop_orders(rt, live.id), state=live.stop_state)
        rt.engine.request_stop()

    run_engine(ONE_LOT, tmp_path, operator)
    assert seen["armed"].accepted
    assert sorted(v[0].rsplit(":", 1)[1] for v in seen["after"].values()) == [
        "stop-limit.2",
        "stop-market.2",
    ]
    assert seen["state"] == "verified"


def test_a_move_when_the_link_drops_keeps_the_old_pair_and_says_so(tmp_path: Path) -> None:
    """The broker link drops as the modification leaves: the move is not carried out, the
    pair keeps working at the broker at its old prices, and the operator is warned."""
    seen: dict[str, Any] = {}

    async def operator(rt: Runtime) -> None:
        live = await protected(rt)
        assert live.stop is not None
        old = live.stop
        before = await stop_orders(rt, live.id)
        original = rt.broker.modify_order

        async def dropping(order_id: int, request: Any) -> OrderReport:
            rt.broker.drop_connection()  # type: ignore[attr-defined]
            return await original(order_id, request)

        rt.broker.modify_order = dropping  # type: ignore[method-assign]
        ack = await rt.engine.submit(
            api.MoveStop(condor_id=live.id, trigger=old.trigger + Decimal("0.50"), origin="tui")
        )
        rt.broker.modify_order = original  # type: ignore[method-assign]
        rt.broker.restore_connection()  # type: ignore[attr-defined]
        await until(rt, lambda: rt.broker.connected)
        seen.update(ack=ack, old=old, before=before, after=await stop_orders(rt, live.id))
        seen["stop"] = live.stop
        rt.engine.request_stop()

    out = run_engine(ONE_LOT, tmp_path, operator)
    assert seen["ack"].accepted
    assert seen["after"] == seen["before"] and seen["stop"] == seen["old"]
    refused = [a for a in out.of(api.AlertRaised) if a.code == "stop_move_refused"]
    assert len(refused) == 1 and "(not verified at the broker)" in refused[0].message
