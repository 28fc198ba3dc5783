"""Orders the gateway holds back, as TWS does: ``transmit=False`` orders wait until a
transmitted order of their group arrives (themselves again, or a child naming them as
parent), and the children of a bracket wait for their parent's fill before they work.

A bracket's children are one OCA group (cancel the others on a fill) unless the client
named one. While waiting, a child is reported PreSubmitted; when its parent is cancelled or
rejected, the children are cancelled with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from condordesk.domain.options import OptionContract
from condordesk.domain.orders import OrderReport, OrderStatus
from condordesk.gateway.contracts import resolve
from condordesk.gateway.orderwire import GwOrder, WireOrder, open_order, order_status

if TYPE_CHECKING:
    from condordesk.gateway.server import Gateway
    from condordesk.gateway.session import Session

Key = tuple[int, int]  # (client id, order id)
Submit = Callable[["Session", WireOrder], Awaitable[None]]
Filled = Callable[[Key], bool]


class Staging:
    """Untransmitted orders and children waiting for their parent's fill."""

    def __init__(self, gateway: Gateway, submit: Submit, filled: Filled) -> None:
        self._gw = gateway
        self._submit = submit
        self._filled = filled
        self._held: dict[Key, WireOrder] = {}
        self._waiting: dict[Key, list[WireOrder]] = {}  # parent -> its children

    async def take(self, s: Session, wire: WireOrder) -> bool:
        """Handle ``wire`` if it is held back or releases a held group; False to place it
        as usual."""
        assert s.client_id is not None
        cid = s.client_id
        if not wire.transmit:
            self._held[(cid, wire.order_id)] = wire
            return True
        self._held.pop((cid, wire.order_id), None)
        if not wire.parent_id:
            return False
        parent_key = (cid, wire.parent_id)
        if self._filled(parent_key):  # the parent already filled: the child works at once
            return False
        parent = self._held.pop(parent_key, None)
        children = [w for k, w in list(self._held.items()) if w.parent_id == wire.parent_id]
        for child in children:
            del self._held[(cid, child.order_id)]
        oca = f"bracket:{cid}:{wire.parent_id}"
        waiting = [w if w.oca_group else replace(w, oca_group=oca, oca_type=1) for w in children]
        waiting.append(wire if wire.oca_group else replace(wire, oca_group=oca, oca_type=1))
        self._waiting.setdefault(parent_key, []).extend(waiting)
        for child in waiting:
            _report(s, child, "PreSubmitted")
        if parent is not None:
            await self._submit(s, replace(parent, transmit=True))
        return True

    async def on_report(self, order: GwOrder, report: OrderReport) -> None:
        """The parent ``order`` moved on: on its fill its children work; when it ends any
        other way they are cancelled."""
        key = (order.client_id, order.order_id)
        if key not in self._waiting or not report.status.is_done:
            return
        if report.status is OrderStatus.FILLED:
            children = self._waiting.pop(key)
            session = self._gw.session_for(order.client_id)
            if session is None:  # the client left: its children stay waiting until it returns
                self._waiting[key] = children
                return
            for child in children:
                await self._submit(session, replace(child, parent_id=0))
            return
        owner = self._gw.session_for(order.client_id)
        for child in self._waiting.pop(key):
            if owner is not None:
                owner.error(child.order_id, 202, "Order Canceled - reason:parent order ended")
                _report(owner, child, "Cancelled")


def _report(s: Session, wire: WireOrder, status: str) -> None:
    assert s.client_id is not None
    option = resolve(wire.contract) if wire.contract.sec_type != "BAG" else None
    single = option if isinstance(option, OptionContract) else None
    order = GwOrder(s.client_id, wire.order_id, 0, wire, single, s.gateway.account, status=status)
    s.send(open_order(order))
    s.send(order_status(order))
