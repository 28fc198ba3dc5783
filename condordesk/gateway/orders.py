"""Orders through the gateway: placeOrder/cancelOrder/reqGlobalCancel/reqOpenOrders mapped
onto SimBroker, and SimBroker events mapped back to openOrder/orderStatus/execDetails/
commissionReport/error messages for the client that owns the order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from loguru import logger

from condordesk.broker.base import (
    BrokerEvent,
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
)
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    CommissionReport,
    Execution,
    OrderReport,
    OrderStatus,
    Position,
)
from condordesk.errors import BrokerError, OrderRejected
from condordesk.gateway import whatif
from condordesk.gateway.bags import BagFills
from condordesk.gateway.codec import Field, FieldReader
from condordesk.gateway.contracts import (
    bag_fields,
)
from condordesk.gateway.faults import CONNECTIVITY_TEXT
from condordesk.gateway.orderwire import (
    GwOrder,
    WireOrder,
    commission_report,
    exec_details,
    open_order,
    order_status,
    parse_place_order,
    position,
)
from condordesk.gateway.staging import Staging
from condordesk.gateway.translate import (
    REJECTED,
    Reject,
    priced,
    rejection_text,
    to_request,
    wire_from_request,
)

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client, Host

_STATUS = {
    OrderStatus.PENDING: "PendingSubmit",
    OrderStatus.WORKING: "Submitted",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REJECTED: "Inactive",
}


class OrderDesk:
    """Gateway-wide order state: which client order each simulator order is."""

    def __init__(self, gateway: Host) -> None:
        self._gw = gateway
        self._by_sim: dict[int, GwOrder] = {}
        self._by_client: dict[tuple[int, int], int] = {}
        self._exec_to: dict[str, Sequence[Client]] = {}
        self._bags = BagFills()
        self._retired: set[int] = set()  # simulator orders replaced by a modification
        self._delivered: set[str] = set()  # exec ids sent to clients as they happened
        self.staging = Staging(gateway, self._submit, self._filled)

    def _filled(self, key: tuple[int, int]) -> bool:
        sim_id = self._by_client.get(key)
        return sim_id is not None and self._by_sim[sim_id].status == "Filled"

    # -- which client an order belongs to ---------------------------------------------------------

    def _adopt(self, report: OrderReport) -> GwOrder | None:
        """Take on an order found in the simulator (placed before this gateway started, or
        directly on the SimBroker): client id 0, order id = the simulator's order id."""
        known = self._by_sim.get(report.order_id)
        if known is not None or report.request is None or report.order_id in self._retired:
            return known
        wire, option = wire_from_request(report.order_id, report.request)
        order = GwOrder(0, report.order_id, report.perm_id, wire, option, self._gw.account)
        order.adopted = True
        self._by_sim[report.order_id] = order
        self._by_client[(0, report.order_id)] = report.order_id
        self._gw.note_order_id(report.order_id)
        return order

    async def _known(self, sim_id: int | None) -> None:
        """Adopt ``sim_id`` if it is an order of the simulator this gateway does not know."""
        if sim_id is None or sim_id <= 0 or sim_id in self._by_sim or sim_id in self._retired:
            return
        try:
            report = await self._gw.broker.order_status(sim_id)
        except BrokerError:
            return
        if report is not None:
            self._adopt(report)

    def _owners(self, order: GwOrder) -> list[Client]:
        if order.adopted:
            return [s for s in self._gw.sessions() if s.client_id == 0 or s.sees_all_orders]
        owner = self._gw.session_for(order.client_id)
        return [] if owner is None else [owner]

    def _lookup(self, client_id: int, order_id: int) -> int | None:
        sim_id = self._by_client.get((client_id, order_id))
        if sim_id is None:  # an adopted order, cancelled or modified from any client
            sim_id = self._by_client.get((0, order_id))
        return sim_id

    # -- requests -----------------------------------------------------------------------------

    async def place(self, s: Client, r: FieldReader) -> None:
        s.current_req = r.peek_int()  # a truncated placeOrder is answered with its order id
        wire = parse_place_order(r, s.version)
        self._gw.note_order_id(wire.order_id)
        if wire.what_if:
            await whatif.answer(s, wire)
            return
        assert s.client_id is not None
        sim_id = self._lookup(s.client_id, wire.order_id)
        if sim_id is not None:
            await self._modify(s, wire, sim_id)
        elif not await self.staging.take(s, wire):
            await self._submit(s, wire)

    async def _modify(self, s: Client, wire: WireOrder, sim_id: int) -> None:
        """A placeOrder with a known id modifies the order in place, as TWS does: the
        simulator keeps its id, perm id and OCA group. A refusal (104 for an order filled or
        cancelled, 110 for an off-tick price) leaves the order as it was."""
        try:
            request, _ = to_request(wire)
            await self._gw.broker.modify_order(sim_id, request)
        except Reject as exc:
            s.error(wire.order_id, exc.code, exc.text)
            return
        except OrderRejected as exc:
            s.error(wire.order_id, exc.code or 201, rejection_text(exc, "", wire))
            return
        order = self._by_sim.get(sim_id)
        if order is not None:  # before the simulator's "modified" update is relayed
            order.wire = wire

    async def _submit(self, s: Client, wire: WireOrder) -> None:
        assert s.client_id is not None
        try:
            request, option = to_request(await priced(s, wire))
            report = await self._gw.broker.place_order(request)
        except Reject as exc:
            s.error(wire.order_id, exc.code, exc.text)
            return
        except OrderRejected as exc:
            s.error(wire.order_id, exc.code or 201, rejection_text(exc, REJECTED, wire))
            return
        order = GwOrder(s.client_id, wire.order_id, report.perm_id, wire, option, self._gw.account)
        self._by_sim[report.order_id] = order
        self._by_client[(s.client_id, wire.order_id)] = report.order_id
        if self._gw.faults.take_fills_first():
            return  # the first openOrder goes out with the status, after the executions
        order.status = "Submitted" if report.status.is_done else _working_status(order, report)
        s.send(open_order(order))
        s.send(order_status(order))

    async def cancel(self, s: Client, r: FieldReader) -> None:
        r.skip()  # version
        order_id = r.read_int()
        s.current_req = order_id
        assert s.client_id is not None
        sim_id = self._lookup(s.client_id, order_id)
        if sim_id is None and self.staging.cancel(s, order_id):
            return
        if sim_id is None:
            s.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found.")
            return
        await self._gw.broker.cancel_order(sim_id)

    async def global_cancel(self, s: Client, r: FieldReader) -> None:
        for report in await self._gw.broker.open_orders():
            await self._gw.broker.cancel_order(report.order_id)

    async def open_orders(self, s: Client, r: FieldReader) -> None:
        await self._send_open_orders(s, every_client=s.client_id == 0)

    async def all_open_orders(self, s: Client, r: FieldReader) -> None:
        s.sees_all_orders = True
        await self._send_open_orders(s, every_client=True)

    async def _send_open_orders(self, s: Client, *, every_client: bool) -> None:
        for report in await self._gw.broker.open_orders():
            order = self._adopt(report)
            if order is not None and (every_client or order.client_id == s.client_id):
                order.status = _working_status(order, report)
                order.filled = float(report.filled)
                if report.avg_fill_price is not None:
                    order.avg_price = float(report.avg_fill_price)
                s.send(open_order(order))
                s.send(order_status(order, order.last_fill))
        s.send([53, 1])

    async def executions(self, s: Client, r: FieldReader) -> None:
        """reqExecutions: today's executions (all clients) with their commissions."""
        r.skip()  # version
        req_id = r.read_int()
        s.current_req = req_id
        bags = BagFills()
        done = await self._gw.broker.executions()
        for sim_id in {e.order_id for e, _ in done}:
            await self._known(sim_id)
        for execution, report in done:
            s.send(self._exec_message(req_id, execution))
            if report is not None:
                s.send(commission_report(report))
            bag = self._bag_fill(bags, execution, req_id)
            if bag is not None:
                s.send(bag)
        s.send([55, 1, req_id])

    # -- simulator events ------------------------------------------------------------------------

    async def on_event(self, event: BrokerEvent) -> None:
        if isinstance(event, OrderUpdated):
            self._adopt(event.report)
            self._on_status(event.report)
            order = self._by_sim.get(event.report.order_id)
            if order is not None:
                await self.staging.on_report(order, event.report)
        elif isinstance(event, ExecutionReceived):
            await self._known(event.execution.order_id)
            self._on_execution(event.execution)
            await self._push_position(event.execution.contract)
        elif isinstance(event, CommissionReceived):
            self._on_commission(event.report)
        elif isinstance(event, ConnectionChanged):
            self._on_link(event)
            if event.connected:
                await self._catch_up()
        elif isinstance(event, BrokerMessage):
            await self._known(event.order_id)
            self._on_message(event)

    async def _catch_up(self) -> None:
        """After the link comes back, what the exchange did meanwhile reaches the clients, as
        TWS delivers it on restore: the fills (with commissions), then every order whose state
        moved on (a stop that triggered and filled, its OCA sibling cancelled)."""
        try:
            done = await self._gw.broker.executions()
            reports = [await self._gw.broker.order_status(i) for i in list(self._by_sim)]
        except BrokerError as exc:
            logger.warning("gateway: cannot catch up after the link came back: {}", exc)
            return
        for execution, commission in done:
            if execution.exec_id in self._delivered:
                continue
            await self._known(execution.order_id)
            self._on_execution(execution)
            if commission is not None:
                self._on_commission(commission)
        for report in reports:
            order = None if report is None else self._by_sim.get(report.order_id)
            if report is None or order is None:
                continue
            status = (
                _working_status(order, report)
                if report.status is OrderStatus.WORKING
                else _STATUS[report.status]
            )
            if (status, float(report.filled)) != (order.status, order.filled):
                self._on_status(report)

    def _on_status(self, report: OrderReport) -> None:
        order = self._by_sim.get(report.order_id)
        if order is None:
            return
        if report.status is OrderStatus.WORKING:
            order.status = _working_status(order, report)
        else:
            order.status = _STATUS[report.status]
        order.filled = float(report.filled)
        if report.avg_fill_price is not None:
            order.avg_price = float(report.avg_fill_price)
        for session in self._owners(order):
            if report.status is OrderStatus.CANCELLED:  # IB sends the 202 before the status
                session.error(order.order_id, 202, f"Order Canceled - reason:{report.reason}")
            session.send(open_order(order))
            session.send(order_status(order, order.last_fill if report.filled else 0.0))

    def _exec_message(
        self, req_id: int, execution: Execution, block: list[Field] | None = None
    ) -> list[Field]:
        order = self._by_sim.get(execution.order_id)
        order_id, client_id = (order.order_id, order.client_id) if order else (0, 0)
        return exec_details(
            req_id,
            execution,
            order_id=order_id,
            client_id=client_id,
            account=self._gw.account,
            block=block,
        )

    def _bag_fill(
        self, bags: BagFills, execution: Execution, req_id: int = -1
    ) -> list[Field] | None:
        """The BAG-level execDetails completing a combo fill (when the gateway sends them)."""
        order = self._by_sim.get(execution.order_id)
        if order is None:
            return None
        bag = bags.feed(order, execution)
        if order.option is not None:
            order.last_fill = float(execution.price)
        elif bag is not None:  # a whole piece of the combo: its price is the last fill price
            order.last_fill = float(bag.price)
        if bag is None or not self._gw.bag_executions:
            return None
        return self._exec_message(req_id, bag, bag_fields())

    def _on_execution(self, execution: Execution) -> None:
        order = self._by_sim.get(execution.order_id)
        # a trade made by hand (no order): every client hears of it
        targets = self._gw.sessions() if order is None else self._owners(order)
        self._exec_to[execution.exec_id] = targets
        self._delivered.add(execution.exec_id)
        bag = self._bag_fill(self._bags, execution)
        for session in targets:
            session.send(self._exec_message(-1, execution))
            if bag is not None:
                session.send(bag)

    async def _push_position(self, contract: OptionContract) -> None:
        """Live position update (msg 61) for clients subscribed with reqPositions."""
        targets = [s for s in self._gw.sessions() if s.positions_subscribed]
        if not targets:
            return
        held = [p for p in await self._gw.broker.positions() if p.contract == contract]
        pos = held[0] if held else Position(contract, 0)
        for session in targets:
            session.send(position(self._gw.account, pos))

    def _on_commission(self, report: CommissionReport) -> None:
        for session in self._exec_to.pop(report.exec_id, []):
            session.send(commission_report(report))

    def _on_link(self, event: ConnectionChanged) -> None:
        code = 1100
        if event.connected:
            code = 1101 if "1101" in event.reason else 1102
        for session in self._gw.sessions():
            session.error(-1, code, CONNECTIVITY_TEXT[code])
            if code == 1101:
                session.drop_market_data()

    def _on_message(self, event: BrokerMessage) -> None:
        order = None if event.order_id is None else self._by_sim.get(event.order_id)
        if order is not None:
            for session in self._owners(order):
                session.error(order.order_id, event.code, event.text)
            return
        for session in self._gw.sessions():
            session.error(-1, event.code, event.text)


def _working_status(order: GwOrder, report: OrderReport) -> str:
    """A working order is PreSubmitted while a stop waits for its trigger, else Submitted
    (a partly filled order too: TWS has no status of its own for it)."""
    if report.status is not OrderStatus.WORKING:
        return _STATUS[report.status]
    is_stop = order.wire.order_type in ("STP", "STP LMT")
    waiting = is_stop and report.reason != "triggered" and not report.filled
    return "PreSubmitted" if waiting else "Submitted"
