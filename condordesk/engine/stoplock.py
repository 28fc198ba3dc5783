"""The stop lock: one per engine (``Desk.stop_lock`` is ``Engine.stop_lock``), held by every
stop placement, move, re-arm and cancel and by every reconciliation, so none of them sees
another half done. Re-entrant for the task holding it: a command that holds it arms stops, a
reconciliation that holds it re-arms them, without deadlocking on itself."""

from __future__ import annotations

import asyncio
from types import TracebackType


class StopLock:
    """An asyncio lock the task holding it may take again (a command holding it arms stops,
    a reconciliation holding it re-arms them): every stop placement goes through it, and a
    nested placement in the same task never deadlocks."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    def locked(self) -> bool:
        """True while some task holds the lock."""
        return self._lock.locked()

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()
