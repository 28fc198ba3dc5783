"""Waiting without sleeps: await a condition (bounded in real seconds), or record a broker's
event stream in the background and look at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from ib_async import IB

from condordesk.broker.base import BrokerEvent

E = TypeVar("E")

REAL_TIMEOUT = 10.0


async def eventually(cond: Callable[[], bool], within: float = REAL_TIMEOUT) -> None:
    """Await ``cond()`` becoming true (no fixed sleeps; bounded in real seconds)."""
    async with asyncio.timeout(within):
        while not cond():  # noqa: ASYNC110 - polling a plain predicate, nothing to wait on
            await asyncio.sleep(0.005)


async def wait_for(ib: IB, cond: Callable[[], bool], within: float = 5.0) -> None:
    """Await ``cond()`` becoming true, re-checked after every packet ib_async handles."""
    if cond():
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check(*_: object) -> None:
        if not done.done() and cond():
            done.set_result(None)

    ib.updateEvent += check
    try:
        await asyncio.wait_for(done, within)
    finally:
        ib.updateEvent -= check


class Recorder:
    """Collects one event stream in the background."""

    def __init__(self, stream: AsyncIterator[BrokerEvent]) -> None:
        self.events: list[BrokerEvent] = []
        self._task = asyncio.ensure_future(self._run(stream))

    async def _run(self, stream: AsyncIterator[BrokerEvent]) -> None:
        async for event in stream:
            self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """The events of type ``kind`` so far, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.events.clear()

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
