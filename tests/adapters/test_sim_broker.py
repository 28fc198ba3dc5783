"""SimBroker: the Broker port over the simulated market (runs on the virtual-time loop)."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from condordesk.broker.base import (
    BrokerEvent,
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
    PositionsSettled,
)
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.broker.sim.matching import limit_leg_prices, resting_fill
from condordesk.domain.combo import close_order, closing_legs, entry_order, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.errors import NotConnected, OrderRejected
from condordesk.market.clock import SimClock

from .conftest import (
    EARLY_CLOSE_DAY,
    MONDAY,
    at,
    combo_quote,
    condor_around,
    make_broker,
    make_config,
    open_condor,
    weekday_sessions,
)

Sim = tuple[SimClock, SimMarket, SimBroker]
FEES = Decimal("0.49")


def statuses(events: list[BrokerEvent]) -> list[tuple[int, OrderStatus, str]]:
    return [
        (e.report.order_id, e.report.status, e.report.reason)
        for e in events
        if isinstance(e, OrderUpdated)
    ]


def executions_of(events: list[BrokerEvent]) -> list[ExecutionReceived]:
    return [e for e in events if isinstance(e, ExecutionReceived)]


async def condor_with_stops(
    sim: Sim, *, trigger_over: Decimal, limit_over: Decimal, backup_over: Decimal
) -> tuple[IronCondor, Decimal]:
    """Open a condor, then place its OCA stop pair relative to the current closing mark."""
    _clock, _market, broker = sim
    condor = condor_around(float(await broker.underlying_price()), MONDAY, distance=25)
    _, credit = await open_condor(broker, condor)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    bid, ask = combo_quote(quotes, closing_legs(condor))
    mark = (bid + ask) / 2
    trigger = (mark + trigger_over).quantize(Decimal("0.1"))
    for req in stop_orders(
        condor,
        trigger=trigger,
        limit=trigger + limit_over,
        backup_trigger=trigger + backup_over,
        limit_ref="cd:c1:stop-limit",
        market_ref="cd:c1:stop-market",
        oca_group="oca-c1",
    ):
        report = await broker.place_order(req)
        assert report.status is OrderStatus.WORKING
    return condor, credit


# -- connection ---------------------------------------------------------------------------


async def test_calls_need_a_connection(sim: Sim) -> None:
    _, _, broker = sim
    assert not broker.connected
    with pytest.raises(NotConnected):
        await broker.positions()
    await broker.connect()
    assert broker.connected
    assert await broker.account() == "SIM0001"
    assert await broker.underlying_price() > 0
    await broker.disconnect()
    with pytest.raises(NotConnected):
        await broker.underlying_price()


async def test_strikes_are_listed_for_session_days_only(sim: Sim) -> None:
    _, _, broker = sim
    await broker.connect()
    strikes = await broker.option_strikes(MONDAY)
    assert len(strikes) > 100
    assert all(k % 5 == 0 for k in strikes)
    assert await broker.option_strikes(MONDAY + timedelta(days=5)) == []  # a Saturday
    assert await broker.option_strikes(MONDAY - timedelta(days=3)) == []  # the past


# -- quotes and greeks ------------------------------------------------------------------------


async def test_quotes_wait_the_greeks_latency_and_carry_fresh_greeks(sim: Sim) -> None:
    clock, _market, broker = sim
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY)
    before = clock.now()
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    assert clock.now() - before == timedelta(seconds=0.5)
    assert set(quotes) == set(condor.contracts)
    for q in quotes.values():
        assert q.greeks is not None
        assert q.greeks.is_finite()
        assert q.greeks_ts == clock.now()


async def test_greeks_missing_when_the_timeout_is_shorter_than_the_latency(sim: Sim) -> None:
    clock, _market, broker = sim
    await broker.connect()
    contract = condor_around(float(await broker.underlying_price()), MONDAY).contracts[1]
    before = clock.now()
    quotes = await broker.option_quotes([contract], timeout=0.2)
    assert clock.now() - before == timedelta(seconds=0.2)
    assert quotes[contract].greeks is None
    assert quotes[contract].bid is not None


async def test_greeks_missing_and_nan_knobs(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    s = float(await broker.underlying_price())
    contracts = [OptionContract(MONDAY, Decimal(k), Right.PUT) for k in range(5900, 6000, 5)]
    broker.set_greeks_missing(1.0)
    assert all(
        q.greeks is None for q in (await broker.option_quotes(contracts, timeout=5)).values()
    )
    broker.set_greeks_missing(0.5)
    quotes = await broker.option_quotes(contracts, timeout=5)
    missing = sum(q.greeks is None for q in quotes.values())
    assert 0 < missing < len(contracts)
    broker.set_greeks_missing(0.0)
    broker.set_nan_greeks(True)
    quotes = await broker.option_quotes(contracts, timeout=5)
    assert all(q.greeks is not None and not q.greeks.is_finite() for q in quotes.values())
    broker.set_nan_greeks(False)
    assert s > 0


async def test_unlisted_contracts_are_left_out_of_quotes(sim: Sim) -> None:
    _, _, broker = sim
    await broker.connect()
    odd = OptionContract(MONDAY, Decimal("6002"), Right.CALL)
    far = OptionContract(MONDAY, Decimal("9000"), Right.CALL)
    weekend = OptionContract(MONDAY + timedelta(days=5), Decimal("6000"), Right.CALL)
    good = OptionContract(MONDAY, Decimal("6000"), Right.CALL)
    quotes = await broker.option_quotes([odd, far, weekend, good], timeout=5)
    assert set(quotes) == {good}


# -- FOK entries ------------------------------------------------------------------------------


async def test_fok_entry_fills_every_leg_at_once_and_legs_sum_to_the_limit(sim: Sim) -> None:
    clock, _market, broker = sim
    await broker.connect()
    stream = broker.events()
    condor = condor_around(float(await broker.underlying_price()), MONDAY, distance=25)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    bid, ask = combo_quote(quotes, condor.short_legs())
    limit = ask - Decimal("0.05")  # better than natural, still past the fill reference
    assert 40 * limit >= 13 * bid + 27 * ask
    report = await broker.place_order(entry_order(condor, -limit, "cd:c1:entry"))

    assert report.status is OrderStatus.FILLED
    assert report.order_id == 1
    assert report.avg_fill_price == limit
    assert (report.filled, report.remaining) == (1, 0)
    events = stream.drain()
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["ExecutionReceived", "CommissionReceived"] * 4 + ["OrderUpdated"]
    execs = [e.execution for e in executions_of(events)]
    signed = sum((1 if x.side is OrderAction.BUY else -1) * x.price for x in execs)
    assert signed == limit
    assert [x.contract for x in execs] == list(condor.contracts)
    assert [x.side for x in execs] == [leg.action for leg in condor.short_legs()]
    for x in execs:
        assert x.price >= 0
        assert x.price == x.price.quantize(Decimal("0.01"))
        assert x.ts == clock.now()
        assert x.order_ref == "cd:c1:entry"
        assert x.perm_id == report.perm_id
    assert len({x.exec_id for x in execs}) == 4
    held = {p.contract: p.quantity for p in await broker.positions()}
    assert held == {c: condor.position_sign(c) for c in condor.contracts}


async def test_fok_that_is_not_marketable_is_cancelled_and_leaves_nothing(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    stream = broker.events()
    condor = condor_around(float(await broker.underlying_price()), MONDAY, distance=25)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    bid, _ = combo_quote(quotes, condor.short_legs())
    report = await broker.place_order(entry_order(condor, -bid, "cd:c1:entry"))  # the bid
    assert report.status is OrderStatus.CANCELLED
    assert "not marketable" in report.reason
    assert statuses(stream.drain()) == [(1, OrderStatus.CANCELLED, report.reason)]
    assert await broker.positions() == []
    assert await broker.executions() == []
    assert await broker.open_orders() == []


async def test_kill_next_fok_cancels_a_marketable_entry_once(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY)
    broker.kill_next_fok()
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    _, ask = combo_quote(quotes, condor.short_legs())
    killed = await broker.place_order(entry_order(condor, -ask, "cd:c1:entry"))
    assert killed.status is OrderStatus.CANCELLED
    assert await broker.positions() == []
    report, _ = await open_condor(broker, condor, "cd:c1:entry.2")
    assert report.order_id == 2


async def test_a_sell_combo_order_mirrors_the_buy(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    _, ask = combo_quote(quotes, condor.short_legs())
    # SELL the inverted legs (sell wings, buy body) at a positive price = BUY the condor
    inverted = closing_legs(condor)
    request = OrderRequest(
        "cd:c1:entry", inverted, OrderAction.SELL, OrderType.LIMIT, 1, TimeInForce.FOK, -ask
    )
    report = await broker.place_order(request)
    assert report.status is OrderStatus.FILLED
    assert report.avg_fill_price == -ask
    held = {p.contract: p.quantity for p in await broker.positions()}
    assert held == {c: condor.position_sign(c) for c in condor.contracts}


# -- commissions ------------------------------------------------------------------------------


async def test_commissions_follow_the_ibkr_pro_schedule(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY, distance=20)
    await open_condor(broker, condor)
    for execution, report in await broker.executions():
        assert report is not None
        assert report.exec_id == execution.exec_id
        rate = (
            Decimal("0.65")
            if execution.price >= Decimal("0.10")
            else Decimal("0.50")
            if execution.price >= Decimal("0.05")
            else Decimal("0.25")
        )
        assert report.commission == rate + FEES


async def test_the_order_minimum_is_spread_over_the_executions(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    s = float(await broker.underlying_price())
    far = int(s * 1.06) // 5 * 5
    legs = (
        ComboLeg(OptionContract(MONDAY, Decimal(far), Right.CALL), OrderAction.BUY),
        ComboLeg(OptionContract(MONDAY, Decimal(far + 25), Right.CALL), OrderAction.SELL),
    )
    quotes = await broker.option_quotes([leg.contract for leg in legs], timeout=5)
    _, ask = combo_quote(quotes, legs)
    request = OrderRequest(
        "cd:v:entry", legs, OrderAction.BUY, OrderType.LIMIT, 1, TimeInForce.FOK, ask
    )
    await broker.place_order(request)
    charged = await broker.executions()
    assert len(charged) == 2
    commissions = [r.commission - FEES for _, r in charged if r is not None]
    assert sum(commissions) == Decimal("1.00")  # the per-order minimum
    assert all(c > 0 for c in commissions)


# -- rejections ---------------------------------------------------------------------------------


async def test_rejected_orders_raise_and_are_reported(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    stream = broker.events()
    condor = condor_around(float(await broker.underlying_price()), MONDAY)
    broker.reject_next("margin check failed", count=2)
    for n in (1, 2):
        with pytest.raises(OrderRejected) as info:
            await broker.place_order(entry_order(condor, Decimal("1.00"), f"cd:r:entry.{n}"))
        assert info.value.reason == "margin check failed"
        assert info.value.order_ref == f"cd:r:entry.{n}"
    assert statuses(stream.drain()) == [
        (1, OrderStatus.REJECTED, "margin check failed"),
        (2, OrderStatus.REJECTED, "margin check failed"),
    ]
    status = await broker.order_status(2)
    assert status is not None
    assert status.status is OrderStatus.REJECTED
    report, _ = await open_condor(broker, condor)  # the third goes through
    assert report.order_id == 3


async def test_prices_off_the_combo_tick_and_unlisted_legs_are_rejected(sim: Sim) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY)
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(entry_order(condor, Decimal("1.23"), "cd:r:entry"))
    assert info.value.code == 110
    odd = IronCondor(MONDAY, Decimal(5900), Decimal(5911), Decimal(6100), Decimal(6110))
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(entry_order(odd, Decimal("1.00"), "cd:r:entry.2"))
    assert info.value.code == 200
    assert await broker.positions() == []


@pytest.mark.parametrize(
    "when",
    [at(MONDAY, 9, 29, 59), at(MONDAY, 16), at(MONDAY, 17), at(MONDAY + timedelta(days=5), 11)],
)
async def test_orders_outside_the_session_are_rejected(when: object) -> None:
    _, _, broker = make_broker(when)  # type: ignore[arg-type]
    await broker.connect()
    stream = broker.events()
    condor = IronCondor(MONDAY, Decimal(5900), Decimal(5950), Decimal(6050), Decimal(6100))
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(entry_order(condor, Decimal("1.00"), "cd:r:entry"))
    assert "outside trading hours" in info.value.reason
    assert statuses(stream.drain()) == [(1, OrderStatus.REJECTED, info.value.reason)]


# -- resting orders and stops ---------------------------------------------------------------


async def test_a_day_limit_rests_then_fills_at_the_reference_when_the_market_comes(
    sim: Sim,
) -> None:
    clock, _market, broker = sim
    await broker.connect()
    stream = broker.events()
    s = float(await broker.underlying_price())
    put = OptionContract(MONDAY, Decimal(int(s) // 5 * 5 - 10), Right.PUT)
    quote = (await broker.option_quotes([put], timeout=5))[put]
    assert quote.bid is not None
    limit = (quote.bid / 2).quantize(Decimal("0.05"))
    request = OrderRequest(
        "cd:p:close",
        (ComboLeg(put, OrderAction.BUY),),
        OrderAction.BUY,
        OrderType.LIMIT,
        1,
        TimeInForce.DAY,
        limit,
    )
    report = await broker.place_order(request)
    assert report.status is OrderStatus.WORKING
    assert [r.order_id for r in await broker.open_orders()] == [1]
    await clock.sleep(60)
    assert (await broker.order_status(1)).status is OrderStatus.WORKING  # type: ignore[union-attr]
    broker.gap(+40.0)  # the put collapses
    filled = await broker.order_status(1)
    assert filled is not None
    assert filled.status is OrderStatus.FILLED
    assert filled.avg_fill_price is not None
    assert filled.avg_fill_price <= limit
    assert filled.avg_fill_price % Decimal("0.05") == 0
    assert statuses(stream.drain()) == [
        (1, OrderStatus.WORKING, ""),
        (1, OrderStatus.FILLED, ""),
    ]


async def test_a_stop_limit_triggers_on_the_mark_and_fills_within_its_limit(sim: Sim) -> None:
    clock, _market, broker = sim
    await broker.connect()
    condor, _ = await condor_with_stops(
        sim, trigger_over=Decimal("0.30"), limit_over=Decimal("3.00"), backup_over=Decimal("8")
    )
    stream = broker.events()
    await clock.sleep(30)
    assert len(await broker.open_orders()) == 2
    put_gap = -0.6 * (float(await broker.underlying_price()) - float(condor.short_put))
    broker.gap(put_gap)  # towards the short put, not through it
    events = stream.drain()
    triggered, filled, cancelled = statuses(events)
    assert triggered == (2, OrderStatus.WORKING, "triggered")
    assert filled[:2] == (2, OrderStatus.FILLED)
    assert cancelled == (3, OrderStatus.CANCELLED, "OCA group oca-c1 filled")
    report = await broker.order_status(2)
    assert report is not None
    assert report.avg_fill_price is not None
    assert report.request is not None
    assert report.request.limit_price is not None
    assert report.avg_fill_price <= report.request.limit_price
    assert await broker.positions() == []
    assert await broker.open_orders() == []


async def test_a_gap_past_the_stop_limit_fills_the_stop_market_and_cancels_its_oca_sibling(
    sim: Sim,
) -> None:
    _clock, _market, broker = sim
    await broker.connect()
    condor, _ = await condor_with_stops(
        sim, trigger_over=Decimal("0.50"), limit_over=Decimal("0.20"), backup_over=Decimal("0.30")
    )
    stream = broker.events()
    broker.gap(
        -(float(await broker.underlying_price()) - float(condor.short_put)) - 3
    )  # through the short put
    events = stream.drain()
    assert statuses(events) == [
        (2, OrderStatus.WORKING, "triggered"),
        (3, OrderStatus.WORKING, "triggered"),
        (3, OrderStatus.FILLED, ""),
        (2, OrderStatus.CANCELLED, "OCA group oca-c1 filled"),
    ]
    execs = [e.execution for e in executions_of(events)]
    assert {x.order_id for x in execs} == {3}
    quotes = {x.contract: x.price for x in execs}
    stop_market = await broker.order_status(3)
    assert stop_market is not None
    assert stop_market.avg_fill_price == sum(
        (1 if x.side is OrderAction.BUY else -1) * quotes[x.contract] for x in execs
    )
    assert await broker.positions() == []


async def test_the_ticker_fires_a_stop_on_its_first_tick_while_nobody_calls() -> None:
    clock, market, broker = make_broker(at(MONDAY, 10), make_config(scenario="whipsaw", seed=3))
    await broker.connect()
    stream = broker.events()
    seen: list[tuple[BrokerEvent, datetime]] = []

    async def consume() -> None:
        async for event in stream:
            seen.append((event, clock.now()))

    consumer = asyncio.create_task(consume())
    condor = condor_around(float(await broker.underlying_price()), MONDAY, distance=25)
    await open_condor(broker, condor)
    legs = closing_legs(condor)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    bid, ask = combo_quote(quotes, legs)
    trigger = round_to_tick((bid + ask) / 2 + Decimal("0.30"), COMBO_TICK)
    stop = OrderRequest(
        "cd:c1:stop-market",
        legs,
        OrderAction.BUY,
        OrderType.STOP,
        1,
        TimeInForce.DAY,
        stop_price=trigger,
    )
    assert (await broker.place_order(stop)).status is OrderStatus.WORKING

    # where it must fire, from the market's own quotes, tick by tick
    path = market.path(MONDAY)
    assert path is not None
    expected = None
    for i in range(path.index(clock.now()) + 1, path.last):
        tick_quotes = {c: market.quote(c, path.time_of(i)) for c in condor.contracts}
        tbid, task = combo_quote(tick_quotes, legs)
        if tbid + task >= 2 * trigger:
            expected = (path.time_of(i), task)
            break
    assert expected is not None, "pick a seed whose path reaches the trigger"

    await clock.sleep_until(at(MONDAY, 15, 59))
    consumer.cancel()
    fills = [
        (e.report, t)
        for e, t in seen
        if isinstance(e, OrderUpdated) and e.report.status is OrderStatus.FILLED
    ]
    assert [r.order_id for r, _ in fills] == [1, 2]
    report, delivered_at = fills[1]
    assert report.ts == expected[0]  # on the first tick where the mark reached the stop
    assert delivered_at == expected[0]  # and delivered right then
    assert report.avg_fill_price == expected[1]  # at the natural price
    assert await broker.positions() == []


async def test_orders_keep_working_across_a_disconnect_and_catch_up_on_reconnect(
    sim: Sim,
) -> None:
    clock, market, broker = sim
    await broker.connect()
    condor, _ = await condor_with_stops(
        sim, trigger_over=Decimal("0.30"), limit_over=Decimal("3.00"), backup_over=Decimal("8")
    )
    await broker.disconnect()
    with pytest.raises(NotConnected):
        await broker.open_orders()
    gap_at = clock.now()
    market.gap(-0.6 * (market.spot(gap_at) - float(condor.short_put)), gap_at)
    await clock.sleep(600)
    await broker.connect()
    report = await broker.order_status(2)
    assert report is not None
    assert report.status is OrderStatus.FILLED
    assert report.ts is not None
    assert report.ts < clock.now()  # stamped with the tick it happened on
    assert await broker.positions() == []


async def test_cancel_order_and_cancel_of_unknown_orders(sim: Sim) -> None:
    _, _, broker = sim
    await broker.connect()
    await condor_with_stops(
        sim, trigger_over=Decimal("2"), limit_over=Decimal("1"), backup_over=Decimal("1.5")
    )
    stream = broker.events()
    await broker.cancel_order(2)
    await broker.cancel_order(2)
    await broker.cancel_order(99)
    events = stream.drain()
    assert statuses(events) == [(2, OrderStatus.CANCELLED, "cancelled")]
    assert [e.code for e in events if isinstance(e, BrokerMessage)] == [161, 10147]
    assert [r.order_id for r in await broker.open_orders()] == [3]


# -- session close --------------------------------------------------------------------------------


async def test_the_close_cancels_day_orders_and_cash_settles_expiring_positions(sim: Sim) -> None:
    clock, market, broker = sim
    await broker.connect()
    condor, _ = await condor_with_stops(
        sim, trigger_over=Decimal("6"), limit_over=Decimal("1"), backup_over=Decimal("2")
    )
    stream = broker.events()
    await clock.sleep_until(at(MONDAY, 16, 0, 1))
    events = stream.drain()
    assert statuses(events) == [
        (2, OrderStatus.CANCELLED, "session closed"),
        (3, OrderStatus.CANCELLED, "session closed"),
    ]
    settled = [e for e in events if isinstance(e, PositionsSettled)]
    assert len(settled) == 1
    assert settled[0].expiry == MONDAY
    assert settled[0].settlement_price == market.settlement_price(MONDAY)
    assert dict(settled[0].positions) == {c: condor.position_sign(c) for c in condor.contracts}
    assert settled[0].ts == at(MONDAY, 16)
    assert await broker.positions() == []
    assert await broker.open_orders() == []
    assert len(await broker.executions()) == 4  # still today's


async def test_early_close_days_settle_at_the_thirteen_hundred_cut_off() -> None:
    clock, market, broker = make_broker(at(EARLY_CLOSE_DAY, 11))
    await broker.connect()
    stream = broker.events()
    condor = condor_around(float(await broker.underlying_price()), EARLY_CLOSE_DAY)
    await open_condor(broker, condor)
    await clock.sleep_until(at(EARLY_CLOSE_DAY, 13, 5))
    settled = [e for e in stream.drain() if isinstance(e, PositionsSettled)]
    assert [e.ts for e in settled] == [at(EARLY_CLOSE_DAY, 13, 0)]
    path = market.path(EARLY_CLOSE_DAY)
    assert path is not None
    assert settled[0].settlement_price == Decimal(repr(path.spots[-1])).quantize(Decimal("0.01"))
    with pytest.raises(OrderRejected) as refused:
        await broker.place_order(close_order(condor, Decimal("0.50"), "cd:c1:close"))
    assert refused.value.code == 201
    assert "expired" in refused.value.reason and "13:00 ET" in refused.value.reason


async def test_settlement_happens_on_the_next_call_if_the_broker_was_away(sim: Sim) -> None:
    clock, _market, broker = sim
    await broker.connect()
    await open_condor(broker, condor_around(float(await broker.underlying_price()), MONDAY))
    await broker.disconnect()
    await clock.sleep_until(at(MONDAY + timedelta(days=1), 9, 0))
    await broker.connect()
    assert await broker.positions() == []
    assert await broker.executions() == []  # yesterday's are not today's


# -- executions, determinism, ids ----------------------------------------------------------


async def run_day(seed: int) -> list[tuple[str, str, Decimal]]:
    clock, _market, broker = make_broker(at(MONDAY, 10), make_config(seed=seed))
    await broker.connect()
    condor = condor_around(float(await broker.underlying_price()), MONDAY)
    await open_condor(broker, condor)
    await clock.sleep(3600)
    quotes = await broker.option_quotes(condor.contracts, timeout=5)
    _, ask = combo_quote(quotes, closing_legs(condor))
    await broker.place_order(close_order(condor, ask, "cd:c1:close"))
    return [(e.exec_id, e.contract.symbol, e.price) for e, _ in await broker.executions()]


async def test_executions_are_stable_and_deterministic() -> None:
    first = await run_day(seed=9)
    again = await run_day(seed=9)
    assert first == again
    assert len(first) == 8
    assert len({exec_id for exec_id, _, _ in first}) == 8


async def test_replayed_executions_are_the_same_objects_across_reconnects(sim: Sim) -> None:
    clock, _market, broker = sim
    await broker.connect()
    await open_condor(broker, condor_around(float(await broker.underlying_price()), MONDAY))
    before = await broker.executions()
    assert before == await broker.executions()
    await broker.disconnect()
    await clock.sleep(30)
    await broker.connect()
    assert await broker.executions() == before


async def test_replay_on_connect_knob_reemits_todays_executions() -> None:
    _clock, _market, broker = make_broker(at(MONDAY, 10), replay_executions_on_connect=True)
    await broker.connect()
    await open_condor(broker, condor_around(float(await broker.underlying_price()), MONDAY))
    await broker.disconnect()
    stream = broker.events()
    await broker.connect()
    events = stream.drain()
    assert isinstance(events[0], ConnectionChanged)
    assert len([e for e in events if isinstance(e, ExecutionReceived)]) == 4
    assert len([e for e in events if isinstance(e, CommissionReceived)]) == 4


async def test_order_ids_count_from_one_and_perm_ids_are_distinct(sim: Sim) -> None:
    _, _, broker = sim
    await broker.connect()
    await condor_with_stops(
        sim, trigger_over=Decimal("2"), limit_over=Decimal("1"), backup_over=Decimal("1.5")
    )
    reports = [await broker.order_status(i) for i in (1, 2, 3)]
    assert [r.order_id for r in reports if r] == [1, 2, 3]
    perms = {r.perm_id for r in reports if r}
    assert len(perms) == 3
    assert min(perms) > 1_000_000


# -- connection faults and hand-made surprises ----------------------------------------------


async def test_a_dropped_connection_raises_until_restored_and_the_exchange_keeps_going(
    sim: Sim,
) -> None:
    clock, market, broker = sim
    await broker.connect()
    condor, _ = await condor_with_stops(
        sim, trigger_over=Decimal("0.30"), limit_over=Decimal("3.00"), backup_over=Decimal("8")
    )
    stream = broker.events()
    broker.drop_connection()
    assert not broker.connected
    with pytest.raises(NotConnected):
        await broker.positions()
    with pytest.raises(NotConnected):
        await broker.connect()
    broker.gap(-0.6 * (market.spot(clock.now()) - float(condor.short_put)))  # a stop fills
    await clock.sleep(120)
    broker.restore_connection()
    events = stream.drain()
    assert [type(e) for e in events] == [ConnectionChanged, ConnectionChanged]
    assert [e.connected for e in events if isinstance(e, ConnectionChanged)] == [False, True]
    assert await broker.positions() == []
    assert len(await broker.executions()) == 8  # the fill is there to be found


async def test_orders_cancelled_and_positions_closed_by_hand(sim: Sim) -> None:
    _, _, broker = sim
    await broker.connect()
    condor, _ = await condor_with_stops(
        sim, trigger_over=Decimal("2"), limit_over=Decimal("1"), backup_over=Decimal("1.5")
    )
    stream = broker.events()
    assert broker.cancel_order_by_hand(2)
    assert not broker.cancel_order_by_hand(2)
    short_put = condor.contracts[1]
    [execution] = broker.close_position_by_hand(short_put)
    assert execution.side is OrderAction.BUY
    assert execution.order_ref == ""
    assert execution.order_id == 0
    events = stream.drain()
    assert statuses(events) == [(2, OrderStatus.CANCELLED, "cancelled by hand (TWS)")]
    assert [e.execution for e in executions_of(events)] == [execution]
    held = {p.contract: p.quantity for p in await broker.positions()}
    assert short_put not in held
    assert len(held) == 3
    with pytest.raises(ValueError):
        broker.close_position_by_hand(short_put)


async def test_streams_are_independent_and_end_on_close(sim: Sim) -> None:
    _clock, _market, broker = sim
    one, two = broker.events(), broker.events()
    await broker.connect()
    await open_condor(broker, condor_around(float(await broker.underlying_price()), MONDAY))
    await broker.close()
    got_one = [e async for e in one]
    got_two = [e async for e in two]
    assert got_one == got_two
    assert isinstance(got_one[0], ConnectionChanged)
    assert isinstance(got_one[-1], ConnectionChanged)
    assert len(got_one) == 2 + 9
    with pytest.raises(NotConnected):
        await broker.connect()


async def test_overlapping_combos_fill_with_legs_that_sum_to_their_prices(sim: Sim) -> None:
    clock, market, broker = sim
    await broker.connect()
    spot = float(await broker.underlying_price())
    a = condor_around(spot, MONDAY, distance=20)
    b = IronCondor(MONDAY, a.long_put, a.short_put, a.short_call + 10, a.long_call + 10)
    for n, condor in enumerate((a, b), start=1):
        await open_condor(broker, condor, f"cd:c{n}:entry")
        quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
        bid, ask = combo_quote(quotes, closing_legs(condor))
        trigger = round_to_tick((bid + ask) / 2 + Decimal("0.40"), COMBO_TICK)
        for req in stop_orders(
            condor,
            trigger=trigger,
            limit=trigger + Decimal("0.20"),
            backup_trigger=trigger + Decimal("0.30"),
            limit_ref=f"cd:c{n}:stop-limit",
            market_ref=f"cd:c{n}:stop-market",
            oca_group=f"oca-c{n}",
        ):
            await broker.place_order(req)
    await clock.sleep(1800)
    broker.gap(-(market.spot(clock.now()) - float(a.short_put)) - 5)
    await clock.sleep(60)
    assert await broker.positions() == []
    by_order: dict[int, Decimal] = {}
    for execution, _ in await broker.executions():
        sign = 1 if execution.side is OrderAction.BUY else -1
        by_order[execution.order_id] = by_order.get(execution.order_id, Decimal(0)) + (
            sign * execution.price
        )
    for order_id, total in by_order.items():
        report = await broker.order_status(order_id)
        assert report is not None
        assert report.avg_fill_price == total


@pytest.mark.parametrize("seed", range(20))
def test_leg_prices_always_sum_to_the_fill_and_stay_non_negative(seed: int) -> None:
    rng = random.Random(seed)
    quotes = []
    for sign in (1, -1, -1, 1):
        bid = rng.choice([0, 5, 10, 45, 120, 300, 650])
        quotes.append((sign, bid, bid + rng.choice([5, 10, 20])))
    combo_bid = sum(b if s > 0 else -a for s, b, a in quotes)
    combo_ask = sum(a if s > 0 else -b for s, b, a in quotes)
    for total in range(combo_bid, combo_ask + 1, 5):
        prices = limit_leg_prices(quotes, total)
        assert sum(s * p for (s, _, _), p in zip(quotes, prices, strict=True)) == total
        assert all(p >= 0 for p in prices)
    fill = resting_fill(combo_ask, combo_bid, combo_ask)
    assert fill is not None
    assert fill % 5 == 0
    assert fill <= combo_ask


async def test_many_sessions_with_overnight_clock_jumps_settle_every_day() -> None:
    clock, market, broker = make_broker(at(MONDAY, 9, 25), make_config(scenario="mixed", seed=4))
    await broker.connect()
    stream = broker.events()
    day, seen_days = MONDAY, []
    while len(seen_days) < 8:
        if weekday_sessions(day) is not None:
            await clock.sleep_until(at(day, 10))
            await open_condor(broker, condor_around(float(await broker.underlying_price()), day))
            await clock.sleep_until(at(day, 16, 0, 30))
            settled = [e for e in stream.drain() if isinstance(e, PositionsSettled)]
            assert [e.expiry for e in settled] == [day]
            assert settled[0].settlement_price == market.settlement_price(day)
            assert await broker.positions() == []
            seen_days.append(day)
        day += timedelta(days=1)
        await clock.hibernate_until(at(day, 9, 25))  # the engine jumps the night
    levels = [market.settlement_price(d) for d in seen_days]
    assert len(set(levels)) == len(levels)
