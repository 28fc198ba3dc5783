"""MKT orders work for single options and combos (contractDetails lists MKT): they fill at
once at the natural price, and the client keeps seeing its MKT order."""

from __future__ import annotations

from ib_async import IB, MarketOrder, Option

from condordesk.gateway import Gateway
from tests.gateway.conftest import MONDAY, wait_for
from tests.gateway.test_orders import _bag, _condor, _natural


async def test_mkt_combo_fills_at_the_natural_price(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    natural = await _natural(gateway, legs, closing=False)
    trade = ib.placeOrder(_bag(legs), MarketOrder("BUY", 1, orderRef="cd:x:mkt"))
    await wait_for(ib, lambda: trade.orderStatus.status == "Filled" and len(trade.fills) == 4)
    assert trade.order.orderType == "MKT"
    # at the combo's ask: the natural price (``natural`` is it rounded up to 0.05)
    assert natural - 0.05 - 1e-9 <= trade.orderStatus.avgFillPrice <= natural + 1e-9
    assert not any(e.errorCode == 201 for e in trade.log)


async def test_mkt_single_option_buys_at_the_ask(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    target = legs[1]
    ask = (await gateway.broker.option_quotes([target], timeout=0.0))[target].ask
    assert ask is not None
    option = Option("SPX", f"{MONDAY:%Y%m%d}", float(target.strike), "P", "SMART")
    option.tradingClass = "SPXW"
    trade = ib.placeOrder(option, MarketOrder("BUY", 1))
    await wait_for(ib, lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.price for f in trade.fills] == [float(ask)]
