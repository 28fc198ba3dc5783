"""Tracks order reports so flows can await an order's final state on the injected clock."""

from __future__ import annotations

import asyncio
import dataclasses

from condordesk.domain.orders import OrderReport
from condordesk.market.clock import Clock


class OrderTracker:
    """Latest report per ``orderRef`` and futures for flows waiting on a final state.

    Reports only move forward: a finished order never becomes working again, and the filled
    quantity never shrinks (an order that fills in pieces reports ``filled`` growing while it
    works; a late or replayed report with fewer fills keeps the higher count).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._latest: dict[str, OrderReport] = {}
        self._waiters: dict[str, list[asyncio.Future[OrderReport]]] = {}

    def latest(self, ref: str) -> OrderReport | None:
        """The most recent report for ``ref``."""
        return self._latest.get(ref)

    def update(self, report: OrderReport) -> OrderReport | None:
        """Record a report; returns it as recorded (its fills never below an earlier report's),
        or None if it would move a finished order backwards."""
        previous = self._latest.get(report.order_ref)
        if previous is not None:
            if previous.status.is_done and not report.status.is_done:
                return None
            if report.filled < previous.filled:
                report = dataclasses.replace(
                    report,
                    filled=previous.filled,
                    remaining=max(report.filled + report.remaining - previous.filled, 0),
                    avg_fill_price=previous.avg_fill_price,
                )
        self._latest[report.order_ref] = report
        if report.status.is_done:
            for fut in self._waiters.pop(report.order_ref, []):
                if not fut.done():
                    fut.set_result(report)
        return report

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
