"""The engine handle a console holds: snapshot, events(since), submit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from condordesk.bootstrap import Runtime
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


MOVE_PROFILE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


async def working_stop_triggers(rt: Runtime, condor_id: str) -> list[object]:
    """Stop prices of the condor's stop orders working at the broker."""
    from condordesk.domain.orders import OrderRole, parse_order_ref

    out = []
    for rep in await rt.broker.open_orders():
        ref = parse_order_ref(rep.order_ref)
        if ref and ref[0] == condor_id and ref[1] is not OrderRole.CLOSE and rep.request:
            out.append(rep.request.stop_price)
    return out


def test_moving_a_stop_never_leaves_the_condor_without_one(tmp_path: Path) -> None:
    """MoveStop is make-before-break: when the old pair is cancelled the new one is already
    working at the broker (in the same OCA group), and afterwards exactly the new pair works;
    a gap through it then closes the condor once."""
    from decimal import Decimal

    seen: dict[str, object] = {}

    async def operator(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        cid = next(iter(engine.desk.live))
        live = engine.desk.live[cid]
        assert live.stop is not None
        new = live.stop.trigger + Decimal("0.50")
        at_cancel: list[list[object]] = []
        original = rt.broker.cancel_order

        async def watched(order_id: int) -> None:
            at_cancel.append(await working_stop_triggers(rt, cid))
            await original(order_id)

        rt.broker.cancel_order = watched  # type: ignore[method-assign]
        ack = await engine.submit(api.MoveStop(condor_id=cid, trigger=new, origin="tui"))
        assert ack.accepted
        rt.broker.cancel_order = original  # type: ignore[method-assign]
        seen["at_cancel"], seen["new"] = at_cancel, new
        seen["after"] = await working_stop_triggers(rt, cid)
        seen["state"] = live.stop_state
        spot = engine.snapshot().spot
        assert spot is not None
        rt.broker.gap(float(live.condor.long_put - spot) - 10)  # type: ignore[attr-defined]

    out = run_engine(MOVE_PROFILE, tmp_path, operator)
    new = seen["new"]
    assert isinstance(new, Decimal)
    at_cancel = seen["at_cancel"]
    assert isinstance(at_cancel, list) and len(at_cancel) == 2  # the old pair, one by one
    for working in at_cancel:  # the new pair was working at each cancel
        assert new in working and new + Decimal("0.30") in working
    assert sorted(seen["after"]) == [new, new + Decimal("0.30")]  # type: ignore[type-var]
    assert seen["state"] == "verified"
    assert not any(a.code == "extra_stop" for a in out.of(api.AlertRaised))
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason.startswith("stop")
    from tests.engine.test_trading_day import assert_flat

    assert_flat(out.runtime)  # one stop filled; nothing bought back twice


def test_a_move_whose_new_stop_is_rejected_still_ends_protected_at_the_new_trigger(
    tmp_path: Path,
) -> None:
    from decimal import Decimal

    seen: dict[str, object] = {}

    async def operator(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        cid = next(iter(engine.desk.live))
        live = engine.desk.live[cid]
        assert live.stop is not None
        new = live.stop.trigger + Decimal("0.50")
        rt.broker.reject_next("no such price today")  # type: ignore[attr-defined]
        ack = await engine.submit(api.MoveStop(condor_id=cid, trigger=new, origin="tui"))
        assert ack.accepted
        seen["new"], seen["state"] = new, live.stop_state
        seen["after"] = await working_stop_triggers(rt, cid)
        engine.request_stop()

    run_engine(MOVE_PROFILE, tmp_path, operator)
    new = seen["new"]
    assert isinstance(new, Decimal)
    assert seen["state"] == "verified"
    assert sorted(seen["after"]) == [new, new + Decimal("0.30")]  # type: ignore[type-var]
