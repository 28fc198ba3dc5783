"""Limits that bite: account values move with positions and P&L, an order needing more margin
than the funds available is rejected as IB rejects it, market-data lines are counted per
account (every client together) and more than 50 messages a second get error 100."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from ib_async import IB, LimitOrder, Option

from condordesk.gateway import Gateway
from condordesk.gateway.contracts import option_conid
from tests.gateway.conftest import MONDAY, TIMEOUT, IbErrors, make_sim, wait_for
from tests.gateway.test_orders import WIDTH, _bag, _condor, _natural, _open
from tests.support.gateway import running_gateway
from tests.support.sim import at


def _value(ib: IB, tag: str) -> float:
    values = [float(v.value) for v in ib.accountValues() if v.tag == tag and v.currency == "USD"]
    return values[-1] if values else float("nan")


async def test_account_values_move_with_the_positions(gateway: Gateway, ib: IB) -> None:
    assert _value(ib, "NetLiquidation") == 1_000_000
    assert _value(ib, "InitMarginReq") == 0
    legs = await _condor(gateway)
    await _open(gateway, ib, legs)
    await wait_for(ib, lambda: _value(ib, "InitMarginReq") == WIDTH * 100)
    await wait_for(ib, lambda: _value(ib, "MaintMarginReq") == WIDTH * 100)
    net = _value(ib, "NetLiquidation")
    assert net != 1_000_000  # commissions paid, the condor marked at its mids
    assert _value(ib, "AvailableFunds") == pytest.approx(net - WIDTH * 100)
    assert _value(ib, "ExcessLiquidity") == pytest.approx(net - WIDTH * 100)
    assert _value(ib, "TotalCashValue") > 1_000_000  # the credit came in as cash


@pytest.fixture
async def small_account() -> AsyncIterator[Gateway]:
    clock, broker = make_sim(at(MONDAY, 10))
    async with running_gateway(clock, broker, funds=Decimal(5000)) as gw:
        yield gw


async def test_an_order_beyond_the_available_funds_is_rejected(
    small_account: Gateway, ib_errors: IbErrors
) -> None:
    gw = small_account
    ib = IB()
    await ib.connectAsync("127.0.0.1", gw.port, clientId=4, timeout=TIMEOUT)
    try:
        legs = await _condor(gw)
        limit = await _natural(gw, legs, closing=False)
        big = ib.placeOrder(_bag(legs), LimitOrder("BUY", 10, limit, tif="FOK"))
        await wait_for(ib, lambda: big.isDone())
        errors = [e for e in big.log if e.errorCode == 201]
        assert errors and "MUST EXCEED THE INITIAL MARGIN [10000.00 USD]" in errors[0].message
        assert await gw.broker.executions() == []
        small = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, limit, tif="FOK"))
        await wait_for(ib, lambda: small.orderStatus.status == "Filled")
        closing = await _natural(gw, legs, closing=True)
        close = ib.placeOrder(_bag(legs, closing=True), LimitOrder("BUY", 1, closing, tif="FOK"))
        await wait_for(ib, lambda: close.orderStatus.status == "Filled")  # reduces: no margin
    finally:
        ib.disconnect()


@pytest.fixture
async def three_lines() -> AsyncIterator[Gateway]:
    clock, broker = make_sim(at(MONDAY, 10))
    async with running_gateway(clock, broker, max_market_data_lines=3) as gw:
        yield gw


async def test_market_data_lines_are_counted_per_account(
    three_lines: Gateway, ib_errors: IbErrors
) -> None:
    gw = three_lines
    clients = [IB(), IB()]
    for n, client in enumerate(clients):
        await client.connectAsync("127.0.0.1", gw.port, clientId=10 + n, timeout=TIMEOUT)
    try:
        legs = await _condor(gw)
        options = [Option(conId=option_conid(c), exchange="SMART") for c in legs]
        codes: list[int] = []
        clients[1].errorEvent += lambda _r, code, _m, _c: codes.append(code)
        clients[0].reqMktData(options[0])
        clients[0].reqMktData(options[1])
        clients[1].reqMktData(options[2])
        clients[1].reqMktData(options[3])  # the account's fourth line
        await wait_for(clients[1], lambda: 101 in codes)
    finally:
        for client in clients:
            client.disconnect()


async def _raw_session(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    hello = b"v157..178"
    writer.write(b"API\0" + struct.pack(">I", len(hello)) + hello)
    await _message(reader)  # server version
    start = b"71\x002\x0099\x00\x00"
    writer.write(struct.pack(">I", len(start)) + start)
    return reader, writer


async def _message(reader: asyncio.StreamReader) -> list[str]:
    (size,) = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), TIMEOUT))
    body = await asyncio.wait_for(reader.readexactly(size), TIMEOUT)
    return body.decode().split("\0")[:-1]


async def test_more_than_fifty_messages_a_second_get_error_100(gateway: Gateway) -> None:
    reader, writer = await _raw_session(gateway.port)
    try:
        burst = b"49\x001\x00"
        writer.write((struct.pack(">I", len(burst)) + burst) * 60)
        times = paced = 0
        while times + paced < 60:
            msg = await _message(reader)
            times += msg[0] == "49"
            paced += msg[0] == "4" and msg[3] == "100"
        assert paced > 0 and times <= 50
    finally:
        writer.close()
