"""Helpers of the control-channel tests: an engine serving its socket, waiting for an event
(bounded), a hand-written client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.engine.control import ControlServer
from condordesk.market.vtime import run_virtual
from condordesk.ops.runlock import EngineLock

E = TypeVar("E", bound=api.Event)


async def next_of(stream: AsyncIterator[api.Event], kind: type[E], within: float = 3600.0) -> E:
    """The next event of ``kind`` (others are skipped), within ``within`` loop seconds."""
    async with asyncio.timeout(within):
        async for event in stream:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the stream ended before a {kind.__name__}")


class RawClient:
    """A client that speaks the wire protocol by hand (and can stop reading)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, path: Path, limit: int = 1 << 16) -> RawClient:
        """Connected to ``path``; the client buffers at most ``2 * limit`` bytes unread."""
        reader, writer = await asyncio.open_unix_connection(str(path), limit=limit)
        return cls(reader, writer)

    async def send(self, msg: dict[str, Any] | bytes) -> None:
        data = msg if isinstance(msg, bytes) else json.dumps(msg).encode() + b"\n"
        self.writer.write(data)
        await self.writer.drain()

    async def frame(self, within: float = 60.0) -> dict[str, Any] | None:
        """The next frame, or None at end of stream."""
        async with asyncio.timeout(within):
            line = await self.reader.readline()
        return json.loads(line) if line else None

    def close(self) -> None:
        self.writer.close()


Console = Callable[[Runtime, ControlServer, "asyncio.Task[Any]"], Awaitable[None]]


def serve(
    profile: Profile,
    tmp_path: Path,
    lock: EngineLock,
    console: Console,
    within: float = 6 * 3600,
    **server_options: Any,
) -> Runtime:
    """Run an engine on the simulator (virtual time) serving its control socket, as
    ``--autotrade`` does, with ``console`` beside it (for at most ``within`` simulated
    seconds); when the console is done the engine is asked to stop. Returns the runtime (its
    journal still open) for a look afterwards."""
    rt = build_sim(profile, journal_path=tmp_path / "journal.sqlite3")

    async def main() -> None:
        async with ControlServer(rt.engine, profile.name, lock=lock, **server_options) as server:
            engine = asyncio.create_task(rt.engine.run())
            try:
                async with asyncio.timeout(within):  # a broken test fails, never hangs
                    await console(rt, server, engine)
            finally:
                rt.engine.request_stop()
                await engine

    run_virtual(main())
    return rt
