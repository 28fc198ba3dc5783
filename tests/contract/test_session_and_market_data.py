"""Broker contract, session and market data: connect/disconnect, the account, the server's
clock, the SPX value, the SPXW chain, option quotes with greeks, the settlement level."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from condordesk.broker.base import (
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
)
from condordesk.domain.combo import entry_order
from condordesk.domain.options import OptionContract, Right
from condordesk.errors import BrokerError, NotConnected, OrderRejected
from tests.contract.conftest import Venue, open_venue
from tests.contract.helpers import ENTRY_REF, QUOTES_TIMEOUT_S, entry_at_market, settled
from tests.support.gateway import IbErrors
from tests.support.sim import ACCOUNT, MONDAY, at, condor_around
from tests.support.waiting import Recorder, eventually

SATURDAY = MONDAY + timedelta(days=5)
PREVIOUS_FRIDAY = MONDAY - timedelta(days=3)
SLACK_S = 2.0
"""Clock seconds a call may overrun its budget by (event-loop latency at the test's speed)."""


async def test_a_session_opens_reports_the_account_and_closes(kind: str) -> None:
    async with open_venue(kind, connect=False) as v:
        recorder = Recorder(v.broker.events())
        try:
            assert not v.broker.connected
            with pytest.raises(NotConnected):
                await v.broker.account()
            await v.broker.connect()
            assert v.broker.connected
            assert await v.broker.account() == ACCOUNT
            await v.broker.disconnect()
            assert not v.broker.connected
            with pytest.raises(NotConnected):
                await v.broker.positions()
            await eventually(lambda: len(recorder.of(ConnectionChanged)) == 2)
            assert [e.connected for e in recorder.of(ConnectionChanged)] == [True, False]
            await v.broker.connect()  # a session can be opened again
            assert await v.broker.account() == ACCOUNT
        finally:
            await recorder.stop()


async def test_an_unreachable_broker_fails_to_connect(kind: str, ib_log: IbErrors) -> None:
    ib_log.allow("API connection failed")
    ib_log.allow("Make sure API port")
    async with open_venue(kind, connect=False) as v:
        await v.make_unreachable()
        with pytest.raises(BrokerError):
            await v.broker.connect()
        assert not v.broker.connected


async def test_server_time_is_the_exchange_clock_in_utc(venue: Venue) -> None:
    stamp = await venue.broker.server_time()
    assert stamp.utcoffset() == timedelta(0)
    assert abs((stamp - venue.clock.now()).total_seconds()) <= 2.0  # IB: whole seconds
    assert stamp.astimezone(at(MONDAY, 10).tzinfo).date() == MONDAY


async def test_spot_is_the_exchange_index_value(venue: Venue) -> None:
    spot = await venue.broker.underlying_price()
    truth = await venue.exchange.underlying_price()
    assert isinstance(spot, Decimal)
    assert abs(spot - truth) < Decimal(1)
    assert spot == spot.quantize(Decimal("0.01"))


async def test_the_chain_lists_strikes_for_session_days_only(venue: Venue) -> None:
    spot = await venue.broker.underlying_price()
    strikes = await venue.broker.option_strikes(MONDAY)
    assert strikes == sorted(set(strikes))
    assert all(isinstance(k, Decimal) for k in strikes)
    assert strikes[0] < spot - 100 and spot + 100 < strikes[-1]
    near = [k for k in strikes if abs(k - spot) <= 50]
    assert len(near) >= 20  # every 5 points around the money
    assert {c.strike for c in condor_around(spot).contracts} <= set(strikes)
    assert await venue.broker.option_strikes(MONDAY + timedelta(days=1)) != []  # Tuesday
    assert await venue.broker.option_strikes(SATURDAY) == []
    assert await venue.broker.option_strikes(PREVIOUS_FRIDAY) == []  # expired


async def test_quotes_carry_prices_and_fresh_greeks(venue: Venue) -> None:
    condor = condor_around(await venue.broker.underlying_price())
    bogus = OptionContract(MONDAY, Decimal("1234.5"), Right.CALL)
    quotes = await venue.broker.option_quotes([*condor.contracts, bogus], timeout=QUOTES_TIMEOUT_S)
    assert set(quotes) == set(condor.contracts)  # an unlisted contract is left out
    truth = await venue.exchange.option_quotes(condor.contracts, timeout=0.0)
    for contract, quote in quotes.items():
        assert quote.contract == contract
        assert quote.bid is not None and quote.ask is not None
        assert Decimal(0) < quote.bid < quote.ask
        mid, true_mid = quote.mid, truth[contract].mid
        assert mid is not None and true_mid is not None
        assert abs(mid - true_mid) <= Decimal("0.50")
        assert quote.greeks is not None and quote.greeks.is_finite()
        assert (quote.greeks.delta < 0) == (contract.right is Right.PUT)
        assert 0 < abs(quote.greeks.delta) < 0.5  # out of the money
        assert quote.greeks.iv > 0
        assert quote.greeks_ts is not None
        assert quote.ts.utcoffset() == timedelta(0)


async def test_withheld_greeks_come_back_as_none(venue: Venue) -> None:
    venue.exchange.set_greeks_missing(1.0)
    condor = condor_around(await venue.broker.underlying_price())
    quotes = await venue.broker.option_quotes(condor.contracts, timeout=4.0)  # never come
    assert set(quotes) == set(condor.contracts)
    assert all(q.bid is not None and q.ask is not None for q in quotes.values())
    assert all(q.greeks is None and q.greeks_ts is None for q in quotes.values())
    venue.exchange.set_greeks_missing(0.0)
    again = await venue.broker.option_quotes(condor.contracts, timeout=QUOTES_TIMEOUT_S)
    assert all(q.greeks is not None for q in again.values())


async def test_quotes_wait_no_longer_than_the_timeout(venue: Venue) -> None:
    condor = condor_around(await venue.broker.underlying_price())
    await venue.broker.option_quotes(condor.contracts, timeout=QUOTES_TIMEOUT_S)  # qualified
    start = venue.clock.now()
    quotes = await venue.broker.option_quotes(condor.contracts, timeout=0.2)
    waited = (venue.clock.now() - start).total_seconds()
    assert waited < 0.2 + SLACK_S
    assert set(quotes) <= set(condor.contracts)  # what did not arrive in time is left out
    assert all(q.greeks is None for q in quotes.values())  # greeks take 0.5 s to compute


async def test_no_settlement_level_before_the_close(venue: Venue) -> None:
    assert await venue.broker.settlement_price(MONDAY) is None


async def test_after_the_close_the_settlement_level_is_known_and_orders_are_refused(
    kind: str,
) -> None:
    async with open_venue(kind, at(MONDAY, 16, 30)) as v:
        level = await v.broker.settlement_price(MONDAY)
        assert level is not None
        assert level == await v.exchange.settlement_price(MONDAY)
        assert abs(level - await v.broker.underlying_price()) < Decimal(1)
        condor = condor_around(level)
        with pytest.raises(OrderRejected) as info:
            await v.broker.place_order(entry_order(condor, Decimal("1.00"), ENTRY_REF))
        assert info.value.order_ref == ENTRY_REF
        assert await v.broker.positions() == []


async def test_every_event_stream_gets_every_event_from_its_start(venue: Venue) -> None:
    broker = venue.broker
    one, two = Recorder(broker.events()), Recorder(broker.events())
    late: Recorder | None = None
    try:
        _, request = await entry_at_market(broker)
        report = await broker.place_order(request)
        await settled(one, report.order_id)
        await eventually(lambda: len(one.of(CommissionReceived)) == 4)
        await eventually(lambda: len(two.events) == len(one.events))
        assert two.events == one.events
        late = Recorder(broker.events())
        _, unfillable = await entry_at_market(broker, extra_credit=Decimal("3.00"))
        again = await broker.place_order(unfillable)
        for rec in (one, two, late):
            await settled(rec, again.order_id)
        assert {e.report.order_id for e in late.of(OrderUpdated)} == {again.order_id}
        assert late.of(ExecutionReceived) == []
    finally:
        for rec in (one, two, late):
            if rec is not None:
                await rec.stop()
