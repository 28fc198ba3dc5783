"""Scope 3: orders through the real ib_async client: a FOK condor, OCA stops, cancels,
rejections, open orders, positions, and executions replayed on a new connection."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal

import pytest
from ib_async import IB, ComboLeg, Contract, LimitOrder, Option, Order, StopOrder, Trade

from condordesk.domain.options import OptionContract, Right
from condordesk.gateway import Gateway
from condordesk.gateway.contracts import option_conid
from tests.gateway.conftest import ACCOUNT, MONDAY, TIMEOUT, IbErrors, wait_for

EXPIRY = MONDAY.strftime("%Y%m%d")
WIDTH = 10


async def _condor(gateway: Gateway, distance: int = 30) -> list[OptionContract]:
    spot = float(await gateway.broker.underlying_price())
    sp = math.floor((spot - distance) / 5) * 5
    sc = math.ceil((spot + distance) / 5) * 5
    return [
        OptionContract(MONDAY, Decimal(sp - WIDTH), Right.PUT),
        OptionContract(MONDAY, Decimal(sp), Right.PUT),
        OptionContract(MONDAY, Decimal(sc), Right.CALL),
        OptionContract(MONDAY, Decimal(sc + WIDTH), Right.CALL),
    ]


def _bag(legs: list[OptionContract], *, closing: bool = False) -> Contract:
    actions = ["BUY", "SELL", "SELL", "BUY"]
    if closing:
        actions = ["SELL" if a == "BUY" else "BUY" for a in actions]
    return Contract(
        secType="BAG",
        symbol="SPX",
        currency="USD",
        exchange="SMART",
        comboLegs=[
            ComboLeg(conId=option_conid(c), ratio=1, action=a, exchange="SMART")
            for c, a in zip(legs, actions, strict=True)
        ],
    )


async def _natural(gateway: Gateway, legs: list[OptionContract], *, closing: bool) -> float:
    """The marketable combo price to BUY the (closing) bag, rounded to 0.05 toward the market."""
    quotes = await gateway.broker.option_quotes(legs, timeout=0.0)
    signs = [1, -1, -1, 1] if not closing else [-1, 1, 1, -1]
    price = Decimal(0)
    for c, sign in zip(legs, signs, strict=True):
        q = quotes[c]
        assert q.bid is not None and q.ask is not None
        price += q.ask if sign > 0 else -q.bid
    return math.ceil(float(price) * 20 - 1e-9) / 20


async def _open(gateway: Gateway, ib: IB, legs: list[OptionContract]) -> Trade:
    limit = await _natural(gateway, legs, closing=False)
    assert limit < 0  # a credit
    trade = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, limit, tif="FOK", orderRef="cd:x:entry"))
    await wait_for(ib, lambda: trade.isDone() and len(trade.fills) == 4)
    await wait_for(ib, lambda: all(f.commissionReport.execId for f in trade.fills))
    return trade


async def test_fok_condor_fills_four_legs(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    trade = await _open(gateway, ib, legs)
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.filled == 1
    assert trade.order.permId > 0
    fills = trade.fills
    assert {f.contract.conId for f in fills} == {option_conid(c) for c in legs}
    assert sorted(f.execution.side for f in fills) == ["BOT", "BOT", "SLD", "SLD"]
    assert all(f.execution.orderRef == "cd:x:entry" for f in fills)
    assert all(f.execution.acctNumber == ACCOUNT for f in fills)
    assert all(f.commissionReport.commission > 0 for f in fills)
    credit = sum(f.execution.price * (1 if f.execution.side == "SLD" else -1) for f in fills)
    assert credit > 0
    await wait_for(ib, lambda: len(ib.positions()) == 4, TIMEOUT)  # live position updates (msg 61)


async def test_positions_after_fill(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    await _open(gateway, ib, legs)
    positions = await asyncio.wait_for(ib.reqPositionsAsync(), TIMEOUT)
    held = {p.contract.conId: p.position for p in positions}
    assert held == {
        option_conid(legs[0]): 1,
        option_conid(legs[1]): -1,
        option_conid(legs[2]): -1,
        option_conid(legs[3]): 1,
    }
    assert all(p.account == ACCOUNT and p.contract.tradingClass == "SPXW" for p in positions)


async def test_oca_stop_pair_and_cancel(gateway: Gateway, ib: IB, ib_errors: IbErrors) -> None:
    legs = await _condor(gateway)
    await _open(gateway, ib, legs)
    closing = _bag(legs, closing=True)
    primary = Order(
        action="BUY",
        totalQuantity=1,
        orderType="STP LMT",
        auxPrice=6.0,
        lmtPrice=6.5,
        tif="DAY",
        ocaGroup="cd:x:stops",
        ocaType=1,
        orderRef="cd:x:stop-limit",
    )
    backup = StopOrder(
        "BUY", 1, 6.5, tif="DAY", ocaGroup="cd:x:stops", ocaType=1, orderRef="cd:x:stop-market"
    )
    t1 = ib.placeOrder(closing, primary)
    t2 = ib.placeOrder(closing, backup)
    await wait_for(
        ib,
        lambda: t1.orderStatus.status == "PreSubmitted" and t2.orderStatus.status == "PreSubmitted",
    )
    open_trades = await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), TIMEOUT)
    assert {t.order.orderRef for t in open_trades} == {"cd:x:stop-limit", "cd:x:stop-market"}
    assert all(t.order.ocaGroup == "cd:x:stops" and t.order.ocaType == 1 for t in open_trades)
    ib.cancelOrder(t2.order)
    await wait_for(ib, lambda: t2.orderStatus.status == "Cancelled")
    assert t1.isActive()
    assert any(e.errorCode == 202 for e in t2.log)
    ib.reqGlobalCancel()
    await wait_for(ib, lambda: t1.orderStatus.status == "Cancelled")


async def test_oca_sibling_cancelled_when_the_stop_fills(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway, distance=15)
    await _open(gateway, ib, legs)
    closing = _bag(legs, closing=True)
    debit = await _natural(gateway, legs, closing=True)
    trigger = round(debit + 0.5, 2)
    primary = Order(
        action="BUY",
        totalQuantity=1,
        orderType="STP LMT",
        auxPrice=trigger,
        lmtPrice=WIDTH,
        tif="DAY",
        ocaGroup="g1",
        ocaType=1,
        orderRef="cd:x:stop-limit",
    )
    backup = StopOrder(
        "BUY", 1, trigger + 1, tif="DAY", ocaGroup="g1", ocaType=1, orderRef="cd:x:stop-market"
    )
    t1 = ib.placeOrder(closing, primary)
    t2 = ib.placeOrder(closing, backup)
    await wait_for(ib, lambda: t2.orderStatus.status == "PreSubmitted")
    gateway.broker.gap(-40.0)  # SPX drops through the short put
    await wait_for(ib, lambda: t1.orderStatus.status == "Filled" and len(t1.fills) == 4)
    await wait_for(ib, lambda: t2.orderStatus.status == "Cancelled")
    assert ib.positions() == [] or all(p.position == 0 for p in ib.positions())


async def test_single_option_limit_order(gateway: Gateway, ib: IB) -> None:
    spot = float(await gateway.broker.underlying_price())
    strike = math.floor((spot - 40) / 5) * 5
    contract = Option("SPX", EXPIRY, strike, "P", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    trade = ib.placeOrder(contract, LimitOrder("BUY", 2, 0.05, orderRef="cd:y:entry"))
    await wait_for(ib, lambda: trade.orderStatus.status == "Submitted")
    assert trade.order.orderRef == "cd:y:entry"
    ib.cancelOrder(trade.order)
    await wait_for(ib, lambda: trade.orderStatus.status == "Cancelled")


async def test_rejection_is_error_201(gateway: Gateway, ib: IB) -> None:
    gateway.faults.reject_next("no margin")
    legs = await _condor(gateway)
    trade = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, -1.10, tif="FOK", orderRef="cd:z:entry"))
    await wait_for(ib, trade.isDone)
    assert trade.orderStatus.status == "Cancelled"
    assert any(e.errorCode == 201 and "no margin" in e.message for e in trade.log)


async def test_killed_fok_is_cancelled_with_202(gateway: Gateway, ib: IB) -> None:
    gateway.faults.kill_next_fok()
    legs = await _condor(gateway)
    limit = await _natural(gateway, legs, closing=False)
    trade = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, limit, tif="FOK", orderRef="cd:k:entry"))
    await wait_for(ib, trade.isDone)
    assert trade.orderStatus.status == "Cancelled"
    assert trade.fills == []


async def test_cancel_unknown_order_is_10147(ib: IB) -> None:
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
    ib.client.cancelOrder(99999)
    await wait_for(ib, lambda: 10147 in errors)


async def test_executions_replayed_on_reconnect(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    trade = await _open(gateway, ib, legs)
    exec_ids = {f.execution.execId for f in trade.fills}
    ib.disconnect()
    again = IB()
    try:
        await again.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=TIMEOUT)
        fills = again.fills()
        assert {f.execution.execId for f in fills} == exec_ids
        assert all(f.commissionReport.commission > 0 for f in fills)
        assert all(f.execution.orderId == trade.order.orderId for f in fills)
        assert len(again.positions()) == 4
    finally:
        again.disconnect()


async def test_fills_before_open_order(gateway: Gateway, ib: IB) -> None:
    gateway.faults.fills_before_open_order()
    legs = await _condor(gateway)
    trade = await _open(gateway, ib, legs)
    assert trade.orderStatus.status == "Filled"
    assert trade.order.permId > 0


async def test_bag_level_execution(gateway: Gateway, ib: IB) -> None:
    gateway.bag_executions = True
    legs = await _condor(gateway)
    limit = await _natural(gateway, legs, closing=False)
    trade = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, limit, tif="FOK", orderRef="cd:b:entry"))
    await wait_for(ib, lambda: trade.isDone() and len(trade.fills) == 5)
    bags = [f for f in trade.fills if f.contract.secType == "BAG"]
    assert len(bags) == 1
    (bag,) = bags
    assert bag.execution.side == "BOT"
    assert bag.execution.price == pytest.approx(trade.orderStatus.avgFillPrice)
    assert bag.execution.price <= limit + 1e-9
    ib.disconnect()
    again = IB()
    try:
        await again.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=TIMEOUT)
        assert len(again.fills()) == 5
    finally:
        again.disconnect()


async def test_modify_a_working_order(gateway: Gateway, ib: IB) -> None:
    spot = float(await gateway.broker.underlying_price())
    strike = math.floor((spot - 40) / 5) * 5
    contract = Option("SPX", EXPIRY, strike, "P", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    order = LimitOrder("BUY", 1, 0.05, orderRef="cd:m:entry")
    trade = ib.placeOrder(contract, order)
    await wait_for(ib, lambda: trade.orderStatus.status == "Submitted")
    first_perm = trade.order.permId
    order.lmtPrice = 0.10
    ib.placeOrder(contract, order)
    await wait_for(ib, lambda: trade.log[-1].message == "Modified")
    assert trade.isActive()
    assert trade.order.permId == first_perm  # modified in place, as TWS does
    open_trades = await asyncio.wait_for(ib.reqOpenOrdersAsync(), TIMEOUT)
    assert [t.order.lmtPrice for t in open_trades] == [0.10]
    assert len(await gateway.broker.open_orders()) == 1
    ib.cancelOrder(order)
    await wait_for(ib, lambda: trade.orderStatus.status == "Cancelled")
    order.lmtPrice = 0.15
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
    ib.client.placeOrder(order.orderId, contract, order)
    await wait_for(ib, lambda: 104 in errors)


async def test_portfolio_and_a_second_client(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    trade = await _open(gateway, ib, legs)
    closing = _bag(legs, closing=True)
    stop = StopOrder("BUY", 1, 9.0, tif="DAY", orderRef="cd:x:stop-market")
    working = ib.placeOrder(closing, stop)
    await wait_for(ib, lambda: working.orderStatus.status == "PreSubmitted")
    master = IB()
    try:
        await master.connectAsync("127.0.0.1", gateway.port, clientId=0, timeout=TIMEOUT)
        assert [t.order.orderRef for t in master.openTrades()] == ["cd:x:stop-market"]
        assert master.openTrades()[0].order.clientId == 1
        assert {f.execution.execId for f in master.fills()} == {
            f.execution.execId for f in trade.fills
        }
        items = master.portfolio()
        assert {i.contract.conId for i in items} == {option_conid(c) for c in legs}
        assert all(i.marketPrice > 0 for i in items)
        assert {i.account for i in items} == {ACCOUNT}
    finally:
        master.disconnect()


async def test_gateway_restart_adopts_the_simulators_orders(gateway: Gateway, ib: IB) -> None:
    """Like a TWS restart: a new gateway over the same SimBroker still reports the day's
    executions and the working orders, and can cancel them."""
    legs = await _condor(gateway)
    trade = await _open(gateway, ib, legs)
    stop = ib.placeOrder(
        _bag(legs, closing=True), StopOrder("BUY", 1, 9.0, tif="DAY", orderRef="cd:x:stop-market")
    )
    await wait_for(ib, lambda: stop.orderStatus.status == "PreSubmitted")
    ib.disconnect()
    await gateway.stop()
    second = Gateway(gateway.broker, gateway.clock, account=ACCOUNT)
    await second.start()
    again = IB()
    try:
        await again.connectAsync("127.0.0.1", second.port, clientId=1, timeout=TIMEOUT)
        assert {f.execution.execId for f in again.fills()} == {
            f.execution.execId for f in trade.fills
        }
        assert {f.execution.permId for f in again.fills()} == {trade.order.permId}
        (working,) = await asyncio.wait_for(again.reqAllOpenOrdersAsync(), TIMEOUT)
        assert working.order.orderRef == "cd:x:stop-market"
        assert working.order.permId == stop.order.permId
        assert len(working.contract.comboLegs) == 4
        again.cancelOrder(working.order)
        await wait_for(again, lambda: working.orderStatus.status == "Cancelled")
        assert await second.broker.open_orders() == []
        fresh = again.placeOrder(
            _bag(legs, closing=True), StopOrder("BUY", 1, 9.0, orderRef="cd:x:stop-market.2")
        )
        await wait_for(again, lambda: fresh.orderStatus.status == "PreSubmitted")
        assert fresh.order.orderId > working.order.orderId
    finally:
        again.disconnect()
        await second.stop()
        await gateway.start()  # the fixture stops it again
