"""The backup stop in the simulator: a stop-limit capped at the condor's wing width. It fills
like a market order wherever the condor honestly trades, and never above the width, even when
a gap quotes the combo's natural price above it."""

from __future__ import annotations

from decimal import Decimal

from condordesk.broker.base import BrokerEvent, OrderUpdated, PositionsSettled
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.domain.combo import closing_legs, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.orders import OrderReport, OrderStatus, OrderType
from condordesk.market.clock import SimClock

from .conftest import MONDAY, at, combo_quote, condor_around, open_condor

Sim = tuple[SimClock, SimMarket, SimBroker]
BACKUP = 3  # order ids: 1 the entry, 2 the stop-limit, 3 the backup


async def protected(sim: Sim) -> IronCondor:
    """A condor 25 points either side of SPX, its stop pair 0.50 above the mark: a stop-limit
    with a tight limit (a gap runs past it) and the backup 0.30 above its trigger."""
    _clock, _market, broker = sim
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY, distance=25)
    await open_condor(broker, condor)
    bid, ask = combo_quote(
        await broker.option_quotes(condor.contracts, timeout=5.0), closing_legs(condor)
    )
    trigger = ((bid + ask) / 2 + Decimal("0.50")).quantize(Decimal("0.1"))
    for req in stop_orders(
        condor,
        trigger=trigger,
        limit=trigger + Decimal("0.20"),
        backup_trigger=trigger + Decimal("0.30"),
        limit_ref="cd:c1:stop-limit",
        market_ref="cd:c1:stop-market",
        oca_group="oca-c1",
    ):
        assert (await broker.place_order(req)).status is OrderStatus.WORKING
    return condor


async def gap_past_the_calls(sim: Sim, condor: IronCondor, over: float) -> tuple[Decimal, Decimal]:
    """Move SPX ``over`` points past the long call at once; the closing combo's (bid, ask)."""
    _clock, _market, broker = sim
    broker.gap(float(condor.long_call) - float(await broker.underlying_price()) + over)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    return combo_quote(quotes, closing_legs(condor))


async def backup(broker: SimBroker) -> OrderReport:
    report = await broker.order_status(BACKUP)
    assert report is not None and report.request is not None
    return report


async def test_the_backup_works_at_the_broker_as_a_stop_limit_at_the_wing_width(sim: Sim) -> None:
    condor = await protected(sim)

    report = await backup(sim[2])

    assert report.status is OrderStatus.WORKING
    assert report.request is not None
    assert report.request.order_type is OrderType.STOP_LIMIT
    assert report.request.limit_price == condor.max_value == Decimal(10)


async def test_a_gap_quoting_the_condor_below_its_width_is_closed_by_the_backup_at_once(
    sim: Sim,
) -> None:
    condor = await protected(sim)
    stream = sim[2].events()

    _bid, natural = await gap_past_the_calls(sim, condor, over=-5)  # between the call strikes

    assert natural < condor.max_value
    report = await backup(sim[2])
    assert (report.status, report.filled) == (OrderStatus.FILLED, 1)
    assert report.avg_fill_price is not None and report.avg_fill_price <= natural
    updates = [
        (e.report.order_id, e.report.status) for e in stream.drain() if isinstance(e, OrderUpdated)
    ]
    assert updates[-2:] == [(BACKUP, OrderStatus.FILLED), (2, OrderStatus.CANCELLED)]
    assert await sim[2].positions() == []


async def test_a_gap_quoting_the_condor_above_its_width_buys_it_back_within_the_width(
    sim: Sim,
) -> None:
    condor = await protected(sim)
    stream = sim[2].events()

    bid, natural = await gap_past_the_calls(sim, condor, over=25)

    # a stop-market would have paid the natural price, above what the condor can be worth
    assert natural > condor.max_value > bid
    report = await backup(sim[2])
    assert (report.status, report.filled) == (OrderStatus.FILLED, 1)
    assert report.avg_fill_price is not None and report.avg_fill_price <= condor.max_value
    cancelled = [e.report for e in stream.drain() if isinstance(e, OrderUpdated)]
    assert (2, OrderStatus.CANCELLED) in [(r.order_id, r.status) for r in cancelled]
    assert await sim[2].positions() == []


async def test_a_backup_that_cannot_fill_within_the_width_leaves_the_condor_to_settle_at_it(
    sim: Sim,
) -> None:
    clock, market, broker = sim
    condor = await protected(sim)
    stream = broker.events()

    bid, natural = await gap_past_the_calls(sim, condor, over=50)

    assert (13 * bid + 27 * natural) / 40 > condor.max_value  # no fill price within the width
    report = await backup(broker)
    assert (report.status, report.filled) == (OrderStatus.WORKING, 0)
    # the quotes stay beyond the width all day: the backup never fills, the position is held
    # to the close and cash settled, worth the width and no more
    await clock.sleep_until(at(MONDAY, 16, 0, 1))
    events: list[BrokerEvent] = stream.drain()
    report = await backup(broker)
    assert (report.status, report.filled, report.reason) == (
        OrderStatus.CANCELLED,
        0,
        "session closed",
    )
    (settled,) = [e for e in events if isinstance(e, PositionsSettled)]
    assert settled.settlement_price == market.settlement_price(MONDAY)
    assert condor.value_at_expiry(settled.settlement_price) == condor.max_value
    assert await broker.positions() == []
