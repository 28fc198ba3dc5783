"""The engine handle a console holds: snapshot, events(since), submit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from tests.engine.harness import make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_a_snapshot_shows_the_open_condor_with_its_stops_and_a_late_subscriber_catches_up(
    tmp_path: Path,
) -> None:
    seen: dict[str, object] = {}

    async def console(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        await rt.clock.sleep(120)  # a few marks later
        snap = engine.snapshot()
        seen["snapshot"] = snap
        # a console attaching now: the journaled history first, then live events, in order
        stream = engine.events(since=0)
        got = [await asyncio.wait_for(anext(stream), 1) for _ in range(4)]
        seen["replayed"] = got
        await engine.submit(api.PauseEntries(origin="tui", reason="watching"))
        live = await asyncio.wait_for(anext(stream), 60)
        while not isinstance(live, api.EntriesPaused):
            live = await asyncio.wait_for(anext(stream), 60)
        seen["live"] = live
        engine.request_stop()

    run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, console)
    snap = seen["snapshot"]
    assert isinstance(snap, api.Snapshot)
    assert snap.state == "armed" and snap.connected and snap.spot is not None
    (view,) = [c for c in snap.condors if c.state == "open"]
    assert view.credit is not None and view.stop_state == "verified"
    assert (
        view.stop_trigger is not None
        and view.stop_limit is not None
        and view.stop_backup is not None
    )
    assert view.mark is not None and view.unrealized_pnl is not None
    replayed = seen["replayed"]
    assert isinstance(replayed, list)
    assert [type(e).__name__ for e in replayed][:1] == ["EngineStarted"]
    seqs = [e.seq for e in replayed]
    assert seqs == sorted(seqs) and seqs[-1] < snap.seq
    assert not any(e.transient for e in replayed)  # marks are live only, never replayed
    paused = seen["live"]
    assert isinstance(paused, api.EntriesPaused) and paused.origin == "tui"


def test_an_operator_cancelled_stop_stays_cancelled_and_quiet(tmp_path: Path) -> None:
    """CancelStop leaves the condor unprotected as asked: the broker's cancel reports do not
    make the engine think the stop went missing (no re-arm, no reconcile every cycle)."""
    seen: dict[str, object] = {}

    async def operator(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        cid = next(iter(engine.desk.live))
        ack = await engine.submit(api.CancelStop(condor_id=cid, origin="tui"))
        assert ack.accepted
        await rt.clock.sleep(15 * 60)  # a quarter of an hour of cycles
        seen["state"] = engine.desk.live[cid].stop_state
        engine.request_stop()

    out = run_engine(
        make_profile(
            strategy={"max_concurrent": 1},
            risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
        ),
        tmp_path,
        operator,
    )
    assert seen["state"] == "cancelled-by-operator"
    cid = out.of(api.StopCancelled)[0].condor_id
    assert len([e for e in out.of(api.StopPlaced) if e.condor_id == cid]) == 1  # not re-armed
    stop_checks = [e for e in out.of(api.ReconcileCompleted) if e.reason == "stop event"]
    assert stop_checks == []
    assert any(a.code == "unprotected" for a in out.of(api.AlertRaised))
