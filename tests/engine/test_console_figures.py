"""What the engine gives consoles beyond the condors: the day's expected move, net greeks,
the next scheduled event, the P&L trail and the recent journaled events, in its snapshot and
in a transient MarketUpdated after every cycle."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api, outlook
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_snapshot_and_market_updates_carry_the_figures_a_console_shows(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def console(rt: Runtime) -> None:
        engine = rt.engine
        watching = asyncio.ensure_future(_watch(engine, seen.setdefault("updates", [])))
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        await rt.clock.sleep(600)
        seen["snap"] = engine.snapshot()
        engine.request_stop()
        watching.cancel()

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, console)
    snap: api.Snapshot = seen["snap"]
    day = snap.day
    assert day is not None
    # a one-sd move over a 6.5 h session at a vol of 10-30%: tens of points on SPX ~6000
    assert snap.expected_move is not None and 10 < snap.expected_move < 60
    assert snap.greeks is not None
    assert snap.greeks.theta > 0 and snap.greeks.gamma < 0 and snap.greeks.vega < 0
    assert (snap.next_event, snap.next_event_at) == ("entries close", at(day, "14:30"))
    trail = snap.pnl_history
    assert len(trail) >= 10
    assert all(b.ts - a.ts >= timedelta(minutes=1) for a, b in itertools.pairwise(trail))
    kinds = [type(e).__name__ for e in snap.recent]
    assert {"CondorOpened", "StopPlaced", "StopVerified", "FillRecorded"} <= set(kinds)
    assert all(not e.transient for e in snap.recent)
    assert [e.seq for e in snap.recent] == sorted(e.seq for e in snap.recent)

    updates: list[api.MarketUpdated] = seen["updates"]  # what an attached console receives
    assert updates and all(u.spot > 0 for u in updates)
    last = updates[-1]
    (live,) = last.condors
    assert live.state == "open" and live.stop_state == "verified" and live.mark is not None
    journaled = {kind for _, _, kind, _ in out.runtime.journal.events(limit=100_000)}
    assert "MarketUpdated" not in journaled  # transient: never journaled
    before = [u for u in updates if u.ts is not None and u.ts < at(day, "09:45")]
    assert before and all(u.next_event == "entries open" for u in before)


async def _watch(engine: Any, into: list[api.MarketUpdated]) -> None:
    """An attached console: subscribes to the engine's events."""
    async for event in engine.events(engine.bus.seq):
        if isinstance(event, api.MarketUpdated):
            into.append(event)


def test_with_no_console_attached_the_cycle_builds_no_market_update_nor_greeks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-cycle console figures cost nothing while nobody looks; a console attaching later
    still gets the net greeks in its snapshot."""
    calls: list[int] = []
    real = outlook.position_greeks

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(outlook, "position_greeks", counted)
    seen: dict[str, Any] = {}

    async def later(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        await rt.clock.sleep(1800)  # 180 cycles with a held condor
        seen["calls_unwatched"] = len(calls)
        seen["snap"] = engine.snapshot()
        engine.request_stop()

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, later)
    assert not out.of(api.MarketUpdated)
    assert seen["calls_unwatched"] == 0
    snap: api.Snapshot = seen["snap"]
    assert snap.greeks is not None and snap.greeks.theta > 0


def test_marks_reach_a_console_attached_later_but_cost_no_event_while_nobody_looks(
    tmp_path: Path,
) -> None:
    """With nobody attached a cycle publishes no CondorMarked (the marks stay on the condor,
    for a snapshot); a console that attaches gets the held condor's marks in its snapshot,
    then a CondorMarked every cycle."""
    seen: dict[str, Any] = {}

    async def later(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        await rt.clock.sleep(600)  # 20 cycles with a held condor, nobody looking
        seen["seq_unwatched"] = engine.bus.seq
        seen["snap"] = engine.snapshot()
        marks: list[api.CondorMarked] = seen.setdefault("marks", [])
        watching = asyncio.ensure_future(_watch_marks(engine, marks))
        await rt.clock.sleep(300)  # 10 cycles watched
        watching.cancel()
        engine.request_stop()

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, later)
    unwatched = [e for e in out.of(api.CondorMarked) if e.seq <= seen["seq_unwatched"]]
    assert unwatched == []
    snap: api.Snapshot = seen["snap"]
    (held,) = [v for v in snap.condors if v.state == "open"]
    assert held.mark is not None and held.unrealized_pnl is not None
    marks: list[api.CondorMarked] = seen["marks"]
    assert len(marks) >= 9
    assert {m.condor_id for m in marks} == {held.id}
    assert all(m.mark is not None and m.spot > 0 for m in marks)


async def _watch_marks(engine: Any, into: list[api.CondorMarked]) -> None:
    """An attached console, keeping the marks it receives."""
    async for event in engine.events(engine.bus.seq):
        if isinstance(event, api.CondorMarked):
            into.append(event)
