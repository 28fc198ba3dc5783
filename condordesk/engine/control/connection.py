"""One client of the control socket: its reader loop, its sender and its event streams,
held to the server's :class:`~condordesk.engine.control.limits.Limits`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Coroutine
from datetime import date
from typing import Any, Protocol

from loguru import logger

from condordesk.engine import api
from condordesk.engine.control.limits import Limits, RequestBudget, SnapshotCache
from condordesk.engine.control.wire import PROTOCOL, Mailbox, frame, valid_command

FLUSH_S = 1.0  # at close, how long a client gets to take what is queued for it
_CHUNK = 1 << 18  # bytes handed to the socket per write: the write deadline is per chunk
MAX_IN_FLIGHT = 16  # commands and history requests one client may have running
MAX_STREAMS = 8  # event streams one client may hold (each is a subscriber of the bus)


class Host(Protocol):
    """The control server as its connections see it (``ControlServer`` satisfies it): the
    engine, the limits, the shared snapshot and the counters a connection moves."""

    @property
    def handle(self) -> api.EngineHandle:
        """The engine served."""
        ...

    @property
    def limits(self) -> Limits:
        """What one client may cost."""
        ...

    @property
    def profile_name(self) -> str:
        """The profile, sent in the hello."""
        ...

    @property
    def snapshots(self) -> SnapshotCache:
        """The engine's snapshot, serialised once per event seq."""
        ...

    @property
    def max_queued(self) -> int:
        """Frames a connection may have waiting before its streams are resynced."""
        ...

    dropped: int
    """Clients disconnected because they did not read."""
    resyncs: int
    """Times a connection fell behind and was resynced."""

    def busy_message(self) -> str:
        """Why a connection is refused or limited (the cap)."""
        ...

    def track_submit(self, task: asyncio.Task[None]) -> None:
        """Keep a command in flight referenced until it is done."""
        ...

    def note_buffered(self, size: int) -> None:
        """Record what waits for one client."""
        ...


