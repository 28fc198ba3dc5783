"""The one line an order event gets in the log (issue 14)."""

from __future__ import annotations

from decimal import Decimal

from condordesk.domain.orders import (
    OrderAction,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from condordesk.engine.orderlog import order_level, order_line


def _report(
    order_type: OrderType,
    status: OrderStatus,
    *,
    limit: str | None = None,
    stop: str | None = None,
    filled: int = 0,
    avg: str | None = None,
    reason: str = "",
) -> OrderReport:
    request = OrderRequest(
        order_ref="cd:20261130-01:stop-limit",
        legs=(),
        action=OrderAction.BUY,
        order_type=order_type,
        quantity=2,
        tif=TimeInForce.DAY,
        limit_price=None if limit is None else Decimal(limit),
        stop_price=None if stop is None else Decimal(stop),
    )
    return OrderReport(
        order_id=7,
        perm_id=70,
        order_ref=request.order_ref,
        status=status,
        filled=filled,
        remaining=2 - filled,
        avg_fill_price=None if avg is None else Decimal(avg),
        request=request,
        reason=reason,
    )


def test_a_stop_limit_cancelled_by_its_oca_group() -> None:
    report = _report(
        OrderType.STOP_LIMIT,
        OrderStatus.CANCELLED,
        limit="2.7",
        stop="2.2",
        reason="Error 202, reqId 79: Order Canceled - reason:OCA group g filled",
    )
    assert order_line(report) == (
        "order cd:20261130-01:stop-limit BUY STP LMT x2 trigger 2.20 limit 2.70: "
        "cancelled (OCA group g filled)"
    )
    assert order_level(report) == "INFO"


def test_a_limit_filled_and_a_rejection() -> None:
    filled = _report(OrderType.LIMIT, OrderStatus.FILLED, limit="-1.1", filled=2, avg="-1.1")
    assert order_line(filled).endswith("BUY LMT x2 @ -1.10: filled 2 @ -1.10")
    rejected = _report(OrderType.STOP, OrderStatus.REJECTED, stop="2.5", reason="off tick")
    assert order_line(rejected).endswith("BUY STP x2 trigger 2.50: rejected (off tick)")
    assert order_level(rejected) == "WARNING"
    assert order_level(_report(OrderType.LIMIT, OrderStatus.PENDING, limit="1")) == "DEBUG"
