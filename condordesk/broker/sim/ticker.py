"""The simulated broker's background task: wakes when something is due, or when poked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from condordesk.market.clock import Clock


class Ticker:
    """Runs ``step(now)`` in a loop, sleeping the clock seconds it returns in between.

    :meth:`wake` cuts the current sleep short (a state change the step must see).

    Args:
        clock: the injected clock.
        step: does the due work at ``now`` and returns how long to sleep.
        on_crash: called with the exception if ``step`` raises (the task then ends with it).
    """

    def __init__(
        self,
        clock: Clock,
        step: Callable[[datetime], float],
        on_crash: Callable[[Exception], None],
    ) -> None:
        self._clock = clock
        self._step = step
        self._on_crash = on_crash
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._task is not None

    def start(self) -> None:
        """Start the loop on the running event loop (no-op if running)."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="sim-broker-ticker")

    async def stop(self) -> None:
        """Stop the loop; re-raises the exception it died of, if any."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait((task,))
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                raise exc

    def wake(self) -> None:
        """Make the loop run its step now (at the current clock time)."""
        self._wake.set()

    async def _run(self) -> None:
        try:
            while True:
                await self._idle(self._step(self._clock.now()))
        except Exception as exc:
            self._on_crash(exc)
            raise

    async def _idle(self, seconds: float) -> None:
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()
