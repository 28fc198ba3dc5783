"""Orders the gateway holds back, as TWS does: ``transmit=False`` orders wait until a
transmitted order of their group arrives (themselves again, or a child naming them as
parent), and the children of a bracket wait for their parent's fill before they work.

A bracket's children are one OCA group (cancel the others on a fill) unless the client
named one. While waiting, a child is reported PreSubmitted; when its parent is cancelled or
rejected, the children are cancelled with it. A resting order placed before 09:30 on a
trading day is held (PreSubmitted) and worked at the open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, time
from typing import TYPE_CHECKING

from condordesk.domain.options import OptionContract
from condordesk.domain.orders import OrderReport, OrderStatus
from condordesk.gateway.contracts import resolve
from condordesk.gateway.orderwire import GwOrder, WireOrder, open_order, order_status
from condordesk.market.clock import ET

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client, Host

OPEN = time(9, 30)
Key = tuple[int, int]  # (client id, order id)
Submit = Callable[["Client", WireOrder], Awaitable[None]]
Filled = Callable[[Key], bool]


class Staging:
    """Untransmitted orders and children waiting for their parent's fill."""

    def __init__(self, gateway: Host, submit: Submit, filled: Filled) -> None:
        self._gw = gateway
        self._submit = submit
        self._filled = filled
        self._held: dict[Key, WireOrder] = {}
        self._waiting: dict[Key, list[WireOrder]] = {}  # parent -> its children
        self._pre_opening: dict[Key, WireOrder] = {}  # placed before 09:30, worked at the open

    async def take(self, s: Client, wire: WireOrder) -> bool:
        """Handle ``wire`` if it is held back or releases a held group; False to place it
        as usual."""
        assert s.client_id is not None
        cid = s.client_id
        if not wire.transmit:
            self._held[(cid, wire.order_id)] = wire
            return True
        self._held.pop((cid, wire.order_id), None)
        if not wire.parent_id:
            return await self._pre_open(s, wire)
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
            report(s, child, "PreSubmitted")
        if parent is not None:
            await self._submit(s, replace(parent, transmit=True))
        return True

    async def _pre_open(self, s: Client, wire: WireOrder) -> bool:
        """Before 09:30 on a trading day a resting order (not FOK/IOC) is held PreSubmitted
        and worked at the open, as TWS does; True when held."""
        now = self._gw.clock.now_et()
        opens = datetime.combine(now.date(), OPEN, ET)
        if now >= opens or wire.tif in ("FOK", "IOC") or wire.what_if:
            return False
        if not await self._gw.broker.option_strikes(now.date()):
            return False
        assert s.client_id is not None
        key = (s.client_id, wire.order_id)
        self._pre_opening[key] = wire
        report(s, wire, "PreSubmitted")
        s.spawn(self._at_open(key, (opens - now).total_seconds()))
        return True

    async def _at_open(self, key: Key, wait_s: float) -> None:
        await self._gw.clock.sleep(wait_s)
        wire = self._pre_opening.pop(key, None)
        session = self._gw.session_for(key[0])
        if wire is not None and session is not None:
            await self._submit(session, wire)

    def cancel(self, s: Client, order_id: int) -> bool:
        """Cancel an order the gateway still holds (untransmitted, before the open, or a
        child waiting for its parent); False when it holds no such order."""
        assert s.client_id is not None
        key = (s.client_id, order_id)
        wire = self._held.pop(key, None) or self._pre_opening.pop(key, None)
        for children in self._waiting.values():
            for child in list(children):
                if child.order_id == order_id:
                    children.remove(child)
                    wire = child
        if wire is None:
            return False
        s.error(order_id, 202, "Order Canceled - reason:")
        report(s, wire, "Cancelled")
        return True

    async def on_report(self, order: GwOrder, update: OrderReport) -> None:
        """The parent ``order`` moved on: on its fill its children work; when it ends any
        other way they are cancelled."""
        key = (order.client_id, order.order_id)
        if key not in self._waiting or not update.status.is_done:
            return
        if update.status is OrderStatus.FILLED:
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
                report(owner, child, "Cancelled")


def report(s: Client, wire: WireOrder, status: str) -> None:
    """openOrder and orderStatus of an order the gateway holds."""
    assert s.client_id is not None
    option = resolve(wire.contract) if wire.contract.sec_type != "BAG" else None
    single = option if isinstance(option, OptionContract) else None
    order = GwOrder(s.client_id, wire.order_id, 0, wire, single, s.gateway.account, status=status)
    s.send(open_order(order))
    s.send(order_status(order))
