"""The engine's side of the control channel: one listening socket, one task pair per client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import Any

from loguru import logger

from condordesk.config import paths
from condordesk.engine import api
from condordesk.engine.control.wire import (
    MAX_QUEUED,
    PROTOCOL,
    ControlError,
    Mailbox,
    answers,
    frame,
    peer_allowed,
    peer_credentials,
    reachable,
    socket_path,
    valid_command,
)
from condordesk.runlock import EngineLock, engine_running

_REQUEST_LIMIT = 1 << 20  # longest request line the engine reads
_FLUSH_S = 1.0  # at close, how long clients get to take what is queued for them


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
        sock.listen(16)
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
    ) -> None:
        self.handle = handle
        self.profile_name = profile_name
        self.path = path or socket_path(profile_name)
        self.max_queued = max_queued
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.resyncs = 0
        """Times a connection fell behind and was resynced."""
        self._lock = lock
        self._server: asyncio.AbstractServer | None = None
        self._inode: tuple[int, int] | None = None
        self._conns: set[_Connection] = set()
        self._submits: set[asyncio.Task[None]] = set()

    @property
    def connections(self) -> int:
        """Clients attached now."""
        return len(self._conns)

    async def start(self) -> None:
        """Listen, removing a stale socket file first.

        Raises:
            ControlError: the engine lock is not held, something that is not a stale socket
                of ours is in the way, or another engine answers at the path.
        """
        if not engine_running(self.profile_name):
            raise ControlError(f"the engine lock of profile {self.profile_name} is not held")
        paths.ensure(self.path.parent)
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
            async with asyncio.timeout(_FLUSH_S):
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
        conn = _Connection(self, reader, writer, cred.pid)
        self._conns.add(conn)
        try:
            await conn.run()
        finally:
            self._conns.discard(conn)


class _Connection:
    """One attached client: a reader loop, a sender task and the event streams it asked for."""

    def __init__(
        self,
        server: ControlServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pid: int,
    ) -> None:
        self.server = server
        self.handle = server.handle
        self.reader = reader
        self.writer = writer
        self.pid = pid
        self.outbox: Mailbox[bytes] = Mailbox()
        self.streams: dict[int, asyncio.Task[None]] = {}
        self.floors: dict[int, int] = {}  # per stream: nothing at or before this seq is sent
        self.pending: set[asyncio.Task[None]] = set()  # commands and history requests in flight
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle = False  # the sender waits with nothing queued: all was handed over
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._encoded: tuple[api.Event | None, bytes] = (None, b"")
        self._dead = False

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name=f"control-send-{self.pid}")
        try:
            hello = {"protocol": PROTOCOL, "profile": self.server.profile_name, "pid": os.getpid()}
            snap = api.to_wire(self.handle.snapshot())
            self.reply({"hello": {**hello, "snapshot": snap}})
            logger.info("control: client pid {} attached", self.pid)
            if await self._read_loop():
                await self._answer_then_close()
        except (ConnectionError, OSError) as exc:
            logger.info("control: client pid {} gone ({})", self.pid, exc)
        except Exception as exc:  # one bad client never takes the engine down
            logger.opt(exception=exc).error("control: client pid {} dropped", self.pid)
        finally:
            self.stop_streams()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            self.abort()
            if not self.done.done():
                self.done.set_result(None)
            logger.info("control: client pid {} detached", self.pid)

    async def _read_loop(self) -> bool:
        """Serve requests; True at a clean end of input, False when the client was dropped."""
        while not self._dead:
            try:
                line = await self.reader.readline()
            except ValueError:  # longer than the request limit
                logger.warning("control: client pid {} sent an oversized frame: dropped", self.pid)
                return False
            if not line:
                return True
            problem = self._dispatch(line)
            if problem:
                logger.warning("control: client pid {} dropped: {}", self.pid, problem)
                return False
        return False

    async def _answer_then_close(self) -> None:
        """The client is done sending (a script may write its requests and shut its side):
        answer what is in flight and flush, briefly, before closing."""
        self.stop_streams()
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_FLUSH_S):
                await self.flushed()

    def _spawn(self, request: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(request)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        self.server.track_submit(task)

    def _dispatch(self, line: bytes) -> str | None:
        """Handle one request; returns what was wrong with it (the client is then dropped)."""
        try:
            msg = json.loads(line)
        except ValueError:
            return f"not JSON: {line[:80]!r}"
        if not isinstance(msg, dict) or type(msg.get("id")) is not int:
            return f"not a request: {line[:80]!r}"
        rid, op = msg["id"], msg.get("op")
        if op == "snapshot":
            self.reply({"id": rid, "snapshot": api.to_wire(self.handle.snapshot())})
        elif op == "events":
            since = msg.get("since", 0)
            if type(since) is not int or since < 0 or rid in self.streams:
                return f"bad events request: {line[:80]!r}"
            self.floors[rid] = since
            self.streams[rid] = asyncio.create_task(self._pump(rid, since))
        elif op == "cancel":
            task = self.streams.pop(rid, None)
            if task is not None:
                task.cancel()
        elif op == "submit":
            self._spawn(self._submit(rid, msg.get("command")))
        elif op == "history":
            self._spawn(self._history(rid, msg.get("since")))
        else:
            return f"unknown op {op!r}"
        return None

    async def _submit(self, rid: int, data: Any) -> None:
        command: Any = None
        try:
            command = api.from_wire(data)
        except Exception as exc:  # wrong tag, fields or values: never reaches the engine
            problem: str | None = f"malformed command: {exc}"
        else:
            problem = valid_command(command)
        if problem:
            logger.warning("control: client pid {} sent a {}", self.pid, problem)
            ack = api.Ack(False, problem)
        else:
            try:
                ack = await self.handle.submit(command)
            except Exception as exc:
                logger.opt(exception=exc).error("control: command {!r} failed", command)
                ack = api.Ack(False, f"accepted, then failed while carried out: {exc}")
        if not self._dead:
            self.reply({"id": rid, "ack": api.to_wire(ack)})

    async def _history(self, rid: int, since: Any) -> None:
        """Answer a history request; a bad ``since`` gets an ``error`` reply, not a drop."""
        try:
            day = None if since is None else date.fromisoformat(since)
        except (TypeError, ValueError):
            self.reply({"id": rid, "error": f"bad history request: since={since!r}"})
            return
        try:
            trades = await self.handle.history(day)
        except Exception as exc:  # e.g. the journal closed under a stopping engine
            logger.opt(exception=exc).error("control: history for pid {} failed", self.pid)
            self.reply({"id": rid, "error": f"history failed: {exc}"})
            return
        if not self._dead:
            self.reply({"id": rid, "history": api.to_wire(trades)})

    async def _pump(self, sid: int, since: int) -> None:
        """Move one event stream from the engine into the send queue. It never waits on the
        client, so the engine's own subscriber queue never fills up because of it."""
        stream = self.handle.events(since)
        try:
            async for event in stream:
                self._offer(sid, event)
        except Exception as exc:  # a stream the client waits on died: make the loss visible
            logger.opt(exception=exc).error("control: event stream of pid {} failed", self.pid)
            self.abort()
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def _offer(self, sid: int, event: api.Event) -> None:
        if event.seq <= self.floors.get(sid, 0) and not isinstance(event, api.Resync):
            return
        if len(self.outbox) >= self.server.max_queued:
            self._overflow()
            if self._dead or event.seq <= self.floors.get(sid, 0):
                return  # the resync's snapshot already includes it
        key = (sid, type(event).__name__, getattr(event, "condor_id", None))
        self.outbox.put(self._event_frame(sid, event), key if event.transient else None)

    def _overflow(self) -> None:
        """The client fell behind: drop its queued events and send each stream a Resync."""
        self.outbox.drop_droppable()
        if len(self.outbox) >= self.server.max_queued:
            logger.warning("control: client pid {} reads nothing: disconnected", self.pid)
            self.abort()
            return
        snap = self.handle.snapshot()
        for sid in self.streams:
            self.floors[sid] = snap.seq
            self.outbox.put(
                self._event_frame(sid, api.Resync(seq=snap.seq, ts=snap.ts, snapshot=snap))
            )
        self.server.resyncs += 1
        logger.info("control: client pid {} fell behind: resync at seq {}", self.pid, snap.seq)

    def _event_frame(self, sid: int, event: api.Event) -> bytes:
        cached, data = self._encoded  # every stream of every client sends the same event object
        if cached is not event:
            data = json.dumps(api.to_wire(event), separators=(",", ":")).encode()
            self._encoded = (event, data)
        return b'{"id":%d,"event":%s}\n' % (sid, data)

    def reply(self, msg: dict[str, Any]) -> None:
        """Queue a frame that is never dropped (hello, replies, acks)."""
        if not self._dead:
            self.outbox.put(frame(msg), droppable=False)

    async def _send_loop(self) -> None:
        try:
            while True:
                if not len(self.outbox):
                    self._idle = True
                    self._wake_flushers()
                await self.outbox.wait()
                self._idle = False
                batch = []
                while (item := self.outbox.pop()) is not None:
                    batch.append(item)
                self.writer.write(b"".join(batch))
                await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            logger.info("control: client pid {} stopped reading ({})", self.pid, exc)
            self.abort()

    async def flushed(self) -> None:
        """Return once everything queued was handed to the kernel (or the client is gone)."""
        while not self._dead and (len(self.outbox) or not self._idle):
            waiter = asyncio.get_running_loop().create_future()
            self._flush_waiters.append(waiter)
            await waiter

    def _wake_flushers(self) -> None:
        for waiter in self._flush_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._flush_waiters.clear()

    def stop_streams(self) -> None:
        for task in self.streams.values():
            task.cancel()
        self.streams.clear()

    def abort(self) -> None:
        """Drop the connection now (whatever is queued is lost)."""
        if not self._dead:
            self._dead = True
            self.stop_streams()
            self._wake_flushers()
            self.writer.transport.abort()
