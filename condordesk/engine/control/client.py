"""The console's side of the control channel: an EngineHandle over the engine's socket."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

from condordesk.engine import api
from condordesk.engine.control.wire import (
    CONNECT_TIMEOUT_S,
    MAX_QUEUED,
    PROTOCOL,
    Mailbox,
    frame,
    reachable,
    socket_path,
)

_FRAME_LIMIT = 1 << 26  # longest frame a client reads (a snapshot with a long day of condors)


class _Stream:
    """One ``events()`` iteration: its queue, and whether it fell behind."""

    def __init__(self) -> None:
        self.box: Mailbox[api.Event] = Mailbox()
        self.behind = False  # the console did not keep up: the queue was dropped
        self.resync_rid: int | None = None  # the snapshot request that catches it up


async def _open(
    path: Path, profile: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    who = f"of profile {profile} " if profile else ""
    try:
        with reachable(path) as name:
            return await asyncio.open_unix_connection(name, limit=_FRAME_LIMIT)
    except FileNotFoundError as exc:
        raise api.EngineUnavailable(
            f"no engine {who}is running: nothing listens at {path}"
        ) from exc
    except ConnectionRefusedError as exc:
        raise api.EngineUnavailable(
            f"no engine {who}is running: the socket {path} is stale (nothing answers)"
        ) from exc
    except OSError as exc:
        raise api.EngineUnavailable(f"cannot reach the engine {who}at {path}: {exc}") from exc


def _check_hello(msg: Any, path: Path, profile: str | None) -> dict[str, Any]:
    if not isinstance(msg, dict):
        raise api.EngineUnavailable(f"the engine at {path} sent no hello")
    if "refused" in msg:
        raise api.EngineUnavailable(
            f"the engine at {path} refused the connection: {msg['refused']}"
        )
    hello = msg.get("hello")
    if not isinstance(hello, dict) or hello.get("protocol") != PROTOCOL:
        got = hello.get("protocol") if isinstance(hello, dict) else None
        raise api.EngineUnavailable(
            f"the engine at {path} speaks control protocol {got!r}, this client {PROTOCOL}"
        )
    if profile is not None and hello.get("profile") != profile:
        raise api.EngineUnavailable(
            f"the engine at {path} runs profile {hello.get('profile')!r}, not {profile!r}"
        )
    return hello


class AttachedHandle:
    """An :class:`~condordesk.engine.api.EngineHandle` over the control socket (attach mode).

    :meth:`snapshot` returns the snapshot received at connect, refreshed on every ``Resync``
    (call :meth:`refresh` for a fresh one). Once the socket is lost, :meth:`events` iteration,
    :meth:`submit` and :meth:`refresh` raise :class:`~condordesk.engine.api.EngineUnavailable`
    (events received before the loss are still delivered first). Open with :func:`attach`.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        hello: dict[str, Any],
        path: Path,
    ) -> None:
        self.path = path
        self.profile: str = hello["profile"]
        self.engine_pid: int = hello["pid"]
        snap = api.from_wire(hello["snapshot"])
        if not isinstance(snap, api.Snapshot):
            raise api.EngineUnavailable(f"the engine at {path} sent a hello without a snapshot")
        self._snapshot = snap
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._streams: dict[int, _Stream] = {}
        self._lost: str | None = None
        self._task = asyncio.create_task(self._read_loop(), name="control-client")

    @classmethod
    async def connect(
        cls, path: Path, *, profile: str | None = None, wait_s: float = CONNECT_TIMEOUT_S
    ) -> AttachedHandle:
        """Connect to the engine listening at ``path`` and read its hello.

        Raises:
            EngineUnavailable: nothing listens there, it refused us, it speaks another protocol
                version or serves another profile, or it did not say hello within ``wait_s``.
        """
        reader, writer = await _open(path, profile)
        try:
            try:
                async with asyncio.timeout(wait_s):
                    line = await reader.readline()
                msg = json.loads(line) if line else None
            except TimeoutError as exc:
                raise api.EngineUnavailable(
                    f"the engine at {path} did not answer within {wait_s:g} s"
                ) from exc
            except (OSError, ValueError) as exc:
                raise api.EngineUnavailable(f"the engine at {path} sent no hello: {exc}") from exc
            return cls(reader, writer, _check_hello(msg, path, profile), path)
        except BaseException as exc:
            writer.close()
            if isinstance(exc, Exception):  # not when cancelled
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            raise

    # -- EngineHandle ---------------------------------------------------------------------

    def snapshot(self) -> api.Snapshot:
        """The snapshot received at connect, or at the last resync or :meth:`refresh`."""
        return self._snapshot

    async def events(self, since: int = 0) -> AsyncIterator[api.Event]:
        """Events with ``seq > since`` (journaled history, then live), or a ``Resync``."""
        self._check()
        sid = next(self._ids)
        stream = self._streams[sid] = _Stream()
        last = since
        try:
            await self._send({"id": sid, "op": "events", "since": since})
            while True:
                event = stream.box.pop()
                if event is None:
                    if stream.behind:
                        snap = await self._catch_up(stream)
                        last = snap.seq
                        yield api.Resync(seq=snap.seq, ts=snap.ts, snapshot=snap)
                        continue
                    self._check()
                    await stream.box.wait()
                elif isinstance(event, api.Resync):
                    self._snapshot = event.snapshot
                    last = max(last, event.seq)
                    yield event
                elif event.seq > last:
                    last = event.seq
                    yield event
        finally:
            if self._streams.pop(sid, None) is not None and self._lost is None:
                self._writer.write(frame({"id": sid, "op": "cancel"}))

    async def submit(self, command: api.Command) -> api.Ack:
        """Send ``command`` (with the origin it carries) and wait for the engine's ack."""
        reply = await self._request(
            next(self._ids), {"op": "submit", "command": api.to_wire(command)}
        )
        ack = api.from_wire(reply.get("ack"))
        if not isinstance(ack, api.Ack):
            raise self._lose(f"the engine answered a command with {reply!r}")
        return ack

    async def history(self, since: date | None = None) -> list[api.TradeRecord]:
        """The journal's finished condors from trading day ``since`` on, oldest first."""
        day = None if since is None else since.isoformat()
        reply = await self._request(next(self._ids), {"op": "history", "since": day})
        trades = api.from_wire(reply.get("history"))
        if not isinstance(trades, list) or not all(isinstance(t, api.TradeRecord) for t in trades):
            raise self._lose(f"the engine answered a history request with {reply!r}"[:300])
        return trades

    # -- more -----------------------------------------------------------------------------

    @property
    def lost(self) -> str | None:
        """Why the handle is unusable, or None while it is connected."""
        return self._lost

    async def refresh(self) -> api.Snapshot:
        """Ask the engine for a fresh snapshot (also what :meth:`snapshot` returns after)."""
        reply = await self._request(next(self._ids), {"op": "snapshot"})
        return self._take_snapshot(reply)

    async def aclose(self) -> None:
        """Disconnect (the engine goes on)."""
        self._lose("the console closed its handle")
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._writer.close()
        with contextlib.suppress(OSError, RuntimeError):
            await self._writer.wait_closed()

    # -- inside ---------------------------------------------------------------------------

    def _check(self) -> None:
        if self._lost is not None:
            raise api.EngineUnavailable(self._lost)

    def _take_snapshot(self, reply: dict[str, Any]) -> api.Snapshot:
        snap = api.from_wire(reply.get("snapshot"))
        if not isinstance(snap, api.Snapshot):
            raise self._lose(f"the engine answered a snapshot request with {reply!r}")
        self._snapshot = snap
        return snap

    async def _catch_up(self, stream: _Stream) -> api.Snapshot:
        rid = next(self._ids)
        stream.resync_rid = rid
        return self._take_snapshot(await self._request(rid, {"op": "snapshot"}))

    async def _request(self, rid: int, msg: dict[str, Any]) -> dict[str, Any]:
        self._check()
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[rid] = reply
        try:
            await self._send({"id": rid, **msg})
            return await reply
        finally:
            self._replies.pop(rid, None)

    async def _send(self, msg: dict[str, Any]) -> None:
        try:
            self._writer.write(frame(msg))
            await self._writer.drain()
        except (ConnectionError, OSError, RuntimeError) as exc:
            raise self._lose(f"lost the engine at {self.path}: {exc}") from exc

    async def _read_loop(self) -> None:
        reason = f"the engine at {self.path} closed the connection"
        try:
            while line := await self._reader.readline():
                msg = json.loads(line)
                if "refused" in msg:  # e.g. too many connections: this one may not do that
                    reason = f"the engine at {self.path} refused: {msg['refused']}"
                elif "bye" in msg:
                    reason = f"the engine at {self.path} left: {msg['bye']}"
                else:
                    self._dispatch(msg)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            reason = f"the control channel to {self.path} broke: {exc}"
        finally:
            self._lose(reason)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        rid = msg["id"]
        if "event" in msg:
            stream = self._streams.get(rid)
            if stream is None or stream.behind:
                return  # a cancelled stream, or one a resync will catch up
            if len(stream.box) >= MAX_QUEUED:  # the console does not keep up
                stream.box.drop_droppable()
                stream.behind = True
                stream.box.wake()
                return
            event = api.from_wire(msg["event"])
            key = (type(event).__name__, getattr(event, "condor_id", None))
            stream.box.put(event, key if event.transient else None)
            return
        for stream in self._streams.values():
            if stream.resync_rid == rid:  # events after this reply follow the snapshot
                stream.behind, stream.resync_rid = False, None
        reply = self._replies.get(rid)
        if reply is not None and not reply.done():
            reply.set_result(msg)

    def _lose(self, reason: str) -> api.EngineUnavailable:
        """Mark the handle lost (the first reason wins) and wake everyone waiting on it."""
        if self._lost is None:
            self._lost = reason
        error = api.EngineUnavailable(self._lost)
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(api.EngineUnavailable(self._lost))
        for stream in self._streams.values():
            stream.box.wake()
        return error


@contextlib.asynccontextmanager
async def attach(
    profile_name: str, *, path: Path | None = None, wait_s: float = CONNECT_TIMEOUT_S
) -> AsyncIterator[AttachedHandle]:
    """Attach to the running engine of ``profile_name``; disconnect on exit (the engine goes on).

    Raises:
        EngineUnavailable: fast, when no engine of the profile answers on its socket.
    """
    handle = await AttachedHandle.connect(
        path or socket_path(profile_name), profile=profile_name, wait_s=wait_s
    )
    try:
        yield handle
    finally:
        await handle.aclose()
