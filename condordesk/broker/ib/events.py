"""ib_async events -> condordesk :data:`BrokerEvent` s, published on an :class:`EventHub`.

ib_async emits its events synchronously on the event loop; each handler here translates
and publishes at once (no awaiting), so event order is preserved.

* ``orderStatusEvent`` / ``openOrderEvent`` -> :class:`OrderUpdated` (deduplicated: only
  when status, filled quantity or perm id changed);
* ``execDetailsEvent`` -> :class:`ExecutionReceived` for leg executions (the BAG-level
  execution is skipped);
* ``commissionReportEvent`` -> :class:`CommissionReceived` (leg executions only);
* ``errorEvent`` -> :class:`ConnectionChanged` for 1100/1101/1102, nothing for farm-status
  information, :class:`BrokerMessage` for everything else;
* ``disconnectedEvent`` -> :class:`ConnectionChanged(False)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ib_async import IB, CommissionReport, Fill, Trade
from loguru import logger

from condordesk.broker.base import (
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
)
from condordesk.broker.ib import translate
from condordesk.broker.ib.errors import ErrorKind, classify
from condordesk.broker.stream import EventHub
from condordesk.domain.orders import OrderReport, OrderRequest, OrderStatus
from condordesk.market.clock import Clock

RequestLookup = Callable[[Trade], OrderRequest | None]


class EventRouter:
    """Subscribes to an ``IB``'s events and republishes them as broker events.

    Args:
        clock: the injected clock (timestamps of reports).
        hub: where events go.
        request_of: rebuilds or recalls the OrderRequest of a trade (None if unknown).
        on_link: called with True/False when IB reports connectivity restored/lost.
    """

    def __init__(
        self,
        clock: Clock,
        hub: EventHub,
        request_of: RequestLookup,
        on_link: Callable[[bool, str], None],
    ) -> None:
        self._clock = clock
        self._hub = hub
        self._request_of = request_of
        self._on_link = on_link
        self._last: dict[int, tuple[OrderStatus, int, int]] = {}
        self._commissions: set[str] = set()
        self._ib: IB | None = None

    def attach(self, ib: IB) -> None:
        """Start listening to ``ib`` (idempotent)."""
        if self._ib is ib:
            return
        self.detach()
        self._ib = ib
        ib.orderStatusEvent += self.on_trade
        ib.openOrderEvent += self.on_trade
        ib.execDetailsEvent += self.on_exec
        ib.commissionReportEvent += self.on_commission
        ib.errorEvent += self.on_error

    def detach(self) -> None:
        """Stop listening."""
        ib, self._ib = self._ib, None
        if ib is None:
            return
        ib.orderStatusEvent -= self.on_trade
        ib.openOrderEvent -= self.on_trade
        ib.execDetailsEvent -= self.on_exec
        ib.commissionReportEvent -= self.on_commission
        ib.errorEvent -= self.on_error

    def report(self, trade: Trade) -> OrderReport:
        """The current OrderReport of ``trade``."""
        return translate.order_report(trade, self._request_of(trade), self._clock.now())

    # -- handlers ---------------------------------------------------------------------------

    def on_trade(self, trade: Trade) -> None:
        """An order status or open-order message: publish if something changed."""
        if trade.contract.secType != "BAG":
            return  # not a condordesk combo order (e.g. manual single-leg orders)
        if translate.undo_refused_modify(trade):
            return  # ib_async's mark of a refused modification, not a status from IB
        report = self.report(trade)
        key = (report.status, report.filled, report.perm_id)
        if self._last.get(report.order_id) != key:
            self._last[report.order_id] = key
            self._hub.publish(OrderUpdated(report))
        self._sweep_commissions(trade)

    def _sweep_commissions(self, trade: Trade) -> None:
        # ib_async drops the commissionReportEvent of a fill that came before its openOrder
        # (no perm id to find the trade) but still fills in the Fill's report: catch up here.
        for fill in trade.fills:
            self.on_commission(trade, fill, fill.commissionReport)

    def on_exec(self, trade: Trade, fill: Fill) -> None:
        """A live execution: publish the leg executions only."""
        execution = translate.execution(fill, self._clock.now())
        if execution is not None:
            self._hub.publish(ExecutionReceived(execution))

    def on_commission(self, trade: Trade, fill: Fill, report: CommissionReport) -> None:
        """A commission report: publish it for leg executions."""
        if translate.option_contract(fill.contract) is None:
            return
        commission = translate.commission(report)
        if commission is not None and commission.exec_id not in self._commissions:
            self._commissions.add(commission.exec_id)  # IB re-sends them with every reqExecutions
            self._hub.publish(CommissionReceived(commission))

    def on_error(self, req_id: int, code: int, text: str, contract: Any = None) -> None:
        """An IB error/warning/info message."""
        kind = classify(code)
        if kind is ErrorKind.INFO:
            logger.debug("IB {}: {}", code, text)
        elif kind is ErrorKind.CONNECTIVITY_LOST:
            self._on_link(False, f"IB {code}: {text}")
        elif kind is ErrorKind.CONNECTIVITY_RESTORED:
            self._on_link(True, f"IB {code}: {text}")
        else:
            order_id = req_id if req_id in self._last or self._is_order(req_id) else None
            self._hub.publish(BrokerMessage(code, text, order_id))

    def on_disconnected(self, reason: str) -> None:
        """The socket closed."""
        self._hub.publish(ConnectionChanged(False, reason))

    def forget(self) -> None:
        """Drop dedup state (a new session re-reports every order and commission once)."""
        self._last.clear()
        self._commissions.clear()

    def _is_order(self, req_id: int) -> bool:
        if self._ib is None or req_id <= 0:
            return False
        return any(t.order.orderId == req_id for t in self._ib.trades())
