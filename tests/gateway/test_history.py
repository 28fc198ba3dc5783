"""reqHistoricalData: daily SPX bars (the adapter reads the settlement level from them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time

import pytest
from ib_async import IB, Index, Option

from condordesk.gateway import Gateway
from condordesk.gateway.contracts import INDEX_CONID
from condordesk.market.clock import ET
from tests.gateway.conftest import ACCOUNT, MONDAY, TIMEOUT, IbErrors, make_sim

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
