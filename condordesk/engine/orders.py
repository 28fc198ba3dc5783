"""Tracks order reports so flows can await an order's final state on the injected clock."""

from __future__ import annotations

import asyncio

from condordesk.domain.orders import OrderReport
from condordesk.market.clock import Clock


class OrderTracker:
    """Latest report per ``orderRef`` and futures for flows waiting on a final state."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._latest: dict[str, OrderReport] = {}
        self._waiters: dict[str, list[asyncio.Future[OrderReport]]] = {}

    def latest(self, ref: str) -> OrderReport | None:
        """The most recent report for ``ref``."""
        return self._latest.get(ref)

    def update(self, report: OrderReport) -> bool:
        """Record a report. Returns False if it would move a finished order backwards."""
        previous = self._latest.get(report.order_ref)
        if previous is not None and previous.status.is_done and not report.status.is_done:
            return False
        self._latest[report.order_ref] = report
        if report.status.is_done:
            for fut in self._waiters.pop(report.order_ref, []):
                if not fut.done():
                    fut.set_result(report)
        return True

    async def wait_done(self, ref: str, timeout_s: float) -> OrderReport | None:
        """Wait until ``ref`` is filled, cancelled or rejected; None after ``timeout_s``."""
        latest = self._latest.get(ref)
        if latest is not None and latest.status.is_done:
            return latest
        fut: asyncio.Future[OrderReport] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(ref, []).append(fut)
        try:
            return await asyncio.wait_for(fut, self._clock.loop_seconds(timeout_s))
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(ref)
            if waiters and fut in waiters:
                waiters.remove(fut)
