"""The engine's side of the control channel: one listening socket, one task pair per client.

What one client may cost is bounded (:class:`~condordesk.engine.control.limits.Limits`): a
cap on connections (beyond it, a few command-only slots so ``ctl`` always gets through, then
a clear refusal), bytes waiting per client (its queue plus the socket's buffer; snapshots
count), requests a second, and how long a write may wait for the client to read. The snapshot
is serialised once per event seq for every client and request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
from pathlib import Path

from loguru import logger

from condordesk.config import paths
from condordesk.engine import api
from condordesk.engine.control.connection import FLUSH_S, Connection
from condordesk.engine.control.limits import (
    Limits,
    SnapshotCache,
    fit_to_nofile,
    raise_nofile,
)
from condordesk.engine.control.wire import (
    MAX_QUEUED,
    ControlError,
    answers,
    frame,
    peer_allowed,
    peer_credentials,
    reachable,
    socket_path,
)
from condordesk.ops.runlock import EngineLock, engine_running

_REQUEST_LIMIT = 1 << 16  # longest request line the engine reads (a command is < 1 kB)
_BACKLOG = 128


def _clear_stale(path: Path) -> None:
    """Remove a socket file left by a dead engine; refuse anything else in the way."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ControlError(f"{path} exists and is not a socket: not removing it; move it away")
    if st.st_uid != os.getuid():
        raise ControlError(f"{path} belongs to uid {st.st_uid}: not removing it")
    if answers(path):
        raise ControlError(f"another engine answers at {path}")
    path.unlink()
    logger.info("removed a stale control socket {}", path)


