"""reqHistoricalData: daily SPX bars (the adapter reads the settlement level from them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from typing import Any

import pytest
from ib_async import IB, Index, Option

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.gateway import Gateway
from condordesk.gateway.contracts import INDEX_CONID
from condordesk.market.clock import ET, SimClock
from tests.gateway.conftest import (
    ACCOUNT,
    MONDAY,
    SPEED,
    TIMEOUT,
    IbErrors,
    make_sim,
    wait_for,
    weekday_sessions,
)
from tests.support.gateway import running_gateway

SPX = Index("SPX", "CBOE", conId=INDEX_CONID)


async def _daily(ib: IB, contract: object = SPX) -> list[object]:
    return await asyncio.wait_for(  # type: ignore[no-any-return]
        ib.reqHistoricalDataAsync(contract, "", "10 D", "1 day", "TRADES", True), TIMEOUT
    )


async def test_todays_bar_while_the_session_is_open(gateway: Gateway, ib: IB) -> None:
    bars = await _daily(ib)
    assert [b.date for b in bars] == [MONDAY]  # type: ignore[attr-defined]
    spot = float(await gateway.broker.underlying_price())
    assert abs(bars[-1].close - spot) < 5  # type: ignore[attr-defined]


@pytest.fixture
async def after_close(ib_errors: IbErrors) -> AsyncIterator[tuple[Gateway, IB]]:
    clock, broker = make_sim(datetime.combine(MONDAY, time(16, 30), ET))
    gw = Gateway(broker, clock, account=ACCOUNT)
    await gw.start()
    client = IB()
    try:
        await client.connectAsync("127.0.0.1", gw.port, clientId=2, timeout=TIMEOUT)
        yield gw, client
    finally:
        client.disconnect()
        await gw.stop()


async def test_settlement_bar_after_the_close(after_close: tuple[Gateway, IB]) -> None:
    gw, ib = after_close
    settled = await gw.broker.settlement_price(MONDAY)
    assert settled is not None
    bars = await _daily(ib)
    assert bars[-1].date == MONDAY  # type: ignore[attr-defined]
    assert bars[-1].close == pytest.approx(float(settled))  # type: ignore[attr-defined]
    assert all(isinstance(b.date, date) for b in bars)  # type: ignore[attr-defined]


async def test_options_have_no_history(ib: IB, ib_errors: IbErrors) -> None:
    option = Option("SPX", MONDAY.strftime("%Y%m%d"), 6000, "P", "SMART", tradingClass="SPXW")
    assert len(await _daily(ib, option)) == 0  # a BarDataList
    assert any("Error 162" in r.getMessage() for r in ib_errors.records)


@pytest.fixture
async def with_market(ib_errors: IbErrors) -> AsyncIterator[tuple[Gateway, IB, SimMarket]]:
    """A gateway that knows its simulated market (as ``condordesk gateway`` runs it), 11:00."""
    clock = SimClock(datetime.combine(MONDAY, time(11), ET), speed=SPEED)
    config = SimulatorConfig(seed=7, scenario="calm", greeks_latency_s=0.5, greeks_missing_prob=0)
    market = SimMarket(config)
    broker = SimBroker(clock, market, weekday_sessions, account=ACCOUNT)
    async with running_gateway(clock, broker, market=market) as gw:
        client = IB()
        await client.connectAsync("127.0.0.1", gw.port, clientId=3, timeout=TIMEOUT)
        try:
            yield gw, client, market
        finally:
            client.disconnect()


async def _bars(ib: IB, size: str, duration: str = "1 D") -> list[Any]:
    return list(
        await asyncio.wait_for(
            ib.reqHistoricalDataAsync(SPX, "", duration, size, "TRADES", True), TIMEOUT
        )
    )


@pytest.mark.parametrize(("size", "minutes"), [("1 min", 1), ("5 mins", 5)])
async def test_intraday_bars_of_the_session_so_far(
    with_market: tuple[Gateway, IB, SimMarket], size: str, minutes: int
) -> None:
    gw, ib, market = with_market
    bars = await _bars(ib, size)
    path = market.path(MONDAY)
    assert path is not None
    assert bars[0].date == datetime.combine(MONDAY, time(9, 30), ET)
    assert bars[0].open == pytest.approx(path.spots[0], abs=0.01)
    steps = {(b.date - a.date).total_seconds() for a, b in itertools.pairwise(bars)}
    assert steps == {60.0 * minutes}
    assert bars[-1].date <= gw.clock.now() < bars[-1].date + dt.timedelta(minutes=minutes)
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    spot = float(await gw.broker.underlying_price())
    assert abs(bars[-1].close - spot) < 2


async def test_daily_history_has_the_prior_close_and_the_close_tick_is_it(
    with_market: tuple[Gateway, IB, SimMarket],
) -> None:
    gw, ib, market = with_market
    path = market.path(MONDAY)
    assert path is not None
    bars = await _bars(ib, "1 day", "5 D")
    friday = MONDAY - dt.timedelta(days=3)
    assert [b.date for b in bars] == [friday, MONDAY]
    assert bars[0].close == pytest.approx(path.spots[0], abs=0.01)
    ticker = ib.reqMktData(SPX)
    await wait_for(ib, lambda: not math.isnan(ticker.close))
    assert ticker.close == pytest.approx(bars[0].close)
    assert ticker.close != pytest.approx(float(await gw.broker.underlying_price()), abs=0.01)
