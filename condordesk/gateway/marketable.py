"""MKT orders on options and combos: worked as a limit at the natural price (each leg bought
at its ask, each sold at its bid), which the simulator fills at once, as a market order
fills; the client still sees its MKT order in openOrder."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.domain.options import OptionContract
from condordesk.gateway.contracts import option_from_conid, resolve
from condordesk.gateway.orderwire import WireOrder

if TYPE_CHECKING:
    from condordesk.broker.sim import SimBroker

MARKET = "MKT"
TICKS_PER_UNIT = 20  # 0.05


class NoMarket(Exception):
    """A leg has no quote to price a market order on."""


def _signed_legs(wire: WireOrder) -> list[tuple[OptionContract, int]]:
    """(contract, +ratio bought / -ratio sold) of the order's BUY side."""
    if wire.contract.sec_type != "BAG":
        target = resolve(wire.contract)
        return [(target, 1)] if isinstance(target, OptionContract) else []
    out = []
    for leg in wire.legs:
        contract = option_from_conid(leg.con_id)
        if contract is not None:
            out.append((contract, leg.ratio if leg.action == "BUY" else -leg.ratio))
    return out


async def as_limit(broker: SimBroker, wire: WireOrder) -> WireOrder:
    """``wire`` (a MKT order) as a LMT at its natural price on the 0.05 grid; raises NoMarket."""
    legs = _signed_legs(wire)
    if not legs:
        raise NoMarket("no such contract")
    quotes = await broker.option_quotes([c for c, _ in legs], timeout=0.0)
    buying = wire.action == "BUY"
    price = Decimal(0)
    for contract, ratio in legs:
        quote = quotes.get(contract)
        if quote is None:
            raise NoMarket(f"no quote for {contract}")
        pays = (ratio > 0) == buying  # this leg is bought: at its ask
        side = quote.ask if pays else (quote.bid if quote.bid is not None else Decimal(0))
        if side is None:
            raise NoMarket(f"no ask for {contract}")
        price += (side if ratio > 0 else -side) * abs(ratio)
    ticks = float(price) * TICKS_PER_UNIT
    rounded = math.ceil(ticks - 1e-9) if buying else math.floor(ticks + 1e-9)
    limit = Decimal(rounded) / TICKS_PER_UNIT
    return replace(wire, order_type="LMT", lmt_price=limit)
