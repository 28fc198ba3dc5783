"""What one hostile or broken process of the engine's own user can cost the engine through its
control socket: a snapshot spammer that never reads, a flood of requests, more connections
than the cap, and the open-files limit. The operator's command always gets through."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from condordesk.engine.control import ControlServer, attach
from condordesk.engine.control.connection import MAX_STREAMS
from condordesk.engine.control.limits import FD_HEADROOM, Limits, fit_to_nofile
from condordesk.ops.runlock import EngineLock
from tests.control.helpers import RawClient, serve
from tests.engine.harness import make_profile, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

MB = 1 << 20


async def spam_snapshots(client: RawClient, rounds: int) -> int:
    """Ask for snapshots in batches, never reading; returns the requests written before the
    engine hung up (or all of them)."""
    sent = 0
    for _ in range(rounds):
        batch = b"".join(b'{"id":%d,"op":"snapshot"}\n' % (sent + i) for i in range(50))
        try:
            client.writer.write(batch)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await client.writer.drain()
        except (ConnectionError, OSError):
            break
        if client.writer.transport.is_closing():
            break
        sent += 50
    return sent


def test_a_snapshot_spammer_that_never_reads_is_dropped_and_memory_stays_bounded(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    seen: dict[str, Any] = {}
    limits = Limits(max_buffered=1 * MB, write_timeout_s=20.0)

    async def attack(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        loop = asyncio.get_running_loop()
        spammer = await RawClient.connect(server.path, limit=1 << 12)  # reads ~8 kB, then not
        started = loop.time()
        spam = asyncio.create_task(spam_snapshots(spammer, rounds=2000))
        await until(rt, lambda: server.dropped >= 1, step=1)
        seen["dropped_after"] = loop.time() - started
        spam.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await spam
        seen["peak"] = server.peak_buffered
        seen["built"] = server.snapshots.built
        seen["connections"] = server.connections
        async with attach("sim") as operator:  # the engine goes on, and answers
            ack = await operator.submit(api.PauseEntries(origin="cli", reason="after the spam"))
            seen["ack"] = ack
        seen["engine_alive"] = not engine.done()
        spammer.close()

    serve(make_profile(), tmp_path, sim_lock, attack, limits=limits)

    assert seen["dropped_after"] <= 20.0 + 20.0  # the write deadline once it stalled
    snapshot_frame = 200_000  # one snapshot of this engine is far smaller
    assert seen["peak"] <= 1 * MB + snapshot_frame  # what waited for the spammer, at most
    assert seen["connections"] == 0
    assert seen["ack"].accepted and seen["engine_alive"]


def test_requests_beyond_the_rate_wait_unread(tmp_path: Path, sim_lock: EngineLock) -> None:
    seen: dict[str, float] = {}
    limits = Limits(rate=10.0, burst=20)

    async def flood(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        loop = asyncio.get_running_loop()
        client = await RawClient.connect(server.path, limit=1 << 24)
        assert await client.frame() is not None  # the hello
        await client.send(b"".join(b'{"id":%d,"op":"snapshot"}\n' % i for i in range(220)))
        first = await client.frame()
        seen["first"] = loop.time()
        assert first is not None and first["id"] == 0
        for _ in range(219):
            assert await client.frame(within=3600) is not None
        seen["last"] = loop.time()
        client.close()

    serve(make_profile(), tmp_path, sim_lock, flood, limits=limits)

    assert seen["last"] - seen["first"] >= (220 - 20) / 10.0 - 1.0  # 10 a second after 20


def test_beyond_the_cap_a_clear_refusal_and_the_operators_ctl_pause_still_goes_through(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    seen: dict[str, Any] = {}
    limits = Limits(max_clients=4, reserved=2, command_idle_s=5.0)

    async def crowd(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        idle = [await RawClient.connect(server.path) for _ in range(4)]  # take every full slot
        for client in idle:
            hello = await client.frame()
            assert hello is not None and "commands_only" not in hello["hello"]
        extra = [await RawClient.connect(server.path) for _ in range(2)]  # command-only
        for client in extra:
            hello = await client.frame()
            assert hello is not None and "too many connections" in hello["hello"]["commands_only"]
        third = await RawClient.connect(server.path)  # makes the oldest idle extra go
        assert (await third.frame()) is not None
        bye = await extra[0].frame()
        assert bye is not None and "too many connections" in bye["refused"]
        assert await extra[0].frame() is None  # and it is closed
        seen["most"] = server.served

        async with attach("sim") as ctl:  # what `condordesk ctl pause` does
            seen["pause"] = await ctl.submit(api.PauseEntries(origin="cli", reason="crowded"))
        with pytest.raises(api.EngineUnavailable, match="too many connections") as lost:
            async with attach("sim") as console:  # a console wants its events: refused
                await anext(console.events(since=console.snapshot().seq))
        seen["console"] = str(lost.value)

        late = await RawClient.connect(server.path)  # command-only: no history either
        assert (await late.frame()) is not None
        await late.send({"id": 1, "op": "history"})
        refused = await late.frame()
        assert refused is not None and "only send commands" in refused["refused"]
        assert await late.frame() is None
        crowd = [await RawClient.connect(server.path) for _ in range(30)]
        seen["peak"] = (server.served, server.connections)
        await until(rt, lambda: server.connections <= 4, step=1)  # idle command-only ones end
        async with attach("sim") as ctl:
            seen["resume"] = await ctl.submit(api.ResumeEntries(origin="cli"))
        for client in [*idle, *extra, third, late, *crowd]:
            client.close()

    rt = serve(make_profile(), tmp_path, sim_lock, crowd, limits=limits)

    assert seen["most"] == (4, 2)
    assert seen["peak"][0] == (4, 2) and seen["peak"][1] <= 8  # and a few being refused
    assert seen["pause"].accepted and seen["resume"].accepted
    assert "close a console" in seen["console"]
    received = [
        json.loads(payload)["command"] if isinstance(payload, str) else payload["command"]
        for _, _, kind, payload in rt.journal.events(0, 100_000)
        if kind == "CommandReceived"
    ]
    assert received == ["PauseEntries", "ResumeEntries"]


@pytest.fixture
def low_nofile() -> Iterator[int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_the_open_files_limit_is_raised_at_start(
    runtime: Runtime, sim_lock: EngineLock, low_nofile: int
) -> None:
    async with ControlServer(runtime.engine, "sim", lock=sim_lock) as server:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert soft == low_nofile
        assert server.limits.max_clients + server.limits.reserved + FD_HEADROOM <= soft


def test_the_cap_fits_under_a_low_open_files_limit() -> None:
    fitted = fit_to_nofile(Limits(max_clients=2000, reserved=8), 1024)
    assert fitted.max_clients + fitted.reserved + FD_HEADROOM <= 1024
    assert fitted.reserved >= 1 and fitted.max_clients >= 1
    assert fit_to_nofile(Limits(), 1 << 16) == Limits()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    from condordesk.app.bootstrap import build_sim

    rt = build_sim(make_profile(), journal_path=tmp_path / "journal.sqlite3")
    yield rt
    rt.journal.close()


def test_a_client_holds_a_bounded_number_of_event_streams(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    seen: dict[str, Any] = {}

    async def greedy(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        client = await RawClient.connect(server.path)
        assert await client.frame() is not None
        for rid in range(1, MAX_STREAMS + 2):  # each stream is a subscriber of the bus
            await client.send({"id": rid, "op": "events", "since": rt.engine.bus.seq})
        while await client.frame() is not None:  # the end of the stream: dropped
            pass
        await until(rt, lambda: server.connections == 0, step=1)
        seen["engine_alive"] = not engine.done()
        client.close()

    serve(make_profile(), tmp_path, sim_lock, greedy)

    assert seen["engine_alive"]
