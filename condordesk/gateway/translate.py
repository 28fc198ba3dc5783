"""placeOrder to simulator requests: what the gateway accepts (Reject otherwise), IB's margin
check, MKT orders priced, and TWS's wording of the simulator's refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderRequest,
    OrderType,
    TimeInForce,
)
from condordesk.errors import OrderRejected
from condordesk.gateway import funds
from condordesk.gateway.contracts import (
    EXCHANGE,
    WireContract,
    option_conid,
    option_from_conid,
    resolve,
)
from condordesk.gateway.marketable import MARKET, NoMarket, as_limit
from condordesk.gateway.orderwire import WireLeg, WireOrder

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client


class Reject(Exception):
    """An order the gateway refuses before it reaches the simulator."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _legs(wire: WireOrder) -> tuple[tuple[ComboLeg, ...], OptionContract | None]:
    if wire.contract.sec_type == "BAG":
        legs = []
        for leg in wire.legs:
            contract = option_from_conid(leg.con_id)
            if contract is None:
                raise Reject(200, f"No security definition has been found for conId {leg.con_id}")
            legs.append(ComboLeg(contract, OrderAction(leg.action), max(leg.ratio, 1)))
        if not legs:
            raise Reject(201, "Order rejected - reason:a combo needs legs")
        return tuple(legs), None
    target = resolve(wire.contract)
    if not isinstance(target, OptionContract):
        raise Reject(200, "No security definition has been found for the request")
    return (ComboLeg(target, OrderAction.BUY),), target


def _prices(wire: WireOrder) -> tuple[OrderType, Decimal | None, Decimal | None]:
    kind = OrderType(wire.order_type)
    limit = wire.lmt_price if kind is not OrderType.STOP else None
    stop = wire.aux_price if kind is not OrderType.LIMIT else None
    if kind is not OrderType.STOP and limit is None:
        raise Reject(201, "Order rejected - reason:a limit price is required")
    if kind is not OrderType.LIMIT and stop is None:
        raise Reject(201, "Order rejected - reason:a stop price is required")
    return kind, limit, stop


def to_request(wire: WireOrder) -> tuple[OrderRequest, OptionContract | None]:
    """The SimBroker request for a placeOrder; raises Reject for what it cannot express."""
    try:
        legs, option = _legs(wire)
        kind, limit, stop = _prices(wire)
        action, tif = OrderAction(wire.action), TimeInForce(wire.tif or "DAY")
    except ValueError as exc:
        raise Reject(201, f"Order rejected - reason:unsupported order ({exc})") from exc
    quantity = int(wire.quantity)
    if quantity <= 0 or quantity != wire.quantity:
        raise Reject(201, "Order rejected - reason:the quantity must be a positive integer")
    request = OrderRequest(
        order_ref=wire.order_ref,
        legs=legs,
        action=action,
        order_type=kind,
        quantity=quantity,
        tif=tif,
        limit_price=limit,
        stop_price=stop,
        oca_group=wire.oca_group,
    )
    return request, option


def wire_from_request(
    order_id: int, request: OrderRequest
) -> tuple[WireOrder, OptionContract | None]:
    """The placeOrder an order found in the simulator would have come from (for adoption)."""
    single = len(request.legs) == 1 and request.legs[0].action is OrderAction.BUY
    option = request.legs[0].contract if single else None
    legs = [
        WireLeg(option_conid(leg.contract), leg.ratio, leg.action.value, EXCHANGE)
        for leg in request.legs
    ]
    contract = WireContract(
        0, "SPX", "OPT" if single else "BAG", "", None, "", "", "", "", "", "", ""
    )
    wire = WireOrder(
        order_id=order_id,
        contract=contract,
        action=request.action.value,
        quantity=float(request.quantity),
        order_type=request.order_type.value,
        lmt_price=request.limit_price,
        aux_price=request.stop_price,
        tif=request.tif.value,
        oca_group=request.oca_group,
        account="",
        order_ref=request.order_ref,
        legs=[] if single else legs,
        oca_type=1 if request.oca_group else 0,
    )
    return wire, option


REJECTED = "Order rejected - reason:"
OFF_TICK = "The price does not conform to the minimum price variation for this contract."


def rejection_text(exc: OrderRejected, prefix: str, wire: WireOrder) -> str:
    """The client's wording of a simulator refusal: an off-tick single option gets TWS's 110
    text, not the simulator's combo wording (a combo keeps it: it names the 0.05 increment)."""
    if exc.code == 110 and wire.contract.sec_type != "BAG":
        return OFF_TICK
    return f"{prefix}{exc.reason}"


async def priced(s: Client, wire: WireOrder) -> WireOrder:
    """``wire`` once IB's margin check passed; a MKT order as the limit the simulator works
    (the client keeps seeing MKT)."""
    refused = await funds.margin_rejection(s, wire)
    if refused is not None:
        raise Reject(201, f"Order rejected - reason:{refused}")
    if wire.order_type != MARKET:
        return wire
    try:
        return await as_limit(s.gateway.broker, wire)
    except NoMarket as exc:
        text = f"Order rejected - reason:no market data to price a MKT order ({exc})"
        raise Reject(201, text) from exc
