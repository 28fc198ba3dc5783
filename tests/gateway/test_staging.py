"""transmit=False holds an order until a transmitted one of its group arrives; a bracket's
children wait (PreSubmitted) for their parent's fill, then work as one OCA group; a parent
that ends unfilled takes its children with it."""

from __future__ import annotations

import asyncio

from ib_async import IB, LimitOrder

from condordesk.gateway import Gateway
from tests.gateway.conftest import TIMEOUT, wait_for
from tests.gateway.test_orders import _bag, _condor, _natural


async def _round_trip(ib: IB) -> None:
    """Every earlier request has been handled (the gateway answers in order)."""
    await asyncio.wait_for(ib.reqOpenOrdersAsync(), TIMEOUT)


async def test_transmit_false_holds_the_order_until_it_is_transmitted(
    gateway: Gateway, ib: IB
) -> None:
    legs = await _condor(gateway)
    limit = await _natural(gateway, legs, closing=False) - 1.0  # more credit: it rests
    order = LimitOrder("BUY", 1, round(limit, 2), tif="DAY", orderRef="cd:x:held")
    order.transmit = False
    trade = ib.placeOrder(_bag(legs), order)
    await _round_trip(ib)
    assert await gateway.broker.open_orders() == []
    order.transmit = True
    ib.placeOrder(_bag(legs), order)
    await wait_for(ib, lambda: trade.orderStatus.status == "Submitted")
    assert [r.request.order_ref for r in await gateway.broker.open_orders() if r.request] == [
        "cd:x:held"
    ]


async def test_bracket_children_wait_for_the_parent_and_go_with_its_cancel(
    gateway: Gateway, ib: IB
) -> None:
    legs = await _condor(gateway)
    limit = round(await _natural(gateway, legs, closing=False) - 1.0, 2)  # rests
    parent, profit, stop = ib.bracketOrder("BUY", 1, limit, 5.0, -9.0)
    trades = [ib.placeOrder(_bag(legs), o) for o in (parent, profit, stop)]
    await wait_for(ib, lambda: trades[0].orderStatus.status == "Submitted")
    await wait_for(ib, lambda: all(t.orderStatus.status == "PreSubmitted" for t in trades[1:]))
    assert len(await gateway.broker.open_orders()) == 1  # only the parent works
    ib.cancelOrder(parent)
    await wait_for(ib, lambda: all(t.orderStatus.status == "Cancelled" for t in trades))
    assert await gateway.broker.open_orders() == []


async def test_bracket_children_work_as_one_oca_group_after_the_parent_fills(
    gateway: Gateway, ib: IB
) -> None:
    legs = await _condor(gateway)
    limit = await _natural(gateway, legs, closing=False)  # marketable: fills at once
    parent, profit, stop = ib.bracketOrder("BUY", 1, limit, 5.0, -9.0)
    trades = [ib.placeOrder(_bag(legs), o) for o in (parent, profit, stop)]
    await wait_for(ib, lambda: trades[0].orderStatus.status == "Filled")
    await wait_for(ib, lambda: all(t.order.permId for t in trades[1:]))
    working = await gateway.broker.open_orders()
    assert len(working) == 2
    groups = {r.request.oca_group for r in working if r.request}
    assert len(groups) == 1 and groups != {""}
