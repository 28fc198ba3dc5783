"""The injected Clock: the only way engine code learns the time or waits.

* :class:`LiveClock` reads the wall clock (the only place that does) and sleeps for real.
* :class:`SimClock` maps the event loop's time onto a simulated session: ``speed`` simulated
  seconds pass per loop second. On a :class:`~condordesk.market.vtime.VirtualTimeEventLoop`
  with ``speed=1`` it runs as fast as the CPU allows (time jumps to the next wake-up once
  every task waits), which is also how tests drive whole trading days with no sleeps.

Market logic works in America/New_York: use :data:`ET` and :meth:`Clock.now_et`.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")


class Clock(ABC):
    """Time source and sleeper. Every datetime it returns is timezone-aware UTC."""

    @abstractmethod
    def now(self) -> datetime:
        """The current time, UTC."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""

    async def sleep_until(self, when: datetime) -> None:
        """Wait until ``when`` (returns at once if it has passed)."""
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await self.sleep(delay)

    async def hibernate_until(self, when: datetime) -> None:
        """Wait a long idle stretch (market closed). Simulated clocks may jump over it."""
        await self.sleep_until(when)

    def now_et(self) -> datetime:
        """The current time in America/New_York."""
        return self.now().astimezone(ET)

    def sleeper(self, seconds: float) -> asyncio.Future[None]:
        """A future done after ``seconds`` of this clock's time; cancel it to wake early.

        Runs :meth:`sleep` as a task here; a clock that knows its loop's timers overrides it
        with a plain timed future (no task, fewer loop turns per wait)."""
        return asyncio.ensure_future(self.sleep(seconds))

    def loop_seconds(self, seconds: float) -> float:
        """How many event-loop seconds ``seconds`` of this clock's time take."""
        return seconds

    async def sync(self, source: Callable[[], Awaitable[datetime]]) -> None:
        """Align with an outside clock (the broker's); only :class:`BrokerClock` does."""
        return None


class LiveClock(Clock):
    """The wall clock. The only code in condordesk that reads it."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class SimClock(Clock):
    """Simulated time: starts at ``start`` and runs ``speed`` times faster than the loop.

    Args:
        start: simulated time when the clock is first read on a running loop.
        speed: simulated seconds per loop second (use 1 on a virtual-time loop for max speed).
        jump_idle: if True, :meth:`hibernate_until` jumps straight to the wake-up time.
    """

    def __init__(self, start: datetime, speed: float = 1.0, *, jump_idle: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs a timezone-aware start")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self.jump_idle = jump_idle
        """Whether :meth:`hibernate_until` jumps (turn it off to let a night pass in steps)."""
        self._t0: float | None = None
        self._offset = 0.0  # simulated seconds added by jumps
        self._last = 0.0  # elapsed simulated seconds at the last read
        # the last reading, kept while neither the loop time nor the jumps move (many reads
        # share one loop step): (loop time, offset), the UTC time and its ET conversion
        self._read_loop = float("-inf")
        self._read_offset = 0.0
        self._read: datetime = self._start
        self._read_et: datetime | None = None

    @property
    def speed(self) -> float:
        """Simulated seconds per loop second."""
        return self._speed

    def _elapsed(self) -> float:
        loop_time = asyncio.get_running_loop().time()
        if self._t0 is None:
            self._t0 = loop_time
        return (loop_time - self._t0) * self._speed + self._offset

    def now(self) -> datetime:
        try:
            loop_time = asyncio.get_running_loop().time()
        except RuntimeError:  # no running loop: not started yet, or the run is over
            return self._start + timedelta(seconds=max(self._last, self._offset))
        if loop_time == self._read_loop and self._offset == self._read_offset:
            return self._read
        if self._t0 is None:
            self._t0 = loop_time
        self._last = (loop_time - self._t0) * self._speed + self._offset
        self._read_loop, self._read_offset, self._read_et = loop_time, self._offset, None
        self._read = self._start + timedelta(seconds=self._last)
        return self._read

    def now_et(self) -> datetime:
        read = self.now()
        if read is not self._read:  # read with no running loop: not cached
            return read.astimezone(ET)
        if self._read_et is None:
            self._read_et = read.astimezone(ET)
        return self._read_et

    async def sleep(self, seconds: float) -> None:
        if self._t0 is None:
            self._elapsed()  # a sleep before the first read still counts from here
        await asyncio.sleep(max(seconds, 0.0) / self._speed)

    def sleeper(self, seconds: float) -> asyncio.Future[None]:
        """:meth:`sleep` as a timed future: the same loop timer, no task around it."""
        if seconds <= 0:  # asyncio.sleep(0) yields once with no timer: keep that
            return super().sleeper(seconds)
        if self._t0 is None:
            self._elapsed()  # as in sleep
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds / self._speed, _wake, done)
        done.add_done_callback(lambda _: timer.cancel())
        return done

    async def hibernate_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay <= 0:
            return
        if self.jump_idle:
            self._offset += delay
            await asyncio.sleep(0)
        else:
            await self.sleep(delay)

    def loop_seconds(self, seconds: float) -> float:
        return seconds / self._speed


def _wake(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


class BrokerClock(Clock):
    """Follows the broker's clock: ``speed`` broker seconds pass per loop second (1 for real IB;
    the loopback gateway's ``--speed`` when rehearsing), re-aligned on every :meth:`sync`.
    Before the first sync it reads as the wall clock."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._speed = speed
        self._anchor: tuple[datetime, float] | None = None

    def now(self) -> datetime:
        if self._anchor is None:
            return LiveClock().now()
        at, loop_t = self._anchor
        try:
            loop_now = asyncio.get_running_loop().time()
        except RuntimeError:
            return at
        return at + timedelta(seconds=(loop_now - loop_t) * self._speed)

    async def sync(self, source: Callable[[], Awaitable[datetime]]) -> None:
        """Ask the broker for its time and re-anchor (the broker reports whole seconds, so the
        anchor only moves when it is off by more than a second)."""
        before = asyncio.get_running_loop().time()
        stamp = await source()
        after = asyncio.get_running_loop().time()
        loop_t = (before + after) / 2
        if self._anchor is None or abs((self.now() - stamp).total_seconds()) > 1.0 * self._speed:
            self._anchor = (stamp.astimezone(UTC), loop_t)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self._speed)

    def loop_seconds(self, seconds: float) -> float:
        return seconds / self._speed
