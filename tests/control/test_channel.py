"""The control channel end to end: a real engine on the simulator (virtual time) serving its
socket, consoles attached over it."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from condordesk.engine.control import ControlServer, attach
from condordesk.engine.control.limits import Limits
from condordesk.ops.runlock import EngineLock
from tests.control.helpers import RawClient, next_of, serve
from tests.engine.harness import make_profile, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def protected(rt: Runtime) -> bool:
    return any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())


def journaled_commands(rt: Runtime) -> list[tuple[Any, ...]]:
    return [
        (p["command"], p["origin"], p["accepted"])
        for _, _, kind, p in rt.journal.events(0, 100_000)
        if kind == "CommandReceived"
    ]


def test_two_consoles_share_one_engine_its_snapshot_its_events_and_each_others_commands(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    async def consoles(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        await until(rt, lambda: protected(rt))
        async with attach("sim") as tui, attach("sim") as gui:
            assert server.connections == 2
            snap = tui.snapshot()
            (view,) = [c for c in snap.condors if c.state == "open"]
            assert view.stop_state == "verified" and view.stop_trigger is not None
            assert snap.account == rt.engine.account and snap.state == "armed"
            assert [c.id for c in snap.condors] == [c.id for c in rt.engine.snapshot().condors]

            history = tui.events(since=0)  # a late console replays the journal, in order
            first = await anext(history)
            assert isinstance(first, api.EngineStarted) and first.profile == "sim"
            await history.aclose()

            a = tui.events(since=snap.seq)
            b = gui.events(since=gui.snapshot().seq)
            ack = await tui.submit(api.PauseEntries(origin="tui", reason="lunch"))
            assert ack == api.Ack(True)
            seen_a, seen_b = (
                await next_of(a, api.EntriesPaused),
                await next_of(b, api.EntriesPaused),
            )
            assert seen_a == seen_b and seen_a.origin == "tui" and seen_a.reason == "lunch"

            refused = await gui.submit(
                api.MoveStop(origin="gui", condor_id="nope", trigger=Decimal("2.40"))
            )
            assert not refused.accepted and "no live condor nope" in refused.reason

            higher = view.stop_trigger + Decimal("0.50")
            moved = await gui.submit(api.MoveStop(origin="gui", condor_id=view.id, trigger=higher))
            assert moved.accepted
            placed_a, placed_b = await next_of(a, api.StopPlaced), await next_of(b, api.StopPlaced)
            assert placed_a == placed_b and placed_a.trigger == higher
            fresh = await tui.refresh()
            (now,) = [c for c in fresh.condors if c.id == view.id]
            assert now.stop_trigger == higher and tui.snapshot() == fresh

    rt = serve(make_profile(strategy={"max_concurrent": 1}), tmp_path, sim_lock, consoles)
    assert journaled_commands(rt) == [
        ("PauseEntries", "tui", True),
        ("MoveStop", "gui", False),
        ("MoveStop", "gui", True),
    ]


def test_a_console_that_stops_reading_gets_a_resync_and_never_holds_the_engine_back(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    seen: dict[str, Any] = {}

    async def consoles(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        bus = rt.engine.bus
        async with attach("sim") as fast:
            stuck = await RawClient.connect(server.path)
            hello = await stuck.frame()
            assert hello is not None
            since = hello["hello"]["snapshot"]["seq"]
            await stuck.send({"id": 1, "op": "events", "since": since})
            got: list[api.Event] = []  # the fast console consumes everything

            async def follow() -> None:
                async for event in fast.events(since=since):
                    got.append(event)

            follower = asyncio.create_task(follow())
            for n in range(1500):  # 3000 lifecycle events, about 1 MB on the wire
                if n % 2:
                    await rt.engine.submit(api.ResumeEntries(origin="test"))
                else:
                    await rt.engine.submit(api.PauseEntries(origin="test", reason=f"burst {n}"))
                await rt.clock.sleep(0.01)  # a burst, not one blocking loop turn
            assert server.resyncs >= 1
            before = rt.clock.now()
            await rt.clock.sleep(1800)  # the engine trades on: half an hour of cycles
            assert (rt.clock.now() - before).total_seconds() >= 1800 and not engine.done()
            await until(rt, lambda: bool(got) and got[-1].seq == bus.seq, step=1)
            seen["fast"], seen["last_seq"] = list(got), bus.seq
            follower.cancel()

            frames: list[dict[str, Any]] = []  # now the stuck console reads what it was kept
            while not frames or frames[-1]["event"]["seq"] < seen["last_seq"]:
                frame = await stuck.frame()
                assert frame is not None
                frames.append(frame)
            seen["stuck"] = frames
            stuck.close()

    # a console that reads again after half an hour: a write deadline longer than that
    limits = Limits(write_timeout_s=7200)
    rt = serve(make_profile(), tmp_path, sim_lock, consoles, max_queued=50, limits=limits)
    fast, last_seq = seen["fast"], seen["last_seq"]
    lifecycle = [e.seq for e in fast if not e.transient]
    journal = [s for s, _, _, _ in rt.journal.events(0, 100_000)]
    assert lifecycle == [s for s in journal if fast[0].seq <= s <= last_seq]  # nothing lost
    assert not any(isinstance(e, api.Resync) for e in fast)

    frames = seen["stuck"]
    published = last_seq - fast[0].seq + 1
    assert len(frames) < published - 500  # what could not be sent in time was dropped
    events = [api.from_wire(f["event"]) for f in frames]
    resyncs = [i for i, e in enumerate(events) if isinstance(e, api.Resync)]
    assert resyncs, "the stuck console got no resync"
    after = events[resyncs[-1] :]
    assert all(e.seq > after[0].seq for e in after[1:])
    assert after[0].snapshot.seq == after[0].seq and after[0].snapshot.profile == "sim"
    seqs = [e.seq for e in events if not isinstance(e, api.Resync)]
    assert seqs == sorted(set(seqs))


def test_a_console_that_does_not_consume_its_stream_is_caught_up_by_a_resync(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    async def console(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        async with attach("sim") as tui:
            stream = tui.events(since=tui.snapshot().seq)
            await rt.engine.submit(api.PauseEntries(origin="test", reason="first"))
            assert isinstance(await anext(stream), api.CommandReceived)
            for n in range(1200):  # 2400 events: more than the client keeps for a stream
                await rt.engine.submit(api.PauseEntries(origin="test", reason=f"r{n}"))
                await rt.clock.sleep(0.01)  # the engine and its socket keep up; the console not
            await rt.engine.submit(api.ResumeEntries(origin="test"))
            target = rt.engine.bus.seq
            assert server.resyncs == 0  # the engine side kept up
            event = await anext(stream)
            while not isinstance(event, api.Resync):
                event = await anext(stream)
            assert tui.snapshot() == event.snapshot and event.snapshot.seq == event.seq
            last = event.seq
            while last < target:
                event = await anext(stream)
                assert event.seq > last
                last = event.seq
            assert tui.snapshot().paused_reason is None  # the resumed state, not a stale one

    serve(make_profile(), tmp_path, sim_lock, console)


def test_garbage_is_dropped_malformed_commands_are_refused_and_the_engine_goes_on(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    async def clients(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        async with attach("sim") as good:
            for garbage in (b"hello?\n", b"[1, 2]\n", b'{"id": 1, "op": "explode"}\n'):
                bad = await RawClient.connect(server.path)
                assert await bad.frame() is not None  # the hello
                await bad.send(garbage)
                assert await bad.frame() is None  # dropped: end of stream
                bad.close()

            odd = await RawClient.connect(server.path)
            await odd.frame()
            move = {"type": "MoveStop", "origin": "tui", "condor_id": "x", "trigger": "2.40"}
            posing = api.to_wire(api.PauseEntries(origin="engine"))
            an_event = api.to_wire(api.EngineStopped(reason="x"))
            for rid, command, why in (
                (7, move, "MoveStop.trigger"),
                (8, posing, "origin 'engine'"),
                (9, an_event, "not a command"),
                (10, {"type": "Nope"}, "unknown wire type"),
            ):
                await odd.send({"id": rid, "op": "submit", "command": command})
                reply = await odd.frame()
                assert reply is not None and reply["id"] == rid
                ack = api.from_wire(reply["ack"])
                assert not ack.accepted and why in ack.reason
            await odd.send({"id": 11, "op": "snapshot"})  # still attached
            reply = await odd.frame()
            assert reply is not None and reply["id"] == 11 and "snapshot" in reply
            odd.close()

            assert (await good.submit(api.PauseEntries(origin="tui"))).accepted
            await until(rt, lambda: server.connections == 1, step=1)
            await rt.clock.sleep(600)
            assert not engine.done() and rt.engine.state == "paused"

    rt = serve(make_profile(), tmp_path, sim_lock, clients)
    assert journaled_commands(rt) == [("PauseEntries", "tui", True)]


def test_a_console_loses_the_engine_when_it_stops_and_is_told_why(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    async def console(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        async with attach("sim") as tui:
            stream = tui.events(since=tui.snapshot().seq)
            await rt.engine.submit(api.PauseEntries(origin="test"))
            await next_of(stream, api.EntriesPaused)
            rt.engine.request_stop()
            await engine
            await server.close()  # what the composition root does once the engine stopped
            stopped = await next_of(stream, api.EngineStopped)
            assert stopped.reason == "stop requested"
            with pytest.raises(api.EngineUnavailable, match="the engine stopped"):
                await anext(stream)
            with pytest.raises(api.EngineUnavailable):
                await tui.submit(api.ResumeEntries(origin="tui"))
            with pytest.raises(api.EngineUnavailable):
                await tui.refresh()
            with pytest.raises(api.EngineUnavailable):
                await anext(tui.events(since=0))
            assert tui.lost is not None and tui.snapshot().profile == "sim"
        assert not server.path.exists()
        with pytest.raises(api.EngineUnavailable, match="nothing listens"):
            async with attach("sim"):
                pass

    serve(make_profile(), tmp_path, sim_lock, console)


def test_a_script_that_writes_its_request_and_hangs_up_still_gets_its_answer(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    async def script(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        raw = await RawClient.connect(server.path)
        assert await raw.frame() is not None
        pause = api.to_wire(api.PauseEntries(origin="cli", reason="cron"))
        await raw.send({"id": 1, "op": "submit", "command": pause})
        await raw.send({"id": 2, "op": "events", "since": 0})
        raw.writer.write_eof()  # like `printf ... | socat - UNIX-CONNECT:...`
        frames = []
        while (frame := await raw.frame()) is not None:
            frames.append(frame)
        raw.close()
        (reply,) = [f for f in frames if "ack" in f]
        assert reply["id"] == 1 and api.from_wire(reply["ack"]) == api.Ack(True)
        assert rt.engine.paused_reason == "cron"

    rt = serve(make_profile(), tmp_path, sim_lock, script)
    assert journaled_commands(rt) == [("PauseEntries", "cli", True)]
