"""Client-side pacing of API messages, on the injected clock.

IB allows about 50 messages a second (error 100 beyond); ib_async throttles at 45 per loop
second by itself, but its throttle re-arms at exactly ``oldest + 1 s`` and compares with
``>``: on a virtual-time loop, where time does not move while callbacks are ready, that
spins forever. Keeping our own bursts under :data:`MAX_MESSAGES` per loop second means
ib_async never has to throttle, and a large quote request cannot crowd out orders.
"""

from __future__ import annotations

import asyncio
from collections import deque

from condordesk.market.clock import Clock

MAX_MESSAGES = 30
"""Messages we send per loop second (ib_async throttles at 45, IB at about 50)."""
WINDOW_LOOP_S = 1.0
_MARGIN = 1e-3


class Pacer:
    """A sliding window of message send times (event-loop seconds)."""

    def __init__(self, clock: Clock, max_messages: int = MAX_MESSAGES) -> None:
        if max_messages < 1:
            raise ValueError(f"max_messages must be positive, got {max_messages}")
        self._clock = clock
        self.max_messages = max_messages
        self._sent: deque[float] = deque()

    def _window(self) -> float:
        """The pacing window: one event-loop second."""
        return WINDOW_LOOP_S

    @staticmethod
    def _now() -> float:
        # The loop's monotonic time, not the clock's date: a broker clock re-anchors its date
        # when it syncs with the broker, and message pacing must not jump with it.
        return asyncio.get_running_loop().time()

    def _expire(self, now: float) -> None:
        horizon = now - self._window()
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()

    def try_take(self, n: int = 1) -> bool:
        """Record ``n`` messages if they fit in the window now."""
        now = self._now()
        self._expire(now)
        if self._sent and len(self._sent) + n > self.max_messages:
            return False
        self._sent.extend([now] * n)
        return True

    async def take(self, n: int = 1) -> None:
        """Wait (clock sleep) until ``n`` messages fit, then record them."""
        while not self.try_take(n):
            wait_loop_s = self._sent[0] + self._window() - self._now() + _MARGIN
            await self._clock.sleep(wait_loop_s / self._clock.loop_seconds(1.0))

    def note(self, n: int = 1) -> None:
        """Record ``n`` messages sent without waiting (cancels must go out at once)."""
        now = self._now()
        self._expire(now)
        self._sent.extend([now] * n)

    @property
    def in_window(self) -> int:
        """Messages recorded in the current window."""
        self._expire(self._now())
        return len(self._sent)
