"""Scenario steps the contract tests share; each goes through the Broker port only."""

from __future__ import annotations

from decimal import Decimal

from condordesk.broker.base import Broker, OrderUpdated
from condordesk.domain.combo import closing_legs, entry_order, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderReport,
    OrderRequest,
    OrderStatus,
)
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from tests.support.sim import condor_around
from tests.support.waiting import Recorder, eventually

ENTRY_REF = "cd:c1:entry"
STOP_LIMIT_REF = "cd:c1:stop-limit"
STOP_MARKET_REF = "cd:c1:stop-market"
OCA_GROUP = "cd:c1:oca"
QUOTES_TIMEOUT_S = 15.0
"""Clock seconds a test lets quotes and greeks take (3 real seconds at the suite's speed: room
for a loaded machine; quotes come back as soon as everything is in)."""


def natural(quotes: dict[OptionContract, OptionQuote], legs: tuple[ComboLeg, ...]) -> Decimal:
    """What BUYing the combo ``legs`` costs at the touch (negative: a credit)."""
    price = Decimal(0)
    for leg in legs:
        q = quotes[leg.contract]
        assert q.bid is not None and q.ask is not None
        price += q.ask if leg.action is OrderAction.BUY else -q.bid
    return price


def mark(quotes: dict[OptionContract, OptionQuote], legs: tuple[ComboLeg, ...]) -> Decimal:
    """The mid price of BUYing the combo ``legs``."""
    price = Decimal(0)
    for leg in legs:
        mid = quotes[leg.contract].mid
        assert mid is not None
        price += mid if leg.action is OrderAction.BUY else -mid
    return price


async def entry_at_market(
    broker: Broker, distance: float = 30, ref: str = ENTRY_REF, extra_credit: Decimal = Decimal(0)
) -> tuple[IronCondor, OrderRequest]:
    """A FOK entry of a condor around the spot, at the natural credit (marketable) plus
    ``extra_credit`` (a positive amount makes it unmarketable)."""
    condor = condor_around(await broker.underlying_price(), distance=distance)
    quotes = await broker.option_quotes(condor.contracts, timeout=QUOTES_TIMEOUT_S)
    credit = round_to_tick(-natural(quotes, condor.short_legs()), COMBO_TICK, "down")
    return condor, entry_order(condor, credit + extra_credit, ref)


def final_update(recorder: Recorder, order_id: int) -> OrderReport | None:
    """The last OrderUpdated of ``order_id`` in a final state, if any yet."""
    done = [
        e.report
        for e in recorder.of(OrderUpdated)
        if e.report.order_id == order_id and e.report.status.is_done
    ]
    return done[-1] if done else None


async def settled(recorder: Recorder, order_id: int) -> OrderReport:
    """Await the final OrderUpdated of ``order_id`` and return it."""
    await eventually(lambda: final_update(recorder, order_id) is not None)
    report = final_update(recorder, order_id)
    assert report is not None
    return report


async def filled_condor(broker: Broker, recorder: Recorder, distance: float = 30) -> IronCondor:
    """Open a condor with a marketable FOK and wait for it to be FILLED."""
    condor, request = await entry_at_market(broker, distance)
    report = await broker.place_order(request)
    assert (await settled(recorder, report.order_id)).status is OrderStatus.FILLED
    return condor


async def stop_pair(
    broker: Broker,
    condor: IronCondor,
    *,
    trigger_over: Decimal,
    limit_over: Decimal,
    backup_over: Decimal,
) -> tuple[OrderRequest, OrderRequest]:
    """The OCA stop pair of ``condor``, its triggers relative to the closing mark now."""
    quotes = await broker.option_quotes(condor.contracts, timeout=QUOTES_TIMEOUT_S)
    trigger = round_to_tick(mark(quotes, closing_legs(condor)) + trigger_over, COMBO_TICK, "up")
    return stop_orders(
        condor,
        trigger=trigger,
        limit=trigger + limit_over,
        backup_trigger=trigger + backup_over,
        limit_ref=STOP_LIMIT_REF,
        market_ref=STOP_MARKET_REF,
        oca_group=OCA_GROUP,
    )


def signed_leg_sum(prices: dict[OptionContract, Decimal], legs: tuple[ComboLeg, ...]) -> Decimal:
    """The combo price the leg ``prices`` add up to."""
    return sum(
        (prices[leg.contract] * (1 if leg.action is OrderAction.BUY else -1) for leg in legs),
        Decimal(0),
    )
