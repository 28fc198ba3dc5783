"""What one control-socket client may cost the engine, and the helpers that hold it to that.

:class:`Limits` gathers the bounds (connections, bytes waiting, requests a second, how long a
write may wait for the client to read). :class:`RequestBudget` is a token bucket on loop time;
:class:`SnapshotCache` serialises the engine's snapshot once per event seq, however many
clients ask; :func:`raise_nofile` lifts the soft limit of open files to the hard one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
from collections.abc import Callable
from dataclasses import dataclass

from loguru import logger

from condordesk.engine import api

FD_HEADROOM = 128
"""Open files kept free beside the control clients (journal, broker, logs, the listener)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of the control socket (all times are event-loop seconds).

    Attributes:
        max_clients: Clients served in full (consoles: snapshot, events, history, commands).
        reserved: Further slots, beyond ``max_clients``, for command-only connections
            (``ctl``): the operator's command gets through whatever holds the full slots. When
            they are taken too, the oldest idle one is closed for the newcomer.
        command_idle_s: A command-only connection is closed after this long with nothing
            in flight.
        max_buffered: Bytes that may wait for one client (its queue plus the socket's
            buffer). A client whose replies alone exceed it is disconnected; beyond half of it
            the engine stops reading the client's requests until it reads.
        write_timeout_s: A write the client does not take within this long disconnects it
            (a client that does not read).
        rate: Requests a second one client may make (sustained) ...
        burst: ... and at once; beyond, its requests wait unread.
    """

    max_clients: int = 64
    reserved: int = 8
    command_idle_s: float = 5.0
    max_buffered: int = 8 << 20
    write_timeout_s: float = 30.0
    rate: float = 20.0
    burst: int = 40


class RequestBudget:
    """A token bucket on the loop's clock: :meth:`take` waits for a token."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at: float | None = None
        self.waited = 0  # requests that had to wait

    async def take(self) -> None:
        """Spend a token, waiting (loop time) for one if the bucket is empty."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._at is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            self.waited += 1
            await asyncio.sleep((1.0 - self._tokens) / self._rate)
            self._tokens, self._at = 1.0, loop.time()
        self._tokens -= 1.0


class SnapshotCache:
    """The engine's snapshot as wire JSON, built at most once per event seq (and refreshed
    after ``max_age_s`` of loop time even without a new event): a thousand clients asking
    for it cost one serialisation.

    Args:
        snapshot: Builds the snapshot (the handle's ``snapshot``).
        seq: The engine's current event seq, or None if it cannot be known cheaply.
        max_age_s: Longest a cached snapshot is served (loop seconds).
    """

    def __init__(
        self,
        snapshot: Callable[[], api.Snapshot],
        seq: Callable[[], int | None],
        max_age_s: float = 1.0,
    ) -> None:
        self._snapshot = snapshot
        self._seq = seq
        self._max_age_s = max_age_s
        self._key: int | None = None
        self._at = float("-inf")
        self._data = b""
        self.built = 0

    def json(self) -> bytes:
        """The current snapshot, serialised (``to_wire`` then compact JSON)."""
        now = asyncio.get_running_loop().time()
        seq = self._seq()
        if seq is None or seq != self._key or now - self._at > self._max_age_s or not self._data:
            snap = self._snapshot()
            self._data = json.dumps(api.to_wire(snap), separators=(",", ":")).encode()
            self._key, self._at = snap.seq, now
            self.built += 1
        return self._data


def raise_nofile() -> int:
    """Lift the soft limit of open files to the hard limit (if it is lower); the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            logger.warning("control: could not raise the open-files limit {}: {}", soft, exc)
            return soft
        logger.info("control: open-files limit raised from {} to {}", soft, target)
        return target
    return soft


def fit_to_nofile(limits: Limits, nofile: int) -> Limits:
    """``limits`` with fewer clients if the open-files limit cannot hold them all."""
    room = nofile - FD_HEADROOM
    if limits.max_clients + limits.reserved <= room:
        return limits
    reserved = max(1, min(limits.reserved, room // 4))
    clients = max(1, room - reserved)
    logger.warning(
        "control: only {} open files: serving at most {} clients (+{} for commands)",
        nofile,
        clients,
        reserved,
    )
    return dataclasses.replace(limits, max_clients=clients, reserved=reserved)
