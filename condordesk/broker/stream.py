"""Fan-out of broker events for every adapter: each subscriber gets its own unbounded queue."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

from condordesk.broker.base import BrokerEvent


class EventStream(AsyncIterator[BrokerEvent]):
    """One subscriber's events, in emission order; ends when the hub closes.

    A stream that nobody references any more is dropped from its hub automatically.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        self._ended = False

    def put(self, event: BrokerEvent | None) -> None:
        """Queue ``event`` (None ends the stream)."""
        self._queue.put_nowait(event)

    def pending(self) -> int:
        """Events queued and not yet consumed."""
        return self._queue.qsize()

    def drain(self) -> list[BrokerEvent]:
        """Take every queued event now, without waiting (the end marker stays queued)."""
        out: list[BrokerEvent] = []
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is None:
                self._queue.put_nowait(None)
                break
            out.append(event)
        return out

    async def __anext__(self) -> BrokerEvent:
        if self._ended:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._ended = True
            raise StopAsyncIteration
        return event


class EventHub:
    """Subscriptions and publication."""

    def __init__(self) -> None:
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._closed = False

    def subscribe(self) -> EventStream:
        """A new stream receiving every event published from now on."""
        stream = EventStream()
        if self._closed:
            stream.put(None)
        else:
            self._streams.add(stream)
        return stream

    def publish(self, event: BrokerEvent) -> None:
        """Deliver ``event`` to every live stream."""
        for stream in list(self._streams):
            stream.put(event)

    def close(self) -> None:
        """End every stream (and every later subscription)."""
        self._closed = True
        for stream in list(self._streams):
            stream.put(None)
        self._streams = weakref.WeakSet()
