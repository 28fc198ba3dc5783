"""The engine on the simulator when exits fill in pieces (2-lot condors, the SimBroker's
partial-fill fault): the right position and P&L in the end, and never a unit left
unprotected or orphaned."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.broker.sim import SimMarket
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderAction, OrderRole, OrderStatus, parse_order_ref
from condordesk.domain.prices import COMBO_TICK, MULTIPLIER, round_to_tick
from condordesk.engine import api
from condordesk.store.journal import FillRecord
from tests.engine.harness import Outcome, make_profile, run_engine, until
from tests.engine.test_trading_day import assert_flat

pytestmark = pytest.mark.usefixtures("warm_calendar")

LOTS = 2
TWO_LOTS = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00", "contracts": LOTS},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)
BAD_ALERTS = {"fills_missing", "position_mismatch", "unknown_position", "quantity_mismatch"}


def sim(rt: Runtime):  # type: ignore[no-untyped-def]
    return rt.broker  # the SimBroker, with its fault knobs


async def protected(rt: Runtime) -> str:
    """The id of the first condor once its stops are verified."""
    await until(rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values()))
    return next(iter(rt.engine.desk.live))


async def marketable_limit(rt: Runtime, cid: str) -> Decimal:
    live = rt.engine.desk.live[cid]
    quotes = await rt.broker.option_quotes(live.condor.contracts, timeout=5.0)
    prices = live.closing_prices(quotes)
    assert prices is not None
    return round_to_tick(prices[1], COMBO_TICK, "up") + COMBO_TICK


def signed(fills: list[FillRecord]) -> Decimal:
    return sum(
        (
            (1 if f.execution.side is OrderAction.BUY else -1)
            * f.execution.price
            * f.execution.quantity
            for f in fills
        ),
        Decimal(0),
    )


def role(f: FillRecord) -> OrderRole:
    parsed = parse_order_ref(f.order_ref)
    assert parsed is not None
    return parsed[1]


def settlement_value(rt: Runtime, cid: str) -> Decimal:
    """What one unit of the condor was worth at its cash settlement: the day's seeded path
    (no gaps in these runs), priced by the condor itself."""
    condor = rt.journal.condor(cid).condor  # type: ignore[union-attr]
    session = rt.calendar.session(condor.expiry)
    assert session is not None
    market = SimMarket(rt.profile.simulator)
    market.build_session(session.day, session.open, session.close)
    return condor.value_at_expiry(market.settlement_price(condor.expiry))


def expected_pnl(out: Outcome, cid: str, settled_units: int = 0) -> Decimal:
    """Realized P&L from the journaled fills: credit in, every exit piece out (and the units
    left to cash settlement at their settlement value), commissions."""
    fills = out.runtime.journal.fills(cid)
    assert all(f.commission is not None for f in fills)
    entry = [f for f in fills if role(f) is OrderRole.ENTRY]
    exits = [f for f in fills if role(f) is not OrderRole.ENTRY]
    commissions = sum((f.commission or Decimal(0) for f in fills), Decimal(0))
    cash = -signed(entry) - signed(exits)  # per point: credit received minus debits paid
    if settled_units:
        cash -= settlement_value(out.runtime, cid) * settled_units
    return cash * MULTIPLIER - commissions


def orders_of(out: Outcome, cid: str, wanted: OrderRole) -> list:  # type: ignore[type-arg]
    return [o for o in out.runtime.journal.orders(cid) if o.role is wanted]


def no_bad_alerts(out: Outcome) -> None:
    bad = [a for a in out.of(api.AlertRaised) if a.code in BAD_ALERTS]
    assert bad == []


def test_a_close_that_fills_in_two_pieces_ends_flat_with_its_pnl(tmp_path: Path) -> None:
    async def close_in_pieces(rt: Runtime) -> None:
        cid = await protected(rt)
        sim(rt).partial_fills(count=1, pieces=2)
        limit = await marketable_limit(rt, cid)
        ack = await rt.engine.submit(api.CloseCondor(condor_id=cid, limit=limit, origin="test"))
        assert ack.accepted
        await until(rt, lambda: cid not in rt.engine.desk.live)
        rt.engine.request_stop()

    out = run_engine(TWO_LOTS, tmp_path, close_in_pieces)
    (closed,) = out.of(api.CondorClosed)
    cid = closed.condor_id
    assert closed.reason == "manual"
    (close,) = orders_of(out, cid, OrderRole.CLOSE)
    assert (close.status, close.filled) == (OrderStatus.FILLED, LOTS)
    pieces = out.runtime.journal.fills(cid, order_ref=close.order_ref)
    assert len(pieces) == 8 and len({f.execution.ts for f in pieces}) == 2  # every piece kept
    recorded = [e for e in out.of(api.FillRecorded) if e.order_ref == close.order_ref]
    assert len(recorded) == 8
    assert closed.realized_pnl == expected_pnl(out, cid)
    assert out.runtime.journal.condor(cid).realized_pnl == closed.realized_pnl  # type: ignore[union-attr]
    assert len(out.of(api.StopPlaced)) == 1  # nothing re-armed on top of the close
    no_bad_alerts(out)
    assert_flat(out.runtime)


def test_a_partly_filled_close_that_is_cancelled_closes_the_rest(tmp_path: Path) -> None:
    """The chase's order fills one unit, the rest does not come within the fill timeout: the
    engine cancels it and buys back the unit still held."""

    async def chase(rt: Runtime) -> None:
        cid = await protected(rt)
        sim(rt).partial_fills(count=1, pieces=2, interval_s=3600)
        ack = await rt.engine.submit(api.CloseCondor(condor_id=cid, origin="test"))
        assert ack.accepted
        await until(rt, lambda: cid not in rt.engine.desk.live)
        rt.engine.request_stop()

    out = run_engine(TWO_LOTS, tmp_path, chase)
    (closed,) = out.of(api.CondorClosed)
    cid = closed.condor_id
    assert closed.reason == "manual"
    closes = orders_of(out, cid, OrderRole.CLOSE)
    partial = [o for o in closes if o.status == OrderStatus.CANCELLED and o.filled]
    assert len(partial) == 1 and partial[0].filled == 1
    last = closes[-1]
    assert last.created_ts > partial[0].created_ts
    assert (last.request.quantity, last.status, last.filled) == (1, OrderStatus.FILLED, 1)
    exits = [f for f in out.runtime.journal.fills(cid) if role(f) is OrderRole.CLOSE]
    assert sum(f.execution.quantity for f in exits) == 4 * LOTS
    assert closed.realized_pnl == expected_pnl(out, cid)
    no_bad_alerts(out)
    assert_flat(out.runtime)


def _through_the_short_put(rt: Runtime, cid: str) -> float:
    live = rt.engine.desk.live[cid]
    assert rt.engine.spot is not None
    return -(float(rt.engine.spot) - float(live.condor.short_put)) - 10


def test_a_stop_market_that_fills_in_pieces_closes_the_condor_once(tmp_path: Path) -> None:
    async def gap(rt: Runtime) -> None:
        cid = await protected(rt)
        sim(rt).partial_fills(count=1, pieces=2)
        sim(rt).gap(_through_the_short_put(rt, cid))
        await until(rt, lambda: cid not in rt.engine.desk.live)
        await rt.clock.sleep(600)  # a few cycles and reconciliations after the exit
        rt.engine.request_stop()

    out = run_engine(TWO_LOTS, tmp_path, gap)
    (closed,) = out.of(api.CondorClosed)
    cid = closed.condor_id
    assert closed.reason == "stop_market"
    assert [t.role for t in out.of(api.StopTriggered)] == ["stop-market"]
    assert len(out.of(api.StopPlaced)) == 1  # never re-armed while the stop filled
    (stop,) = [o for o in orders_of(out, cid, OrderRole.STOP_MARKET)]
    assert (stop.status, stop.filled) == (OrderStatus.FILLED, LOTS)
    pieces = out.runtime.journal.fills(cid, order_ref=stop.order_ref)
    assert len({f.execution.ts for f in pieces}) == 2
    assert orders_of(out, cid, OrderRole.CLOSE) == []
    assert closed.realized_pnl == expected_pnl(out, cid)
    assert closed.realized_pnl < 0
    no_bad_alerts(out)
    assert_flat(out.runtime)


def test_a_stop_limit_stuck_after_its_first_piece_is_cancelled_and_the_rest_closed(
    tmp_path: Path,
) -> None:
    """The stop-limit fills one unit and its limit is never reached again (the backup
    stop-market was cancelled by the OCA group on that first piece): the engine does not wait
    for it; it cancels the rest and buys the last unit back."""

    async def slide(rt: Runtime) -> None:
        cid = await protected(rt)
        sim(rt).partial_fills(count=1, pieces=2, interval_s=3600)
        live = rt.engine.desk.live[cid]
        while live.state is CondorState.OPEN:
            sim(rt).gap(-1.0)
            await rt.clock.sleep(10)
        await until(rt, lambda: cid not in rt.engine.desk.live)
        await rt.clock.sleep(600)
        rt.engine.request_stop()

    out = run_engine(TWO_LOTS, tmp_path, slide)
    (closed,) = out.of(api.CondorClosed)
    cid = closed.condor_id
    assert closed.reason == "stop_limit"
    (stop,) = orders_of(out, cid, OrderRole.STOP_LIMIT)
    assert (stop.status, stop.filled) == (OrderStatus.CANCELLED, 1)
    (backup,) = orders_of(out, cid, OrderRole.STOP_MARKET)
    assert (backup.status, backup.filled) == (OrderStatus.CANCELLED, 0)
    closes = orders_of(out, cid, OrderRole.CLOSE)
    assert closes and closes[-1].request.quantity == 1 and closes[-1].filled == 1
    assert all(c.request.quantity == 1 for c in closes)  # never more than is held
    triggered = out.of(api.StopTriggered)
    assert [t.role for t in triggered] == ["stop-limit"]
    waited = (closed.ts - triggered[0].ts).total_seconds()  # type: ignore[operator]
    assert waited < 120  # the rest was closed at once, not after the hour the piece needed
    assert len(out.of(api.StopPlaced)) == 1
    assert closed.realized_pnl == expected_pnl(out, cid)
    no_bad_alerts(out)
    assert_flat(out.runtime)


def test_a_stop_that_fires_in_pieces_during_a_close_chase_takes_over_the_exit(
    tmp_path: Path,
) -> None:
    """A close chase rests at the mid when SPX gaps through the stops: the stop-market's first
    piece cancels the close (same OCA group), its second piece never comes, and the one flow
    cancels it and buys back the last unit; nothing is bought back twice."""

    async def chase_then_gap(rt: Runtime) -> None:
        cid = await protected(rt)
        sim(rt).partial_fills(count=1, pieces=2, interval_s=3600)
        closing = asyncio.ensure_future(
            rt.engine.submit(api.CloseCondor(condor_id=cid, origin="test"))
        )
        await until(rt, lambda: bool(rt.journal.orders(cid)[-1].role is OrderRole.CLOSE), 1.0)
        sim(rt).gap(_through_the_short_put(rt, cid))
        await closing
        await until(rt, lambda: cid not in rt.engine.desk.live)
        rt.engine.request_stop()

    out = run_engine(TWO_LOTS, tmp_path, chase_then_gap)
    (closed,) = out.of(api.CondorClosed)
    cid = closed.condor_id
    assert closed.reason == "stop_market"
    (stop,) = orders_of(out, cid, OrderRole.STOP_MARKET)
    assert (stop.status, stop.filled) == (OrderStatus.CANCELLED, 1)
    closes = orders_of(out, cid, OrderRole.CLOSE)
    assert closes[0].filled == 0 and closes[0].status == OrderStatus.CANCELLED
    assert sum(c.filled for c in closes) == 1  # the one unit the stop left
    exits = [f for f in out.runtime.journal.fills(cid) if role(f) is not OrderRole.ENTRY]
    assert sum(f.execution.quantity for f in exits) == 4 * LOTS
    assert closed.realized_pnl == expected_pnl(out, cid)
    no_bad_alerts(out)
    assert_flat(out.runtime)


def test_a_close_that_cannot_finish_leaves_the_rest_protected(tmp_path: Path) -> None:
    """An operator's limit close fills one of two units and no more: the unit left gets a stop
    pair of its own size, reconciliation is content with it, and the day ends with that unit
    settled and the P&L of both parts."""
    seen: dict[str, object] = {}

    async def limit_close(rt: Runtime) -> None:
        cid = await protected(rt)
        sim(rt).partial_fills(count=1, pieces=2, interval_s=8 * 3600)
        limit = await marketable_limit(rt, cid)
        await rt.engine.submit(api.CloseCondor(condor_id=cid, limit=limit, origin="test"))
        live = rt.engine.desk.live[cid]
        assert live.state is CondorState.OPEN  # open again, with one unit
        await until(rt, lambda: live.stop_state == "verified")
        working = [o for o in await rt.broker.open_orders() if o.order_ref.startswith(f"cd:{cid}")]
        seen["working"] = sorted((o.order_ref, o.request.quantity) for o in working)  # type: ignore[union-attr]
        seen["units"] = rt.engine.desk.units(live)

    out = run_engine(TWO_LOTS, tmp_path, limit_close)
    (closed,) = out.of(api.CondorClosed)
    cid = closed.condor_id
    assert seen["units"] == 1
    assert [q for _, q in seen["working"]] == [1, 1]  # type: ignore[attr-defined]
    assert {r.split(":")[2].split(".")[0] for r, _ in seen["working"]} == {  # type: ignore[attr-defined]
        "stop-limit",
        "stop-market",
    }
    placed = out.of(api.StopPlaced)
    assert len(placed) == 2  # the first pair (OCA-cancelled by the close) and the re-armed one
    late = [a.code for a in out.of(api.AlertRaised) if a.seq > placed[1].seq]
    assert "stop_missing" not in late  # reconciliation is content with stops of one unit
    alerts = [a.code for a in out.of(api.AlertRaised)]
    assert "close_incomplete" in alerts
    no_bad_alerts(out)
    (close,) = orders_of(out, cid, OrderRole.CLOSE)
    assert (close.status, close.filled) == (OrderStatus.CANCELLED, 1)
    assert closed.reason == "expired"  # this seed's day leaves the unit to settlement
    assert closed.realized_pnl == expected_pnl(out, cid, settled_units=1)
    assert_flat(out.runtime)


def test_a_late_report_with_fewer_fills_never_lowers_what_the_journal_shows() -> None:
    """Status reports of an order filling in pieces may arrive out of order (a replay, a
    late openOrder): the tracker keeps the higher fill count, and a final state still ends
    the wait."""
    from datetime import UTC, datetime

    from condordesk.domain.orders import OrderReport
    from condordesk.engine.orders import OrderTracker
    from condordesk.market.clock import SimClock

    tracker = OrderTracker(SimClock(datetime(2026, 11, 30, 15, tzinfo=UTC)))

    def report(status: OrderStatus, filled: int) -> OrderReport:
        return OrderReport(7, 70, "cd:c:close", status, filled, LOTS - filled, Decimal("1.2"))

    assert tracker.update(report(OrderStatus.WORKING, 1)) is not None
    late = tracker.update(report(OrderStatus.WORKING, 0))
    assert late is not None and (late.filled, late.remaining) == (1, 1)
    final = tracker.update(report(OrderStatus.CANCELLED, 0))
    assert final is not None and (final.status, final.filled) == (OrderStatus.CANCELLED, 1)
    assert tracker.update(report(OrderStatus.WORKING, 2)) is None  # never back to working


def test_units_held_count_whole_condors_leg_by_leg() -> None:
    from datetime import date

    from condordesk.domain.condor import IronCondor
    from condordesk.engine.book import held_units

    condor = IronCondor(date(2026, 11, 30), *(Decimal(k) for k in (5900, 5910, 6090, 6100)), 3)
    lp, sp, sc, lc = condor.contracts
    assert held_units({lp: 3, sp: -3, sc: -3, lc: 3}, condor) == 3
    assert held_units({lp: 2, sp: -1, sc: -1, lc: 1}, condor) == 1  # the smallest leg counts
    assert held_units({lp: 1, sp: 1, sc: -1, lc: 1}, condor) == 0  # a short leg held long
    assert held_units({}, condor) == 0
