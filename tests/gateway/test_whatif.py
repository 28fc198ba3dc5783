"""whatIf orders answer with margin figures and place nothing; the rest of a placeOrder is
read at the client's version (ocaType and whatIf come after faProfile below v177)."""

from __future__ import annotations

import asyncio

from ib_async import IB, LimitOrder

from condordesk.gateway import Gateway
from condordesk.gateway.codec import FieldReader, encode, split_fields
from condordesk.gateway.orderwire import parse_place_order
from tests.gateway.conftest import TIMEOUT
from tests.gateway.test_orders import WIDTH, _bag, _condor, _natural, _open


async def test_what_if_answers_the_condor_margin_and_places_nothing(
    gateway: Gateway, ib: IB
) -> None:
    legs = await _condor(gateway)
    limit = await _natural(gateway, legs, closing=False)
    order = LimitOrder("BUY", 2, limit, tif="FOK", orderRef="cd:x:whatif")
    state = await asyncio.wait_for(ib.whatIfOrderAsync(_bag(legs), order), TIMEOUT)
    assert float(state.initMarginChange) == WIDTH * 100 * 2
    assert float(state.initMarginBefore) == 0
    assert float(state.initMarginAfter) == WIDTH * 100 * 2
    assert await gateway.broker.open_orders() == []
    assert await gateway.broker.positions() == []
    assert await gateway.broker.executions() == []


async def test_what_if_margin_before_counts_the_condors_held(gateway: Gateway, ib: IB) -> None:
    legs = await _condor(gateway)
    await _open(gateway, ib, legs)
    limit = await _natural(gateway, legs, closing=False)
    order = LimitOrder("BUY", 1, limit, tif="FOK")
    state = await asyncio.wait_for(ib.whatIfOrderAsync(_bag(legs), order), TIMEOUT)
    assert float(state.initMarginBefore) == WIDTH * 100
    assert float(state.initMarginAfter) == WIDTH * 100 * 2
    assert len(await gateway.broker.executions()) == 4  # only the first condor's legs


def _place_order_fields(version: int, *, what_if: bool) -> list[str]:
    """A placeOrder for a single option as ib_async's client builds it at ``version``."""
    from ib_async import Option
    from ib_async.client import Client

    sent: list[bytes] = []
    client = Client(wrapper=None)  # type: ignore[arg-type]
    client._serverVersion = version
    client.conn = type("Conn", (), {"sendMsg": lambda _self, msg: sent.append(msg)})()
    client.connState = Client.CONNECTED
    order = LimitOrder("BUY", 1, 1.5, ocaGroup="g", ocaType=2, orderRef="r", whatIf=what_if)
    order.transmit = False
    order.parentId = 7
    client.placeOrder(9, Option("SPX", "20261207", 6000, "P", "SMART"), order)
    return split_fields(sent[0][4:])


async def test_place_order_read_at_every_version() -> None:
    """(async: ib_async's Client takes the running loop instead of making one.)"""
    for version in (157, 166, 176, 177, 178):
        for what_if in (False, True):
            fields = _place_order_fields(version, what_if=what_if)
            wire = parse_place_order(FieldReader(fields[1:]), version)
            assert (wire.order_id, wire.oca_group, wire.oca_type) == (9, "g", 2)
            assert (wire.transmit, wire.parent_id, wire.what_if) == (False, 7, what_if)
    assert encode([1])  # the codec is the one the gateway uses