class Connection:
    """One attached client: a reader loop, a sender task and the event streams it asked for.

    A command-only connection (beyond the cap) may send commands and ask for the snapshot;
    anything else, or nothing for ``command_idle_s``, ends it with a refusal."""

    def __init__(
        self,
        server: Host,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pid: int,
        *,
        commands_only: bool = False,
    ) -> None:
        self.server = server
        self.handle = server.handle
        self.limits = server.limits
        self.reader = reader
        self.writer = writer
        self.pid = pid
        self.commands_only = commands_only
        self.budget = RequestBudget(self.limits.rate, self.limits.burst)
        self.outbox: Mailbox[bytes] = Mailbox(len)
        self._drained = asyncio.Event()  # the sender handed a chunk over: room again
        self.streams: dict[int, asyncio.Task[None]] = {}
        self.floors: dict[int, int] = {}  # per stream: nothing at or before this seq is sent
        self.pending: set[asyncio.Task[None]] = set()  # commands and history requests in flight
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle = False  # the sender waits with nothing queued: all was handed over
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._encoded: tuple[api.Event | None, bytes] = (None, b"")
        self._dead = False
        self._closing = False  # refused: close once the refusal is sent

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name=f"control-send-{self.pid}")
        try:
            hello: dict[str, Any] = {
                "protocol": PROTOCOL,
                "profile": self.server.profile_name,
                "pid": os.getpid(),
            }
            if self.commands_only:
                hello["commands_only"] = self.server.busy_message()
            head = json.dumps({"hello": hello}, separators=(",", ":")).encode()[:-2]
            self.put_reply(head + b',"snapshot":' + self.server.snapshots.json() + b"}}\n")
            logger.info(
                "control: client pid {} attached{}",
                self.pid,
                " (commands only: too many connections)" if self.commands_only else "",
            )
            if await self._read_loop():
                await self._answer_then_close()
            elif self._closing:  # refused: let the reason reach the client, briefly
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FLUSH_S):
                        await self.flushed()
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
            await self._room()
            await self.budget.take()
            try:
                line = await self._next_line()
            except ValueError:  # longer than the request limit
                logger.warning("control: client pid {} sent an oversized frame: dropped", self.pid)
                return False
            except TimeoutError:
                self.refuse(f"{self.server.busy_message()} (closed after idling)")
                return False
            if self._dead:
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
            async with asyncio.timeout(FLUSH_S):
                await self.flushed()

    def _spawn(self, request: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(request)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        self.server.track_submit(task)

    async def _next_line(self) -> bytes:
        """The next request line; a command-only connection waits at most ``command_idle_s``
        with nothing in flight (TimeoutError)."""
        if not self.commands_only:
            return await self.reader.readline()
        while True:
            try:
                async with asyncio.timeout(self.limits.command_idle_s):
                    return await self.reader.readline()
            except TimeoutError:
                if not self.pending:
                    raise
                await asyncio.gather(*self.pending, return_exceptions=True)

    async def _room(self) -> None:
        """Read no request while half the client's byte budget waits for it (it must read
        first; the write deadline ends a client that never does), nor while it has
        :data:`MAX_IN_FLIGHT` requests running."""
        while not self._dead and self.buffered() > self.limits.max_buffered // 2:
            self._drained.clear()
            await self._drained.wait()
        while not self._dead and len(self.pending) >= MAX_IN_FLIGHT:
            await asyncio.wait(list(self.pending), return_when=asyncio.FIRST_COMPLETED)

    def buffered(self) -> int:
        """Bytes waiting for this client: its queue and the socket's buffer."""
        return self.outbox.weight + self.writer.transport.get_write_buffer_size()

    def _dispatch(self, line: bytes) -> str | None:
        """Handle one request; returns what was wrong with it (the client is then dropped)."""
        msg = _request(line)
        if isinstance(msg, str):
            return msg
        rid, op = msg["id"], msg.get("op")
        if self.commands_only and op not in ("snapshot", "submit", "cancel"):
            self.refuse(f"{self.server.busy_message()}; this connection may only send commands")
            return f"asked for {op!r} on a command-only connection"
        if op == "snapshot":
            self.put_reply(b'{"id":%d,"snapshot":%s}\n' % (rid, self.server.snapshots.json()))
        elif op == "events":
            return self._follow(rid, msg.get("since", 0), line)
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

    def _follow(self, rid: int, since: Any, line: bytes) -> str | None:
        """Start an event stream; what is wrong with the request, or None."""
        if type(since) is not int or since < 0 or rid in self.streams:
            return f"bad events request: {line[:80]!r}"
        if len(self.streams) >= MAX_STREAMS:
            return f"more than {MAX_STREAMS} event streams at once"
        self.floors[rid] = since
        self.streams[rid] = asyncio.create_task(self._pump(rid, since))
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
        if self._over_budget():
            self._overflow()
            if self._dead or event.seq <= self.floors.get(sid, 0):
                return  # the resync's snapshot already includes it
        key = (sid, type(event).__name__, getattr(event, "condor_id", None))
        self.outbox.put(self._event_frame(sid, event), key if event.transient else None)
        self.server.note_buffered(self.buffered())

    def _over_budget(self) -> bool:
        return (
            len(self.outbox) >= self.server.max_queued
            or self.outbox.weight >= self.limits.max_buffered
        )

    def _drop(self, why: str) -> None:
        if not self._dead:
            self.server.dropped += 1
            logger.warning("control: client pid {} {}: disconnected", self.pid, why)
            self.abort()

    def _overflow(self) -> None:
        """The client fell behind: drop its queued events and send each stream a Resync."""
        self.outbox.drop_droppable()
        if self._over_budget():
            self._drop("reads nothing")
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
        self.put_reply(frame(msg))

    def put_reply(self, data: bytes) -> None:
        """Queue an encoded frame that is never dropped; a client whose replies alone exceed
        its byte budget does not read them and is disconnected."""
        if self._dead:
            return
        self.outbox.put(data, droppable=False)
        size = self.buffered()
        self.server.note_buffered(size)
        if size > self.limits.max_buffered:
            self._drop(f"does not read its replies ({size} bytes waiting)")

    def refuse(self, reason: str) -> None:
        """Tell the client why, and close once that is sent (or at the write deadline)."""
        if not self._dead:
            self.stop_streams()
            self.outbox.drop_droppable()
            self.put_reply(frame({"refused": reason, "bye": reason}))
            self._closing = True

    async def _send_loop(self) -> None:
        try:
            while True:
                if not len(self.outbox):
                    self._idle = True
                    self._wake_flushers()
                    if self._closing:  # the refusal was handed over: close after it
                        self._dead = True
                        self.stop_streams()
                        self._drained.set()
                        self.writer.close()
                        return
                await self.outbox.wait()
                self._idle = False
                batch: list[bytes] = []
                size = 0
                while size < _CHUNK and (item := self.outbox.pop()) is not None:
                    batch.append(item)
                    size += len(item)
                self.writer.write(b"".join(batch))
                try:
                    async with asyncio.timeout(self.limits.write_timeout_s):
                        await self.writer.drain()
                except TimeoutError:
                    self._drop(f"read nothing for {self.limits.write_timeout_s:g} s")
                    return
                self._drained.set()
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
            self._drained.set()
            self.writer.transport.abort()


def _request(line: bytes) -> dict[str, Any] | str:
    """A request line decoded, or what is wrong with it."""
    try:
        msg = json.loads(line)
    except (ValueError, RecursionError):  # [[[[... nested too deep is not JSON either
        return f"not JSON: {line[:80]!r}"
    if not isinstance(msg, dict) or type(msg.get("id")) is not int:
        return f"not a request: {line[:80]!r}"
    return msg
