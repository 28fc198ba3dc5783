"""The control socket as a file and as a door: private to the user, stale sockets replaced
safely, peers checked, and clear, fast failures when no engine answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.config import paths
from condordesk.engine import api
from condordesk.engine.control import (
    PROTOCOL,
    ControlError,
    ControlServer,
    PeerCred,
    answers,
    attach,
    peer_allowed,
    peer_credentials,
    socket_path,
)
from condordesk.ops.runlock import EngineLock
from tests.engine.harness import make_profile

pytestmark = pytest.mark.usefixtures("warm_calendar")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A wired engine (not trading) to serve."""
    rt = build_sim(make_profile(), journal_path=tmp_path / "journal.sqlite3")
    yield rt
    rt.journal.close()


def hello_line(rt: Runtime, **changes: object) -> bytes:
    hello = {"protocol": PROTOCOL, "profile": "sim", "pid": os.getpid()}
    hello.update(changes)
    hello["snapshot"] = api.to_wire(rt.engine.snapshot())
    return json.dumps({"hello": hello}).encode() + b"\n"


async def test_the_socket_is_private_to_the_user_and_gone_after_the_engine(
    runtime: Runtime, sim_lock: EngineLock, condordesk_home: Path
) -> None:
    server = ControlServer(runtime.engine, "sim", lock=sim_lock)
    await server.start()
    assert server.path == socket_path("sim") == condordesk_home / "run" / "engine-sim.sock"
    st = os.stat(server.path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.getuid()
    assert stat.S_IMODE(os.stat(server.path.parent).st_mode) == 0o700
    assert sorted(os.listdir(server.path.parent)) == ["engine-sim.lock", "engine-sim.sock"]
    await server.close()
    assert not server.path.exists() and not answers(server.path)


async def test_a_stale_socket_is_replaced_and_nothing_else_is_ever_removed(
    runtime: Runtime, sim_lock: EngineLock
) -> None:
    path = socket_path("sim")
    paths.ensure(path.parent)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # what a killed engine leaves behind
    dead.close()
    assert path.exists() and not answers(path)
    async with ControlServer(runtime.engine, "sim", lock=sim_lock), attach("sim") as handle:
        assert handle.profile == "sim" and handle.engine_pid == os.getpid()

    path.write_text("someone's notes\n")
    with pytest.raises(ControlError, match="not a socket"):
        await ControlServer(runtime.engine, "sim", lock=sim_lock).start()
    assert path.read_text() == "someone's notes\n"


async def test_only_the_lock_holder_serves_and_never_takes_over_a_live_socket(
    runtime: Runtime,
) -> None:
    with pytest.raises(ControlError, match="lock"):
        await ControlServer(runtime.engine, "sim", lock=EngineLock("sim")).start()
    assert not socket_path("sim").exists()
    with EngineLock("sim") as lock:
        async with ControlServer(runtime.engine, "sim", lock=lock) as first:
            with pytest.raises(ControlError, match="another engine answers"):
                await ControlServer(runtime.engine, "sim", lock=lock).start()
            assert answers(first.path)
            async with attach("sim") as handle:
                assert handle.snapshot().profile == "sim"


async def test_an_engine_leaving_never_removes_a_newer_engines_socket(
    runtime: Runtime, sim_lock: EngineLock
) -> None:
    old = ControlServer(runtime.engine, "sim", lock=sim_lock)
    await old.start()
    old.path.unlink()  # e.g. removed by hand, and a new engine started since
    new = ControlServer(runtime.engine, "sim", lock=sim_lock)
    await new.start()
    await old.close()
    assert answers(new.path)
    async with attach("sim"):
        pass
    await new.close()
    assert not new.path.exists()


def test_the_peer_check_admits_only_the_engines_own_user() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        cred = peer_credentials(a)
    assert cred == PeerCred(os.getpid(), os.getuid(), os.getgid())
    assert peer_allowed(cred, os.getuid())
    assert not peer_allowed(cred._replace(uid=os.getuid() + 1), os.getuid())
    assert not peer_allowed(PeerCred(1, 0, 0), 1000)  # not even root
    assert not peer_allowed(None, os.getuid())  # credentials unknown: refused


async def test_a_connection_from_another_user_is_refused(
    runtime: Runtime, sim_lock: EngineLock
) -> None:
    async with ControlServer(
        runtime.engine, "sim", lock=sim_lock, allowed_uid=os.getuid() + 1
    ) as server:
        with pytest.raises(api.EngineUnavailable, match="refused the connection"):
            async with attach("sim"):
                pass
        assert server.connections == 0


async def test_a_runtime_dir_too_deep_for_a_socket_address_still_works(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDORDESK_HOME", str(tmp_path / ("d" * 60) / ("e" * 60)))
    path = socket_path("sim")
    assert len(os.fsencode(path)) > 108
    with EngineLock("sim") as lock:
        async with ControlServer(runtime.engine, "sim", lock=lock):
            assert path.exists() and answers(path)
            async with attach("sim") as handle:
                assert handle.snapshot().profile == "sim"
        assert not path.exists()


async def test_attach_fails_fast_and_says_where_it_looked(
    runtime: Runtime, condordesk_home: Path
) -> None:
    path = socket_path("sim")
    async with asyncio.timeout(1):
        with pytest.raises(api.EngineUnavailable, match="nothing listens") as nothing:
            async with attach("sim"):
                pass
    assert str(path) in str(nothing.value)

    paths.ensure(path.parent)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    async with asyncio.timeout(1):
        with pytest.raises(api.EngineUnavailable, match="stale"):
            async with attach("sim"):
                pass


class RawEngine:
    """A hand-written engine side: ``handler`` talks to each client; :meth:`close` waits for
    every conversation to end."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self.talks: list[asyncio.Task[None]] = []
        self.server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> RawEngine:
        paths.ensure(self.path.parent)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.server = await asyncio.start_unix_server(self._talk, path=str(self.path))
        return self

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.talks.append(task)
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await asyncio.gather(*self.talks, return_exceptions=True)
        await self.server.wait_closed()


async def test_attach_refuses_an_engine_it_does_not_understand(runtime: Runtime) -> None:
    cases: list[tuple[bytes | None, str]] = [
        (hello_line(runtime, protocol=PROTOCOL + 1), "protocol"),
        (hello_line(runtime, profile="paper"), "runs profile 'paper'"),
        (b"not json\n", "no hello"),
        (None, "did not answer"),  # accepts, never says hello
    ]
    for line, why in cases:

        async def handler(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes | None = line
        ) -> None:
            if line is not None:
                writer.write(line)
            await reader.read()  # until the client leaves

        async with RawEngine(socket_path("sim"), handler):
            with pytest.raises(api.EngineUnavailable, match=why):
                async with attach("sim", wait_s=0.2):
                    pass


async def test_a_dropped_connection_makes_everything_raise_engine_unavailable(
    runtime: Runtime,
) -> None:
    async def engine_that_dies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(hello_line(runtime))
        await reader.readline()  # the console's first request, then the process "dies"
        writer.transport.abort()

    async with RawEngine(socket_path("sim"), engine_that_dies), attach("sim") as handle:
        snap = handle.snapshot()
        with pytest.raises(api.EngineUnavailable, match="closed the connection"):
            await anext(handle.events(since=snap.seq))
        with pytest.raises(api.EngineUnavailable):
            await handle.submit(api.PauseEntries(origin="tui"))
        assert handle.snapshot() == snap  # the last known state stays readable
