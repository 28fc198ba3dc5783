"""Orders sent before 09:30 are held (PreSubmitted) and worked at the open, as TWS does;
one cancelled meanwhile never reaches the exchange."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ib_async import IB, LimitOrder

from condordesk.gateway import Gateway
from tests.gateway.conftest import MONDAY, TIMEOUT, IbErrors, wait_for
from tests.gateway.test_orders import _bag, _condor
from tests.support import sim as _sim
from tests.support.gateway import running_gateway
from tests.support.sim import at


@pytest.fixture
async def before_open(ib_errors: IbErrors) -> AsyncIterator[tuple[Gateway, IB]]:
    clock, broker = _sim.make_sim(at(MONDAY, 9, 29, 30), speed=120.0)
    async with running_gateway(clock, broker) as gw:
        ib = IB()
        await ib.connectAsync("127.0.0.1", gw.port, clientId=5, timeout=TIMEOUT)
        try:
            yield gw, ib
        finally:
            ib.disconnect()


async def test_a_day_order_before_the_open_is_held_and_worked_at_the_open(
    before_open: tuple[Gateway, IB],
) -> None:
    gw, ib = before_open
    legs = await _condor(gw, distance=60)
    order = LimitOrder("BUY", 1, -5.0, tif="DAY", orderRef="cd:x:early")
    trade = ib.placeOrder(_bag(legs), order)
    other = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, -5.0, tif="DAY"))
    await wait_for(ib, lambda: trade.orderStatus.status == "PreSubmitted")
    assert gw.clock.now_et().time() < at(MONDAY, 9, 30).time()
    assert await gw.broker.open_orders() == []
    assert not any(e.errorCode == 201 for e in trade.log)
    ib.cancelOrder(other.order)
    await wait_for(ib, lambda: other.orderStatus.status == "Cancelled")
    await wait_for(ib, lambda: trade.orderStatus.status == "Submitted" and trade.order.permId > 0)
    assert gw.clock.now_et().time() >= at(MONDAY, 9, 30).time()
    working = await gw.broker.open_orders()
    assert [r.request.order_ref for r in working if r.request] == ["cd:x:early"]


@pytest.fixture
async def after_cutoff(ib_errors: IbErrors) -> AsyncIterator[tuple[Gateway, IB]]:
    clock, broker = _sim.make_sim(at(MONDAY, 15, 59, 50), speed=20.0)
    async with running_gateway(clock, broker) as gw:
        ib = IB()
        await ib.connectAsync("127.0.0.1", gw.port, clientId=6, timeout=TIMEOUT)
        try:
            yield gw, ib
        finally:
            ib.disconnect()


async def test_an_order_after_the_expiring_options_cut_off_is_rejected_with_the_reason(
    after_cutoff: tuple[Gateway, IB],
) -> None:
    gw, ib = after_cutoff
    legs = await _condor(gw, distance=60)
    await gw.clock.sleep_until(at(MONDAY, 16, 0, 1))
    trade = ib.placeOrder(_bag(legs), LimitOrder("BUY", 1, -5.0, tif="DAY"))
    await wait_for(ib, lambda: trade.isDone())
    texts = [e.message for e in trade.log if e.errorCode == 201]
    assert len(texts) == 1 and "stopped trading at 16:00 ET" in texts[0]
    assert trade.orderStatus.status != "PreSubmitted"
    assert await gw.broker.open_orders() == []
