"""Plain-data (JSON) forms of order requests for the journal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderRequest,
    OrderType,
    TimeInForce,
)


def request_to_json(req: OrderRequest) -> dict[str, Any]:
    """An OrderRequest as JSON-ready data."""
    return {
        "order_ref": req.order_ref,
        "legs": [
            {"contract": leg.contract.to_json(), "action": leg.action.value, "ratio": leg.ratio}
            for leg in req.legs
        ],
        "action": req.action.value,
        "order_type": req.order_type.value,
        "quantity": req.quantity,
        "tif": req.tif.value,
        "limit_price": None if req.limit_price is None else str(req.limit_price),
        "stop_price": None if req.stop_price is None else str(req.stop_price),
        "oca_group": req.oca_group,
    }


def request_from_json(data: dict[str, Any]) -> OrderRequest:
    """Inverse of :func:`request_to_json`."""
    return OrderRequest(
        order_ref=data["order_ref"],
        legs=tuple(
            ComboLeg(
                OptionContract.from_json(leg["contract"]), OrderAction(leg["action"]), leg["ratio"]
            )
            for leg in data["legs"]
        ),
        action=OrderAction(data["action"]),
        order_type=OrderType(data["order_type"]),
        quantity=data["quantity"],
        tif=TimeInForce(data["tif"]),
        limit_price=None if data["limit_price"] is None else Decimal(data["limit_price"]),
        stop_price=None if data["stop_price"] is None else Decimal(data["stop_price"]),
        oca_group=data["oca_group"],
    )
