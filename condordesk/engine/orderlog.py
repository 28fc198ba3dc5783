"""One log line per order event, in condordesk's words (issue 14).

The broker adapters report every order change (``OrderUpdated``); the desk logs each new
status of one of its orders once, as::

    order cd:20261130-01:entry.1 BUY LMT x1 @ -1.10: working
    order cd:20261130-01:stop.1 BUY STP LMT x1 trigger 2.20 limit 2.40: cancelled (OCA filled)
    order cd:20261130-01:close.1 BUY LMT x1 @ 0.10: filled 1 @ 0.10

(ref, action and type, quantity, prices, status), whatever the broker's library says of it
(ib_async's own records are DEBUG, see :mod:`condordesk.broker.ib.logs`).
"""

from __future__ import annotations

import re
from decimal import Decimal

from condordesk.domain.orders import OrderReport, OrderStatus, OrderType

_LEVEL = {OrderStatus.REJECTED: "WARNING", OrderStatus.PENDING: "DEBUG"}
# a broker message as the reason: its code and request id are the broker's plumbing
_PLUMBING = re.compile(r"^(Error -?\d+, reqId -?\d+: )?(Order Cancell?ed - reason:)?")
ORDER_CANCELLED_CODE = 202
"""The broker's message for an order cancelled (asked for, or by its OCA group): the order's
own event line says it."""


def _price(value: Decimal) -> str:
    return f"{value:.2f}"


def order_line(report: OrderReport) -> str:
    """The line of one order event (without a level)."""
    req = report.request
    quantity = req.quantity if req is not None else report.filled + report.remaining
    what = f"{req.action.value} {req.order_type.value} " if req is not None else ""
    prices = ""
    if req is not None:
        if req.order_type is OrderType.LIMIT and req.limit_price is not None:
            prices = f" @ {_price(req.limit_price)}"
        else:
            if req.stop_price is not None:
                prices += f" trigger {_price(req.stop_price)}"
            if req.limit_price is not None:
                prices += f" limit {_price(req.limit_price)}"
    status = report.status.value
    if report.filled and report.avg_fill_price is not None:
        status += f" {report.filled} @ {_price(report.avg_fill_price)}"
    reason = _PLUMBING.sub("", report.reason).strip()
    if reason and reason != report.status.value and report.status is not OrderStatus.FILLED:
        status += f" ({reason})"
    return f"order {report.order_ref} {what}x{quantity}{prices}: {status}"


def order_level(report: OrderReport) -> str:
    """The log level of an order event: WARNING for a rejection, DEBUG for an order sent and
    not yet acknowledged (its next line says where it stands), else INFO."""
    return _LEVEL.get(report.status, "INFO")