def _bind(path: Path) -> socket.socket:
    """A listening socket at ``path`` that is mode 0600 before anyone can connect: bound under a
    temporary name, chmod-ed, renamed into place, and only then listening."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with reachable(tmp) as name:
            sock.bind(name)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return sock


class ControlServer:
    """Serves an engine handle on the profile's control socket while the engine runs.

    Use as an async context manager, or :meth:`start` then :meth:`close`.

    Args:
        handle: the engine (anything implementing :class:`~condordesk.engine.api.EngineHandle`).
        profile_name: names the socket and is sent in the hello.
        lock: the engine lock of the profile, held by the caller: a stale socket file is only
            ever removed under it.
        path: the socket path (default :func:`~condordesk.engine.control.socket_path`).
        max_queued: frames a connection may have waiting before its streams are resynced.
        allowed_uid: the only uid allowed to connect (default: this process's).
        limits: what one client may cost (connections, bytes, requests, write deadline).
    """

    def __init__(
        self,
        handle: api.EngineHandle,
        profile_name: str,
        *,
        lock: EngineLock,
        path: Path | None = None,
        max_queued: int = MAX_QUEUED,
        allowed_uid: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.handle = handle
        self.profile_name = profile_name
        self.path = path or socket_path(profile_name)
        self.max_queued = max_queued
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.limits = limits or Limits()
        self.resyncs = 0
        """Times a connection fell behind and was resynced."""
        self.refused = 0
        """Connections refused or closed because there were too many."""
        self.dropped = 0
        """Clients disconnected because they did not read (a write deadline or the byte cap)."""
        self.peak_buffered = 0
        """The most bytes that ever waited for one client (its queue plus the socket's)."""
        self.snapshots = SnapshotCache(handle.snapshot, lambda: _seq_of(handle))
        self._lock = lock
        self._server: asyncio.AbstractServer | None = None
        self._inode: tuple[int, int] | None = None
        self._conns: set[Connection] = set()
        self._full: set[Connection] = set()
        self._commands: list[Connection] = []  # command-only, oldest first
        self._submits: set[asyncio.Task[None]] = set()

    @property
    def connections(self) -> int:
        """Clients attached now (with those being refused)."""
        return len(self._conns)

    @property
    def served(self) -> tuple[int, int]:
        """Clients in full slots, and in command-only slots."""
        return len(self._full), len(self._commands)

    async def start(self) -> None:
        """Listen, removing a stale socket file first.

        Raises:
            ControlError: the engine lock is not held, something that is not a stale socket
                of ours is in the way, or another engine answers at the path.
        """
        if not engine_running(self.profile_name):
            raise ControlError(f"the engine lock of profile {self.profile_name} is not held")
        paths.ensure(self.path.parent)
        self.limits = fit_to_nofile(self.limits, raise_nofile())
        _clear_stale(self.path)
        sock = _bind(self.path)
        st = os.stat(self.path)
        self._inode = (st.st_dev, st.st_ino)
        self._server = await asyncio.start_unix_server(
            self._on_connect, sock=sock, limit=_REQUEST_LIMIT
        )
        logger.info("control socket listening at {}", self.path)

    async def close(self, reason: str = "the engine stopped") -> None:
        """Stop listening, let in-flight commands finish, give clients a moment to take what
        is queued for them, tell them ``reason``, disconnect them and remove the socket file
        (if it is still this server's)."""
        if self._server is not None:
            self._server.close()
        if self._submits:  # never cut a command in half (a stop cancelled but not re-placed)
            await asyncio.gather(*self._submits, return_exceptions=True)
        conns = list(self._conns)
        for conn in conns:
            conn.stop_streams()
            conn.reply({"bye": reason})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_S):
                await asyncio.gather(*(c.flushed() for c in conns), return_exceptions=True)
        for conn in conns:
            conn.abort()
        await asyncio.gather(*(c.done for c in conns), return_exceptions=True)
        self._remove_socket()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
            logger.info("control socket closed")

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _remove_socket(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if (st.st_dev, st.st_ino) == self._inode:  # never remove a later engine's socket
            self.path.unlink()

    def track_submit(self, task: asyncio.Task[None]) -> None:
        """Keep a command in flight referenced until it is done (and waited for at close)."""
        self._submits.add(task)
        task.add_done_callback(self._submits.discard)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cred = peer_credentials(writer.get_extra_info("socket"))
        if cred is None or not peer_allowed(cred, self.allowed_uid):
            logger.warning("control: refused a connection from {} (not uid {})", cred, os.getuid())
            writer.write(frame({"refused": f"only uid {self.allowed_uid} may attach"}))
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()
            return
        commands_only = self._admit()
        if commands_only is None:
            self._refuse(writer)
            return
        conn = Connection(self, reader, writer, cred.pid, commands_only=commands_only)
        self._conns.add(conn)
        (self._commands.append if commands_only else self._full.add)(conn)
        try:
            await conn.run()
        finally:
            self._conns.discard(conn)
            self._full.discard(conn)
            with contextlib.suppress(ValueError):
                self._commands.remove(conn)

    def busy_message(self) -> str:
        """Why a connection is refused or limited (the cap)."""
        return (
            f"too many connections to the engine ({len(self._full)} attached, the cap is "
            f"{self.limits.max_clients}): only short command connections (ctl) are served "
            "now; close a console or find the process holding them"
        )

    def _admit(self) -> bool | None:
        """False: a full slot; True: a command-only slot; None: refuse."""
        if len(self._full) < self.limits.max_clients:
            return False
        if len(self._commands) >= self.limits.reserved:
            idle = next((c for c in self._commands if not c.pending), None)
            if idle is not None:  # the oldest idle one makes way for the newcomer
                self._commands.remove(idle)
                self.refused += 1
                if idle.buffered():  # it does not even read its hello: no goodbye either
                    idle.abort()
                else:
                    idle.refuse(self.busy_message())
        return True if len(self._commands) < self.limits.reserved else None

    def _refuse(self, writer: asyncio.StreamWriter) -> None:
        """Refuse at once, without waiting on the client: the descriptor is freed now."""
        self.refused += 1
        if self.refused % 1000 == 1:
            logger.warning("control: {} ({} refused so far)", self.busy_message(), self.refused)
        writer.write(frame({"refused": self.busy_message()}))  # fits the socket's buffer
        writer.close()

    def note_buffered(self, size: int) -> None:
        """Record what waits for one client (the peak is a figure for benchmarks and tests)."""
        self.peak_buffered = max(self.peak_buffered, size)


def _seq_of(handle: api.EngineHandle) -> int | None:
    """The engine's event seq, if the handle shows it cheaply (the engine's bus)."""
    seq = getattr(getattr(handle, "bus", None), "seq", None)
    return seq if type(seq) is int else None
