"""The account's figures, moving with positions and P&L, and IB's margin check on orders.

Cash starts at the gateway's ``funds`` and moves with every execution (premium in or out,
x 100) and commission; positions are marked at their mids; the margin the positions need is
:func:`~condordesk.gateway.whatif.held_margin`. An opening order whose margin exceeds the
available funds is rejected (201) with IB's wording; an order that only reduces positions
needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.domain.orders import OrderAction
from condordesk.errors import BrokerError
from condordesk.gateway.contracts import MULTIPLIER, option_from_conid, resolve
from condordesk.gateway.orderwire import WireOrder
from condordesk.gateway.whatif import held_margin, order_margin

if TYPE_CHECKING:
    from condordesk.domain.options import OptionContract
    from condordesk.gateway.ports import Client

CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Figures:
    """The account's figures now (USD)."""

    cash: Decimal
    net_liquidation: Decimal
    margin: Decimal

    @property
    def available(self) -> Decimal:
        return self.net_liquidation - self.margin

    def values(self) -> list[tuple[str, str, str]]:
        """(tag, value, currency) as updateAccountValue sends them."""
        tags = (
            ("NetLiquidation", self.net_liquidation),
            ("TotalCashValue", self.cash),
            ("AvailableFunds", self.available),
            ("ExcessLiquidity", self.available),
            ("InitMarginReq", self.margin),
            ("MaintMarginReq", self.margin),
            ("BuyingPower", self.available * 4),
            ("EquityWithLoanValue", self.net_liquidation),
        )
        return [(tag, str(value.quantize(CENTS)), "USD") for tag, value in tags]


async def figures(s: Client) -> Figures:
    """The account now (the starting funds while the simulator link is down)."""
    broker = s.gateway.broker
    mult = Decimal(MULTIPLIER)
    cash = s.gateway.funds
    try:
        for execution, commission in await broker.executions():
            sign = 1 if execution.side is OrderAction.SELL else -1
            cash += sign * execution.price * mult * execution.quantity
            if commission is not None:
                cash -= commission.commission
        held = await broker.positions()
        quotes = await broker.option_quotes([p.contract for p in held], timeout=0.0)
        margin = await held_margin(s)
    except BrokerError:
        return Figures(s.gateway.funds, s.gateway.funds, Decimal(0))
    value = Decimal(0)
    for pos in held:
        quote = quotes.get(pos.contract)
        mark = quote.mid if quote is not None and quote.mid is not None else pos.avg_cost
        value += mark * mult * pos.quantity
    return Figures(cash, cash + value, margin)


def _reduces(wire: WireOrder, held: dict[OptionContract, int]) -> bool:
    """True when every leg of ``wire`` only reduces a position held."""
    sign = 1 if wire.action == "BUY" else -1
    if wire.contract.sec_type == "BAG":
        legs = [(option_from_conid(g.con_id), 1 if g.action == "BUY" else -1) for g in wire.legs]
    else:
        target = resolve(wire.contract)
        legs = [(target if not isinstance(target, int) else None, 1)]
    for contract, leg_sign in legs:
        have = held.get(contract, 0) if contract is not None else 0
        if have == 0 or (have > 0) == (sign * leg_sign > 0):
            return False
    return True


async def margin_rejection(s: Client, wire: WireOrder) -> str | None:
    """IB's rejection text when ``wire`` needs more margin than the funds available."""
    held = {p.contract: p.quantity for p in await s.gateway.broker.positions()}
    if _reduces(wire, held):
        return None
    need = order_margin(wire, await s.gateway.broker.underlying_price())
    now = await figures(s)
    if need <= now.available:
        return None
    return (
        "YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
        f"AvailableFunds [{now.available.quantize(CENTS)} USD] MUST EXCEED THE INITIAL MARGIN "
        f"[{need.quantize(CENTS)} USD]"
    )
