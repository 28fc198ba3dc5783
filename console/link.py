"""The engine link: an asyncio task (running in Qt's loop through qasync) that enters
``open_handle()``, takes a snapshot, follows ``events(since=snapshot.seq)`` and hands each event
to the window. An attached engine that is lost is reconnected with a bounded backoff and
resynced; an embedded engine that stopped is reported stopped, never restarted behind the
operator's back."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence

from condordesk.engine import api

OpenHandle = Callable[[], contextlib.AbstractAsyncContextManager[api.EngineHandle]]
Sleep = Callable[[float], Awaitable[None]]
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
"""Backoff between attempts to reach a lost engine (the last one repeats)."""


class EngineLink:
    """Holds the console's connection to the engine.

    Args:
        open_handle: entered to reach the engine (an embedded one starts, an attached one is
            connected); left to let go of it.
        attached: an attached engine is reconnected after a loss; an embedded one is not.
        on_event: receives every event (the first is a ``Resync`` with the snapshot).
        on_link: receives ``(state, detail, attempt)``: ``live``, ``lost``, ``connecting`` or
            ``stopped``.
        sleep: how the link waits between attempts (tests inject their own).
        retry_delays: the backoff; the last one repeats.
    """

    def __init__(
        self,
        open_handle: OpenHandle,
        *,
        attached: bool,
        on_event: Callable[[api.Event], None],
        on_link: Callable[[str, str, int], None],
        sleep: Sleep,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._open_handle = open_handle
        self._attached = attached
        self._on_event = on_event
        self._on_link = on_link
        self._sleep = sleep
        self._delays = tuple(retry_delays) or RETRY_DELAYS
        self.handle: api.EngineHandle | None = None

    async def run(self) -> None:
        """Follow the engine until cancelled (or, embedded, until it stops)."""
        attempt = 0
        while True:
            try:
                async with self._open_handle() as handle:
                    attempt = 0
                    await self._follow(handle)
                reason = "the engine ended its event stream"
            except api.EngineUnavailable as exc:
                reason = str(exc) or "engine unavailable"
            except Exception as exc:  # a broken link must not take the console down
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self.handle = None
            if not self._attached:
                self._on_link("stopped", reason, 0)
                return
            attempt += 1
            self._on_link("lost", reason, attempt)
            await self._sleep(self._delays[min(attempt, len(self._delays)) - 1])
            self._on_link("connecting", reason, attempt)

    async def _follow(self, handle: api.EngineHandle) -> None:
        snap = handle.snapshot()
        self.handle = handle
        self._on_event(api.Resync(seq=snap.seq, ts=snap.ts, snapshot=snap))
        self._on_link("live", "", 0)
        async for event in handle.events(since=snap.seq):
            self._on_event(event)
