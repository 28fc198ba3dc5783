"""Replayed broker events are harmless; stopping the engine leaves the stops working."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.broker.base import CommissionReceived, ExecutionReceived, OrderUpdated
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import CommissionReport
from condordesk.engine import api
from tests.engine.harness import make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_replayed_executions_and_reports_change_nothing(tmp_path: Path) -> None:
    async def replay_everything(rt: Runtime) -> None:
        await until(
            rt, lambda: any(lc.state is CondorState.OPEN for lc in rt.engine.desk.live.values())
        )
        live = next(lc for lc in rt.engine.desk.live.values() if lc.state is CondorState.OPEN)
        before = (len(rt.journal.fills(live.id)), rt.journal.condor(live.id))
        # the broker replays the day's executions (as IB does on every connection)
        for execution, commission in await rt.broker.executions():
            rt.engine.desk.on_broker_event(ExecutionReceived(execution))
            if commission is not None:
                rt.engine.desk.on_broker_event(CommissionReceived(commission))
                rt.engine.desk.on_broker_event(
                    CommissionReceived(
                        CommissionReport(commission.exec_id, commission.commission * 2)
                    )
                )
        for report in await rt.broker.open_orders():
            rt.engine.desk.on_broker_event(OrderUpdated(report))
        assert (len(rt.journal.fills(live.id)), rt.journal.condor(live.id)) == before
        assert rt.engine.desk.live[live.id].state is CondorState.OPEN

    out = run_engine(make_profile(), tmp_path, replay_everything)
    recorded = out.of(api.FillRecorded)
    assert len(recorded) == len({f.exec_id for f in recorded})
    for rec in out.runtime.journal.condors(states=[CondorState.CLOSED]):
        fills = out.runtime.journal.fills(rec.id)
        assert sum(f.commission or 0 for f in fills) == rec.commissions


def test_stopping_mid_session_keeps_the_journal_and_the_stops_at_the_broker(tmp_path: Path) -> None:
    async def stop_after_open(rt: Runtime) -> None:
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        rt.engine.request_stop()

    out = run_engine(make_profile(), tmp_path, stop_after_open)
    assert out.of(api.EngineStopped)[0].reason == "stop requested"
    (rec,) = out.runtime.journal.condors(states=[CondorState.OPEN])
    stop_refs = {
        o.order_ref for o in out.runtime.journal.orders(rec.id) if o.role.value.startswith("stop")
    }

    async def at_broker() -> set[str]:
        await out.runtime.broker.connect()
        try:
            return {o.order_ref for o in await out.runtime.broker.open_orders()}
        finally:
            await out.runtime.broker.disconnect()

    from condordesk.market.vtime import run_virtual

    assert run_virtual(at_broker()) == stop_refs
    assert len(stop_refs) == 2


def test_commands_pause_resume_and_flatten_are_journaled_with_their_origin(tmp_path: Path) -> None:
    acks: list[api.Ack] = []

    async def operator(rt: Runtime) -> None:
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        acks.append(await rt.engine.submit(api.PauseEntries(origin="test", reason="lunch")))
        acks.append(await rt.engine.submit(api.CloseCondor(origin="test", condor_id="nope")))
        acks.append(await rt.engine.submit(api.FlattenAll(origin="test")))
        await asyncio.sleep(0)
        rt.engine.request_stop()

    out = run_engine(make_profile(), tmp_path, operator)
    assert [a.accepted for a in acks] == [True, False, True]
    assert "no live condor" in acks[1].reason
    received = out.of(api.CommandReceived)
    assert [(c.command, c.origin, c.accepted) for c in received] == [
        ("PauseEntries", "test", True),
        ("CloseCondor", "test", False),
        ("FlattenAll", "test", True),
    ]
    assert [c.reason for c in out.of(api.CondorClosed)] == ["flatten"]
    assert out.runtime.journal.get_state("paused_reason") == "lunch; flatten"  # reasons stack
    kinds = [k for _, _, k, _ in out.runtime.journal.events(limit=10_000)]
    assert "CommandReceived" in kinds and "EntriesPaused" in kinds
