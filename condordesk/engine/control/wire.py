"""What both ends of the control channel share: the socket's path and address, peer
credentials, frames, the bounded coalescing queue, and command validation."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import os
import socket
import struct
import types
import typing
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, Literal, NamedTuple, TypeVar, Union

from condordesk.config import paths
from condordesk.engine import api
from condordesk.errors import CondordeskError

PROTOCOL = 2
"""Version of the wire protocol, sent in the hello; a client refuses any other."""

MAX_QUEUED = 1000
"""Frames one side may have waiting for the other before its event streams are resynced."""

CONNECT_TIMEOUT_S = 2.0
"""How long a client waits for the engine's hello (event-loop seconds)."""

FRONTEND_ORIGINS = frozenset({"tui", "gui", "cli", "telegram", "test"})
"""Origins a command arriving over the socket may carry."""

_SUN_PATH_MAX = 107  # AF_UNIX path bytes (Linux: 108 with the terminating NUL)

T = TypeVar("T")


class ControlError(CondordeskError):
    """The control socket cannot be served (a file in the way, another engine answering, the
    engine lock not held)."""


class PeerCred(NamedTuple):
    """The credentials of the process at the other end of a Unix socket."""

    pid: int
    uid: int
    gid: int


def socket_path(profile_name: str) -> Path:
    """Where the engine of ``profile_name`` listens: ``runtime_dir()/engine-<profile>.sock``."""
    return paths.runtime_dir() / f"engine-{profile_name}.sock"


def peer_credentials(sock: Any) -> PeerCred | None:
    """The peer's pid, uid and gid (``SO_PEERCRED``), or None where the OS has no such option."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    return PeerCred(*struct.unpack("3i", raw))


def peer_allowed(cred: PeerCred | None, own_uid: int) -> bool:
    """Only the engine's own user may connect; unknown credentials are refused."""
    return cred is not None and cred.uid == own_uid


@contextlib.contextmanager
def reachable(path: Path) -> Iterator[str]:
    """A name for ``path`` that fits an AF_UNIX address: the path itself, or, when it is longer
    than 107 bytes, ``/proc/self/fd/N/<name>`` through a descriptor of its directory (Linux).
    The name is valid inside the ``with`` block only."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def answers(path: Path) -> bool:
    """True if something accepts connections at ``path`` (a non-blocking probe)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)
        try:
            with reachable(path) as name:
                err = probe.connect_ex(name)
        except OSError:
            return False
    return err in (0, errno.EAGAIN)  # connected, or a listener whose backlog is full


def frame(msg: dict[str, Any]) -> bytes:
    """One newline-terminated JSON frame."""
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


# --------------------------------------------------------------------------- the queue


class _Slot(Generic[T]):
    __slots__ = ("droppable", "item", "key", "live")

    def __init__(self, item: T, key: Hashable | None, droppable: bool) -> None:
        self.item = item
        self.key = key
        self.droppable = droppable
        self.live = True


class Mailbox(Generic[T]):
    """A FIFO whose owner bounds it (``len`` is what is waiting, :attr:`weight` what it
    weighs by ``weigh``, e.g. bytes). An item put with a ``key`` replaces the unsent item of
    the same key, moving to the back so the order of seqs holds (marks coalesce);
    :meth:`drop_droppable` empties it of everything but replies."""

    def __init__(self, weigh: Callable[[T], int] | None = None) -> None:
        self._slots: deque[_Slot[T]] = deque()
        self._keyed: dict[Hashable, _Slot[T]] = {}
        self._live = 0
        self._weigh = weigh
        self.weight = 0
        """What the waiting items weigh (0 without ``weigh``)."""
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        return self._live

    def _w(self, item: T) -> int:
        return self._weigh(item) if self._weigh is not None else 0

    def put(self, item: T, key: Hashable | None = None, *, droppable: bool = True) -> None:
        """Append ``item`` (replacing the unsent one of the same ``key``)."""
        if key is not None:
            old = self._keyed.get(key)
            if old is not None and old.live:
                old.live = False
                self._live -= 1
                self.weight -= self._w(old.item)
        slot = _Slot(item, key, droppable)
        self._slots.append(slot)
        if key is not None:
            self._keyed[key] = slot
        self._live += 1
        self.weight += self._w(item)
        self._wakeup.set()

    def pop(self) -> T | None:
        """The oldest waiting item, or None."""
        while self._slots:
            slot = self._slots.popleft()
            if slot.key is not None and self._keyed.get(slot.key) is slot:
                del self._keyed[slot.key]
            if slot.live:
                self._live -= 1
                self.weight -= self._w(slot.item)
                return slot.item
        return None

    def drop_droppable(self) -> int:
        """Forget every droppable item; returns how many."""
        kept = deque(s for s in self._slots if s.live and not s.droppable)
        dropped = self._live - len(kept)
        self._slots, self._keyed, self._live = kept, {}, len(kept)
        self.weight = sum(self._w(s.item) for s in kept)
        return dropped

    def wake(self) -> None:
        """Wake a waiter even though nothing was put (the connection was lost)."""
        self._wakeup.set()

    async def wait(self) -> None:
        """Return when something is waiting or :meth:`wake` was called."""
        if self._live:
            return
        self._wakeup.clear()
        await self._wakeup.wait()


# ----------------------------------------------------------------------- commands


_HINTS: dict[str, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls.__name__ not in _HINTS:
        _HINTS[cls.__name__] = typing.get_type_hints(cls)
    return _HINTS[cls.__name__]


def _conforms(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return not isinstance(hint, type) or isinstance(value, hint)


def valid_command(command: object) -> str | None:
    """What is wrong with a command decoded from the wire, or None.

    A command must be one of the api's, from a front-end origin, with every field of its
    declared type (a trigger is a finite Decimal, a condor id a string).
    """
    if not isinstance(command, api.Command):
        return f"malformed command: a {type(command).__name__} is not a command"
    if command.origin not in FRONTEND_ORIGINS:
        return f"malformed command: origin {command.origin!r} is not a front-end"
    hints = _hints(type(command))
    for f in dataclasses.fields(command):
        value = getattr(command, f.name)
        if not _conforms(value, hints[f.name]):
            return f"malformed command: {type(command).__name__}.{f.name} = {value!r}"
    return None
