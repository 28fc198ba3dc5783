"""An asyncio event loop whose time jumps to the next timer when nothing is ready.

Used for ``--speed max`` and for tests: the whole engine runs unchanged, but a 30-second
``sleep`` costs nothing once every task waits. I/O still works: the selector is polled
without blocking, and real blocking happens only when no timer is scheduled at all.

Technique (same as the ``looptime`` project, written here): ``BaseEventLoop`` asks its
selector to wait for the gap until the next timer; we poll instead and add the gap to
the loop's clock.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

T = TypeVar("T")
SPIN_LIMIT = 10_000
"""Loop iterations without waiting after which virtual time is nudged (see ``select``)."""
POLL_EVERY = 64
"""With only the loop's own wake-up pipe registered, iterations with ready callbacks poll it
once in this many (every jump of time polls)."""


class _JumpingSelector:
    """Wraps a selector: a wait with a timeout becomes a poll plus a jump of loop time."""

    def __init__(self, inner: selectors.BaseSelector, loop: VirtualTimeEventLoop) -> None:
        self._inner = inner
        self._loop = loop
        self._spins = 0
        self._unpolled = 0  # ready-callback iterations since the last poll (see _skip_poll)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # nothing scheduled: block for real (signals, I/O)
            return self._inner.select(None)
        events = [] if timeout == 0 and self._skip_poll() else self._inner.select(0)
        if events:
            self._spins = 0
        elif timeout > 0:
            self._spins = 0
            self._loop.advance(timeout)
        else:
            # A timer re-armed at the current instant forever (a throttle comparing "now >
            # deadline" would) never lets virtual time move: after a long run of iterations
            # without waiting, nudge the clock by a millisecond.
            self._spins += 1
            if self._spins >= SPIN_LIMIT:
                self._spins = 0
                self._loop.advance(0.001)
        return events

    def _skip_poll(self) -> bool:
        """True when a poll may be left out: callbacks are ready (no time passes) and nothing
        but the loop's own wake-up pipe is registered, whose only news (a signal, a callback
        from another thread) can wait a few iterations; one in :data:`POLL_EVERY` still polls,
        and so does every jump of time."""
        if len(self._inner.get_map()) > 1:
            return False
        self._unpolled += 1
        if self._unpolled < POLL_EVERY:
            return True
        self._unpolled = 0
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual and jumps over idle waits."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0
        inner = cast(selectors.BaseSelector, self.__dict__["_selector"])
        self._selector = _JumpingSelector(inner, self)

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move loop time forward (only the loop itself should call this)."""
        self._virtual_now += seconds


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a :class:`VirtualTimeEventLoop`."""
    with asyncio.Runner(loop_factory=VirtualTimeEventLoop) as runner:
        return runner.run(main)
