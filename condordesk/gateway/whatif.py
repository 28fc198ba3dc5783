"""whatIf orders: the margin an order would need, answered in an openOrder, nothing placed.

The rule (the defined-risk rule IB applies to spreads): a combo needs its widest wing (the
strike distance between its puts, or between its calls) x 100 x quantity; a single long
option needs nothing beyond its premium; a single short option is treated as naked (20% of
the index level x 100 x quantity). The account's margin before the order is what the
positions already held need by the same rule (see :func:`held_margin`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.domain.options import OptionContract, Right
from condordesk.gateway.contracts import MULTIPLIER, option_from_conid, resolve
from condordesk.gateway.orderwire import GwOrder, WireOrder, open_order

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client

NAKED_SHARE = Decimal("0.2")


def widest_wing(contracts: Iterable[OptionContract]) -> Decimal:
    """The widest strike distance among the puts and among the calls."""
    widest = Decimal(0)
    for right in Right:
        strikes = [c.strike for c in contracts if c.right is right]
        if len(strikes) > 1:
            widest = max(widest, max(strikes) - min(strikes))
    return widest


def order_margin(wire: WireOrder, spot: Decimal) -> Decimal:
    """The initial margin ``wire`` needs by this module's rule."""
    quantity = Decimal(str(wire.quantity))
    mult = Decimal(MULTIPLIER)
    if wire.contract.sec_type == "BAG":
        legs = [option_from_conid(leg.con_id) for leg in wire.legs]
        return widest_wing(c for c in legs if c is not None) * mult * quantity
    if wire.action == "SELL" and isinstance(resolve(wire.contract), OptionContract):
        return NAKED_SHARE * spot * mult * quantity
    return Decimal(0)


async def held_margin(s: Client) -> Decimal:
    """What the positions held need: per expiry, the larger of (put wing x short puts) and
    (call wing x short calls), x 100 (an iron condor's two sides cannot both lose)."""
    held: dict[tuple[object, Right], list[tuple[Decimal, int]]] = {}
    for pos in await s.gateway.broker.positions():
        key = (pos.contract.expiry, pos.contract.right)
        held.setdefault(key, []).append((pos.contract.strike, pos.quantity))
    per_expiry: dict[object, Decimal] = {}
    for (expiry, _), side in held.items():
        strikes = [k for k, _ in side]
        shorts = sum(-q for _, q in side if q < 0)
        need = (max(strikes) - min(strikes)) * Decimal(MULTIPLIER) * shorts
        per_expiry[expiry] = max(per_expiry.get(expiry, Decimal(0)), need)
    return sum(per_expiry.values(), Decimal(0))


async def answer(s: Client, wire: WireOrder) -> None:
    """openOrder with whatIf set and the margin figures; no order reaches the simulator."""
    assert s.client_id is not None
    spot = await s.gateway.broker.underlying_price()
    before = await held_margin(s)
    change = order_margin(wire, spot)
    option = resolve(wire.contract) if wire.contract.sec_type != "BAG" else None
    order = GwOrder(
        s.client_id,
        wire.order_id,
        0,
        wire,
        option if isinstance(option, OptionContract) else None,
        s.gateway.account,
        status="PreSubmitted",
        margin=(before, change, before + change),
    )
    s.send(open_order(order))
