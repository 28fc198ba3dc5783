"""SimBroker's partial-fill fault: resting multi-contract orders fill in pieces (runs on the
virtual-time loop)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from condordesk.broker.base import BrokerEvent, CommissionReceived, ExecutionReceived, OrderUpdated
from condordesk.broker.sim import SimBroker
from condordesk.domain.combo import close_order, closing_legs, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.orders import OrderAction, OrderReport, OrderStatus
from condordesk.market.clock import SimClock

from .conftest import MONDAY, at, combo_quote, condor_around, make_broker, open_condor

TICK = timedelta(seconds=10)  # the simulator's default tick


def reports(events: list[BrokerEvent]) -> list[OrderReport]:
    return [e.report for e in events if isinstance(e, OrderUpdated)]


def execs(events: list[BrokerEvent]) -> list[ExecutionReceived]:
    return [e for e in events if isinstance(e, ExecutionReceived)]


def signed(events: list[BrokerEvent]) -> Decimal:
    """Combo price x units of the executions in ``events`` (BUY legs add, SELL legs subtract)."""
    total = Decimal(0)
    for e in execs(events):
        x = e.execution
        total += (1 if x.side is OrderAction.BUY else -1) * x.price * x.quantity
    return total


async def two_lot_condor(broker: SimBroker, quantity: int = 2) -> IronCondor:
    spot = float(await broker.underlying_price())
    condor = condor_around(spot, MONDAY, distance=25)
    condor = IronCondor(
        condor.expiry,
        condor.long_put,
        condor.short_put,
        condor.short_call,
        condor.long_call,
        quantity,
    )
    await open_condor(broker, condor)
    return condor


async def marketable_close(broker: SimBroker, condor: IronCondor) -> Decimal:
    """A limit that buys the condor back at once (a tick over the natural price)."""
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    _, ask = combo_quote(quotes, closing_legs(condor))
    return (ask + Decimal("0.05")).quantize(Decimal("0.05"))


def held(positions: list[object]) -> dict[object, int]:
    return {p.contract: p.quantity for p in positions}  # type: ignore[attr-defined]


@pytest.fixture
def sim() -> tuple[SimClock, SimBroker]:
    clock, _market, broker = make_broker(at(MONDAY, 10))
    return clock, broker


async def test_a_close_fills_in_two_pieces_with_executions_and_commissions_each(
    sim: tuple[SimClock, SimBroker],
) -> None:
    clock, broker = sim
    await broker.connect()
    broker.partial_fills(count=1, pieces=2)
    condor = await two_lot_condor(broker)  # a FOK entry: all or nothing, never in pieces
    assert len(await broker.executions()) == 4
    stream = broker.events()
    limit = await marketable_close(broker, condor)
    first = await broker.place_order(close_order(condor, limit, "cd:c1:close"))

    assert (first.status, first.filled, first.remaining) == (OrderStatus.WORKING, 1, 1)
    piece1 = stream.drain()
    kinds = [type(e).__name__ for e in piece1]
    assert kinds == ["OrderUpdated"] + ["ExecutionReceived", "CommissionReceived"] * 4 + [
        "OrderUpdated"
    ]
    assert all(e.execution.quantity == 1 for e in execs(piece1))
    assert {p.quantity for p in await broker.positions()} == {1, -1}  # one unit still held
    started = clock.now()

    await clock.sleep(TICK.total_seconds())
    piece2 = stream.drain()
    (done,) = reports(piece2)
    assert (done.status, done.filled, done.remaining) == (OrderStatus.FILLED, 2, 0)
    assert len(execs(piece2)) == 4
    assert all(e.execution.ts > started for e in execs(piece2))  # a later tick
    ids = [e.execution.exec_id for e in execs(piece1) + execs(piece2)]
    assert len(set(ids)) == 8
    commissions = [e.report for e in piece1 + piece2 if isinstance(e, CommissionReceived)]
    assert sorted(c.exec_id for c in commissions) == sorted(ids)
    assert all(c.commission > 0 for c in commissions)
    assert done.avg_fill_price == signed(piece1 + piece2) / 2
    assert await broker.positions() == []
    assert len(await broker.executions()) == 12  # entry 4 + two pieces of 4


async def test_only_count_orders_of_two_contracts_or_more_are_split(
    sim: tuple[SimClock, SimBroker],
) -> None:
    _clock, broker = sim
    await broker.connect()
    one, two, three, four = [await two_lot_condor(broker, quantity=q) for q in (1, 2, 3, 2)]
    broker.partial_fills(count=2, pieces=2)

    async def close(condor: IronCondor, ref: str) -> OrderReport:
        limit = await marketable_close(broker, condor)
        return await broker.place_order(close_order(condor, limit, ref))

    single = await close(one, "cd:c1:close")
    assert (single.status, single.filled) == (OrderStatus.FILLED, 1)  # nothing to split
    first = await close(two, "cd:c2:close")
    assert (first.status, first.filled, first.remaining) == (OrderStatus.WORKING, 1, 1)
    second = await close(three, "cd:c3:close")
    assert (second.status, second.filled, second.remaining) == (OrderStatus.WORKING, 2, 1)
    whole = await close(four, "cd:c4:close")
    assert (whole.status, whole.filled) == (OrderStatus.FILLED, 2)  # the fault is used up


async def test_cancelling_a_partly_filled_order_keeps_the_filled_part(
    sim: tuple[SimClock, SimBroker],
) -> None:
    clock, broker = sim
    await broker.connect()
    condor = await two_lot_condor(broker, quantity=3)
    broker.partial_fills(count=1, pieces=3, interval_s=600)
    stream = broker.events()
    report = await broker.place_order(
        close_order(condor, await marketable_close(broker, condor), "cd:c1:close")
    )
    assert (report.filled, report.remaining) == (1, 2)
    await clock.sleep(120)  # the next piece waits ten minutes
    assert (await broker.order_status(report.order_id)).filled == 1  # type: ignore[union-attr]
    await broker.cancel_order(report.order_id)
    final = await broker.order_status(report.order_id)
    assert final is not None
    assert (final.status, final.filled, final.remaining) == (OrderStatus.CANCELLED, 1, 2)
    assert await broker.open_orders() == []
    positions = held(await broker.positions())
    assert positions == {c: condor.position_sign(c) * 2 for c in condor.contracts}
    events = stream.drain()
    assert len(execs(events)) == 4
    assert [(r.status, r.filled) for r in reports(events)] == [
        (OrderStatus.WORKING, 0),
        (OrderStatus.WORKING, 1),
        (OrderStatus.CANCELLED, 1),
    ]


async def test_pieces_wait_the_interval_then_the_first_tick_the_price_holds(
    sim: tuple[SimClock, SimBroker],
) -> None:
    clock, broker = sim
    await broker.connect()
    condor = await two_lot_condor(broker)
    broker.partial_fills(count=1, pieces=2, interval_s=45)
    stream = broker.events()
    limit = await marketable_close(broker, condor)
    placed = clock.now()
    report = await broker.place_order(close_order(condor, limit, "cd:c1:close"))
    await clock.sleep(44)
    assert (await broker.order_status(report.order_id)).filled == 1  # type: ignore[union-attr]
    await clock.sleep(30)
    final = await broker.order_status(report.order_id)
    assert final is not None and final.status is OrderStatus.FILLED
    stamps = sorted({e.execution.ts for e in execs(stream.drain())})
    assert len(stamps) == 2
    assert stamps[0] == placed
    assert timedelta(seconds=45) <= stamps[1] - stamps[0] < timedelta(seconds=45) + TICK


async def test_the_rest_of_a_limit_waits_while_the_market_is_away(
    sim: tuple[SimClock, SimBroker],
) -> None:
    clock, broker = sim
    await broker.connect()
    condor = await two_lot_condor(broker)
    broker.partial_fills(count=1, pieces=2)
    report = await broker.place_order(
        close_order(condor, await marketable_close(broker, condor), "cd:c1:close")
    )
    assert report.filled == 1
    away = -(float(await broker.underlying_price()) - float(condor.short_put)) - 3
    broker.gap(away)  # the condor's buy-back price runs far above the limit
    await clock.sleep(120)
    stuck = await broker.order_status(report.order_id)
    assert stuck is not None
    assert (stuck.status, stuck.filled, stuck.remaining) == (OrderStatus.WORKING, 1, 1)
    broker.gap(-away)  # and comes back
    await clock.sleep(TICK.total_seconds())
    done = await broker.order_status(report.order_id)
    assert done is not None
    assert (done.status, done.filled) == (OrderStatus.FILLED, 2)
    assert await broker.positions() == []


async def test_a_stop_market_in_pieces_cancels_its_oca_sibling_on_the_first_piece(
    sim: tuple[SimClock, SimBroker],
) -> None:
    clock, broker = sim
    await broker.connect()
    condor = await two_lot_condor(broker)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    bid, ask = combo_quote(quotes, closing_legs(condor))
    trigger = ((bid + ask) / 2 + Decimal("0.50")).quantize(Decimal("0.1"))
    limit_req, market_req = stop_orders(
        condor,
        trigger=trigger,
        limit=trigger + Decimal("0.20"),
        backup_trigger=trigger + Decimal("0.30"),
        limit_ref="cd:c1:stop-limit",
        market_ref="cd:c1:stop-market",
        oca_group="oca-c1",
    )
    stop_limit = await broker.place_order(limit_req)
    stop_market = await broker.place_order(market_req)
    broker.partial_fills(count=1, pieces=2)
    stream = broker.events()
    broker.gap(-(float(await broker.underlying_price()) - float(condor.short_put)) - 3)
    first = stream.drain()
    assert [(r.order_id, r.status, r.filled, r.reason) for r in reports(first)] == [
        (stop_limit.order_id, OrderStatus.WORKING, 0, "triggered"),
        (stop_market.order_id, OrderStatus.WORKING, 0, "triggered"),
        (stop_market.order_id, OrderStatus.WORKING, 1, "partially filled 1/2"),
        (stop_limit.order_id, OrderStatus.CANCELLED, 0, "OCA group oca-c1 filled"),
    ]
    await clock.sleep(TICK.total_seconds())
    second = stream.drain()
    assert [(r.order_id, r.status, r.filled) for r in reports(second)] == [
        (stop_market.order_id, OrderStatus.FILLED, 2),
    ]
    assert {e.execution.order_id for e in execs(first + second)} == {stop_market.order_id}
    assert len(execs(first)) == len(execs(second)) == 4
    assert await broker.positions() == []
    assert await broker.open_orders() == []


async def test_a_partly_filled_day_order_is_cancelled_at_the_close_and_the_rest_settles(
    sim: tuple[SimClock, SimBroker],
) -> None:
    clock, broker = sim
    await broker.connect()
    condor = await two_lot_condor(broker)
    broker.partial_fills(count=1, pieces=2, interval_s=8 * 3600)
    report = await broker.place_order(
        close_order(condor, await marketable_close(broker, condor), "cd:c1:close")
    )
    await clock.sleep_until(at(MONDAY, 16, 1))
    final = await broker.order_status(report.order_id)
    assert final is not None
    assert (final.status, final.filled, final.reason) == (
        OrderStatus.CANCELLED,
        1,
        "session closed",
    )
    assert await broker.positions() == []  # the unit left was cash-settled


def test_the_fault_needs_sensible_arguments() -> None:
    _clock, _market, broker = make_broker(at(MONDAY, 10))
    for bad in ({"pieces": 1}, {"count": -1}, {"interval_s": -1.0}):
        with pytest.raises(ValueError, match="pieces"):
            broker.partial_fills(**bad)  # type: ignore[arg-type]
