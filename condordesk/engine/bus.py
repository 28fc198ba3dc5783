"""The event bus: numbers events, journals them, and fans them out without ever blocking.

Each subscriber has a bounded queue. Transient events (marks) replace the subscriber's
previous undelivered event of the same kind and condor instead of queueing; a subscriber
whose queue is full of lifecycle events is dropped back to a :class:`Resync` carrying a
fresh snapshot, so a slow console can never stall the engine.

Delivery never depends on the journal: an event whose journal write fails still reaches the
listeners (the alert router, the summary) and the subscribers, and the journal writes it when
its disk takes writes again (:meth:`~condordesk.store.journal.Journal.flush`). A listener
that raises is logged and skipped; the others and the publisher carry on.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from loguru import logger

from condordesk.engine.api import Event, Resync, Snapshot, event_kind, from_wire, to_wire
from condordesk.errors import JournalError
from condordesk.market.clock import Clock
from condordesk.store.journal import Journal

SnapshotFn = Callable[[], Snapshot]


class _Subscriber:
    def __init__(self, capacity: int) -> None:
        self.queue: deque[Event] = deque()
        self.capacity = capacity
        self.wakeup = asyncio.Event()
        self.needs_resync = False

    def offer(self, event: Event) -> None:
        if self.needs_resync:
            return
        if event.transient:
            key = (type(event), getattr(event, "condor_id", None))
            for i, queued in enumerate(self.queue):
                if (type(queued), getattr(queued, "condor_id", None)) == key:
                    del self.queue[i]
                    break
        if len(self.queue) >= self.capacity:
            self.queue.clear()
            self.needs_resync = True
        else:
            self.queue.append(event)
        self.wakeup.set()


class EventBus:
    """Publishes engine events: assigns ``seq``/``ts``, journals, delivers to subscribers."""

    def __init__(
        self, clock: Clock, journal: Journal, snapshot: SnapshotFn, capacity: int = 2000
    ) -> None:
        self._clock = clock
        self._journal = journal
        self._snapshot = snapshot
        self._capacity = capacity
        self._subscribers: list[_Subscriber] = []
        self._listeners: list[Callable[[Event], None]] = []
        self.seq = journal.last_event_seq()

    @property
    def watched(self) -> bool:
        """True while at least one subscriber (a console, a control client) is attached."""
        return bool(self._subscribers)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` synchronously for every event (summaries, logging)."""
        self._listeners.append(listener)

    def publish(self, event: Event) -> Event:
        """Stamp, journal (unless transient) and deliver ``event``; returns the stamped copy."""
        self.seq += 1
        stamped = dataclasses.replace(event, seq=self.seq, ts=self._clock.now())
        if not stamped.transient:
            payload: dict[str, Any] = to_wire(stamped)
            try:  # queued by the journal when its disk refuses it; raises only when full
                self._journal.append_event(
                    stamped.seq, stamped.ts or self._clock.now(), event_kind(stamped), payload
                )
            except JournalError as exc:
                logger.error("event {} not journaled: {}", stamped.seq, exc)
        for listener in self._listeners:
            try:
                listener(stamped)
            except Exception as exc:  # one broken listener never stops the others, nor us
                logger.opt(exception=exc).error(
                    "event listener {!r} failed on {}", listener, type(stamped).__name__
                )
        for sub in self._subscribers:
            sub.offer(stamped)
        return stamped

    async def subscribe(self, since: int = 0) -> AsyncIterator[Event]:
        """Events with ``seq > since``: journaled history first, then live events."""
        sub = _Subscriber(self._capacity)
        self._subscribers.append(sub)
        try:
            last = since
            if since < self.seq:
                for seq, _ts, _kind, payload in self._journal.events(
                    since=since, limit=self._capacity
                ):
                    last = seq
                    yield from_wire(payload)
                if last < self.seq and self.seq - last > self._capacity:
                    sub.needs_resync = True
            while True:
                if sub.needs_resync:
                    sub.needs_resync = False
                    snap = self._snapshot()
                    last = snap.seq
                    yield Resync(seq=snap.seq, ts=snap.ts, snapshot=snap)
                while sub.queue:
                    event = sub.queue.popleft()
                    if event.seq > last:
                        last = event.seq
                        yield event
                sub.wakeup.clear()
                await sub.wakeup.wait()
        finally:
            self._subscribers.remove(sub)
            logger.debug("event subscriber left")
