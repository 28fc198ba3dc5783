"""Scope 4: fault modes seen through the real ib_async client."""

from __future__ import annotations

import asyncio

import pytest
from ib_async import IB, Option, Ticker

from condordesk.gateway import Gateway
from tests.gateway.conftest import MONDAY, TIMEOUT, IbErrors, wait_for


def _codes(ib: IB) -> list[int]:
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    return codes


async def test_drop_socket_then_reconnect(gateway: Gateway, ib: IB, ib_errors: IbErrors) -> None:
    ib_errors.allow("Peer closed connection|Socket disconnected|Disconnected")
    gone = asyncio.Event()
    ib.disconnectedEvent += gone.set
    gateway.faults.drop_socket()
    await asyncio.wait_for(gone.wait(), TIMEOUT)
    assert not ib.isConnected()
    await ib.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=TIMEOUT)
    assert ib.isConnected()
    now = await asyncio.wait_for(ib.reqCurrentTimeAsync(), TIMEOUT)
    assert now.year == 2025


@pytest.mark.parametrize("code", [1100, 1101, 1102])
async def test_send_connectivity(gateway: Gateway, ib: IB, code: int) -> None:
    codes = _codes(ib)
    gateway.faults.send_connectivity(code)
    await wait_for(ib, lambda: code in codes)
    assert ib.isConnected()


async def test_lose_and_restore_connectivity(gateway: Gateway, ib: IB) -> None:
    codes = _codes(ib)
    gateway.faults.lose_connectivity()
    await wait_for(ib, lambda: 1100 in codes)
    assert not gateway.broker.connected
    gateway.faults.restore_connectivity(data_lost=True)
    await wait_for(ib, lambda: 1101 in codes)
    assert gateway.broker.connected
    positions = await asyncio.wait_for(ib.reqPositionsAsync(), TIMEOUT)
    assert positions == []


async def test_requests_while_the_link_is_down_get_an_error(
    gateway: Gateway, ib: IB, ib_errors: IbErrors
) -> None:
    codes = _codes(ib)
    gateway.faults.lose_connectivity()
    await wait_for(ib, lambda: 1100 in codes)
    ib.client.reqPositions()
    await wait_for(ib, lambda: 504 in codes)
    gateway.faults.restore_connectivity()
    await wait_for(ib, lambda: 1102 in codes)


def test_bad_fault_arguments(gateway: Gateway) -> None:
    with pytest.raises(ValueError, match="connectivity"):
        gateway.faults.send_connectivity(2104)
    with pytest.raises(ValueError, match="min_s"):
        gateway.faults.slow_greeks(2.0, 1.0)


def test_gateway_refuses_a_public_address(gateway: Gateway) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Gateway(gateway.broker, gateway.clock, host="0.0.0.0")


async def _streaming_line(gateway: Gateway, ib: IB) -> Ticker:
    spot = float(await gateway.broker.underlying_price())
    strike = round(spot / 5) * 5 - 25
    contract = Option("SPX", MONDAY.strftime("%Y%m%d"), strike, "P", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    ticker: Ticker = ib.reqMktData(contract)
    await wait_for(ib, lambda: ticker.modelGreeks is not None)
    return ticker


async def test_market_data_survives_1102(gateway: Gateway, ib: IB) -> None:
    codes = _codes(ib)
    ticker = await _streaming_line(gateway, ib)
    gateway.faults.lose_connectivity()
    await wait_for(ib, lambda: 1100 in codes)
    gateway.faults.restore_connectivity()
    await wait_for(ib, lambda: 1102 in codes)
    seen = ticker.time
    await wait_for(ib, lambda: ticker.time is not None and seen is not None and ticker.time > seen)
    (session,) = gateway.sessions()
    assert len(session.md_lines) == 1


async def test_market_data_is_lost_with_1101(gateway: Gateway, ib: IB) -> None:
    codes = _codes(ib)
    await _streaming_line(gateway, ib)
    gateway.faults.lose_connectivity()
    await wait_for(ib, lambda: 1100 in codes)
    gateway.faults.restore_connectivity(data_lost=True)
    await wait_for(ib, lambda: 1101 in codes)
    (session,) = gateway.sessions()
    assert session.md_lines == {}


async def test_pacing_violation(gateway: Gateway, ib: IB) -> None:
    codes = _codes(ib)
    gateway.faults.pacing_violation()
    ib.client.reqCurrentTime()
    await wait_for(ib, lambda: 100 in codes)
    now = await asyncio.wait_for(ib.reqCurrentTimeAsync(), TIMEOUT)  # the next one is served
    assert now.year == 2025


async def test_competing_session_stops_market_data(gateway: Gateway, ib: IB) -> None:
    codes = _codes(ib)
    await _streaming_line(gateway, ib)
    gateway.faults.competing_session()
    await wait_for(ib, lambda: 10197 in codes)
    (session,) = gateway.sessions()
    assert session.md_lines == {}
