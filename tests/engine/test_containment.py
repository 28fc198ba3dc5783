"""Nothing kills the engine: an exception in a trading cycle, an exit flow, a background task,
the broker-event consumer, a command or the heartbeat is contained. It is logged and alerted
as critical, entries pause (kind ``fault``), the stops stay at the broker, a reconciliation
repairs the state from the broker's truth, and ``Engine.run()`` carries on to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.domain.condor import CondorState, IllegalTransition
from condordesk.domain.orders import OrderRole
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from condordesk.engine.safety import REPEAT_QUIET_S
from condordesk.errors import JournalError
from tests.engine.harness import Outcome, make_profile, run_engine, until
from tests.engine.test_trading_day import _slide_down, assert_flat

pytestmark = pytest.mark.usefixtures("warm_calendar")


def _faults(out: Outcome) -> list[api.AlertRaised]:
    return [a for a in out.of(api.AlertRaised) if a.code == "fault"]


def _assert_safe_state(out: Outcome, where: str) -> None:
    """A critical alert naming ``where``, a fault pause, then a reconciliation."""
    faults = [a for a in _faults(out) if where in a.message]
    assert faults and faults[0].level == "critical", [a.message for a in _faults(out)]
    paused = [p for p in out.of(api.EntriesPaused) if p.reason.startswith("fault")]
    assert paused and paused[0].ts <= faults[0].ts
    assert [r for r in out.of(api.ReconcileCompleted) if r.reason == "fault"]
    assert out.of(api.EngineStopped)[-1].reason == "done"  # run() went on to its end


def _no_entry_after(out: Outcome, ts: object) -> None:
    entries = [e for e in out.of(api.OrderSubmitted) if e.role == "entry" and e.ts > ts]  # type: ignore[operator]
    assert entries == []


def test_an_exception_in_a_trading_cycle_is_contained(tmp_path: Path) -> None:
    raised: list[object] = []

    async def script(rt: Runtime) -> None:
        await until(
            rt, lambda: any(lc.state is CondorState.OPEN for lc in rt.engine.desk.live.values())
        )
        original = rt.engine.entries.maybe_enter

        async def broken(*args: Any, **kwargs: Any) -> None:
            if not raised:
                raised.append(rt.clock.now())
                raise RuntimeError("a bug in the entry logic")
            await original(*args, **kwargs)

        rt.engine.entries.maybe_enter = broken  # type: ignore[method-assign]

    out = run_engine(make_profile(strategy={"entry_end": "14:00"}), tmp_path, script)
    _assert_safe_state(out, "the trading cycle")
    _no_entry_after(out, raised[0])  # the fault pause holds for the session
    opened = {o.condor_id for o in out.of(api.CondorOpened)}
    assert opened == {c.condor_id for c in out.of(api.CondorClosed)}  # protection kept
    assert not [s for s in out.of(api.StopCancelled) if "fault" in s.reason]
    assert_flat(out.runtime)


def test_an_exit_flow_that_dies_on_an_illegal_transition_is_repaired_by_a_reconcile(
    tmp_path: Path,
) -> None:
    """The stop's own exit flow (a background task) hits an impossible state at its end; the
    engine does not die, and the broker's truth (flat) closes the condor in the journal."""
    broken: list[str] = []

    async def script(rt: Runtime) -> None:
        exits = rt.engine.desk.exits
        original = exits._end

        async def end(live: LiveCondor, reason: Any) -> None:
            if not broken:
                broken.append(live.id)
                raise IllegalTransition("condor cannot go from closed to open")
            await original(live, reason)

        exits._end = end  # type: ignore[method-assign]
        await _slide_down(rt)

    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})
    out = run_engine(profile, tmp_path, script)
    _assert_safe_state(out, "background task")
    assert "IllegalTransition" in _faults(out)[0].message
    closed = [c for c in out.of(api.CondorClosed) if c.condor_id == broken[0]]
    assert closed and closed[0].reason in ("stop_limit", "stop_market")
    assert out.runtime.journal.condor(broken[0]).state is CondorState.CLOSED  # type: ignore[union-attr]
    assert_flat(out.runtime)


def test_a_spawned_task_that_dies_is_never_silent(tmp_path: Path) -> None:
    async def script(rt: Runtime) -> None:
        await until(rt, lambda: rt.engine.state == "armed")

        async def doomed() -> None:
            await rt.clock.sleep(1)
            raise KeyError("lost")

        rt.engine.desk.spawn(doomed())

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    _assert_safe_state(out, "background task")
    assert "doomed" in _faults(out)[0].message


def test_the_broker_event_consumer_is_restarted_after_it_breaks(tmp_path: Path) -> None:
    """The stream of broker events breaks once, and an event cannot be applied once: both are
    contained, the consumer opens the stream again, and later fills still arrive."""
    state = {"streams": 0, "bad_event": False}
    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})
    rt = build_sim(profile, journal_path=tmp_path / "journal.sqlite3")
    broker, desk = rt.broker, rt.engine.desk
    original_events, original_apply = broker.events, desk.on_broker_event

    async def breaking() -> AsyncIterator[Any]:
        state["streams"] += 1
        first = state["streams"] == 1
        seen = 0
        async for event in original_events():
            yield event
            seen += 1
            if first and seen >= 5:
                raise ConnectionResetError("the event stream broke")

    def apply(event: Any) -> None:
        if not state["bad_event"] and type(event).__name__ == "OrderUpdated":
            state["bad_event"] = True
            raise ValueError("cannot apply this event")
        original_apply(event)

    broker.events = breaking  # type: ignore[method-assign]  # before the engine subscribes
    desk.on_broker_event = apply  # type: ignore[method-assign]

    out = run_engine(profile, tmp_path, runtime=rt)
    _assert_safe_state(out, "broker-event consumer")
    assert any("applying the broker's OrderUpdated" in a.message for a in _faults(out))
    assert state["streams"] >= 2  # opened again
    opened = {o.condor_id for o in out.of(api.CondorOpened)}
    assert opened and opened == {c.condor_id for c in out.of(api.CondorClosed)}
    assert_flat(out.runtime)


def test_a_command_that_fails_while_carried_out_is_contained(tmp_path: Path) -> None:
    acks: list[api.Ack] = []

    async def script(rt: Runtime) -> None:
        await until(
            rt, lambda: any(lc.state is CondorState.OPEN for lc in rt.engine.desk.live.values())
        )
        cid = next(iter(rt.engine.desk.live))

        async def close(*args: Any, **kwargs: Any) -> bool:
            raise RuntimeError("close blew up")

        original = rt.engine.desk.close
        rt.engine.desk.close = close  # type: ignore[method-assign]
        acks.append(await rt.engine.submit(api.CloseCondor(condor_id=cid, origin="tui")))
        rt.engine.desk.close = original  # type: ignore[method-assign]

    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})
    out = run_engine(profile, tmp_path, script)
    assert acks and not acks[0].accepted and "close blew up" in acks[0].reason
    _assert_safe_state(out, "command CloseCondor")
    assert_flat(out.runtime)


def test_a_heartbeat_that_raises_is_contained(tmp_path: Path) -> None:
    calls: list[int] = []

    async def script(rt: Runtime) -> None:
        def heartbeat(status: str) -> None:
            calls.append(1)
            if len(calls) == 3:
                raise OSError("supervisor hook broke")

        rt.engine.heartbeat, rt.engine.heartbeat_s = heartbeat, 60.0

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    _assert_safe_state(out, "the heartbeat")
    assert len(calls) > 3  # called again after it failed


def test_a_close_the_journal_refuses_does_not_kill_the_engine(tmp_path: Path) -> None:
    """The issue's crash loop: a rule's close whose intent the journal refuses (a reused ref,
    UNIQUE constraint failed) used to end ``engine.run()``. Now the cycle contains it, the
    reconcile opens the condor again, and the rules close it on a later cycle."""
    refused: list[str] = []

    async def script(rt: Runtime) -> None:
        journal = rt.journal
        original = journal.record_intent

        def record_intent(condor_id: str, role: OrderRole, *args: Any) -> None:
            if role is OrderRole.CLOSE and not refused:
                refused.append(condor_id)
                raise JournalError("journal write refused: UNIQUE constraint failed")
            original(condor_id, role, *args)

        journal.record_intent = record_intent  # type: ignore[method-assign]

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    assert refused, "no close was sent"
    faults = _faults(out)
    assert faults and "UNIQUE constraint failed" in faults[0].message
    _assert_safe_state(out, "")
    closed = [c for c in out.of(api.CondorClosed) if c.condor_id == refused[0]]
    assert closed, "the condor was closed after all"
    assert_flat(out.runtime)


def test_a_fault_that_repeats_every_cycle_is_alerted_once_per_quiet_period(
    tmp_path: Path,
) -> None:
    calls: list[int] = []

    async def script(rt: Runtime) -> None:
        def broken(session: Any) -> None:
            calls.append(1)
            raise ZeroDivisionError("a bug in the market update")

        rt.engine._publish_market = broken  # type: ignore[method-assign]

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    alerts = [a for a in _faults(out) if "the market update" in a.message]
    session_s = 6.5 * 3600
    assert len(calls) > 100  # it failed on every cycle...
    assert 2 <= len(alerts) <= session_s / REPEAT_QUIET_S + 1  # ...and was alerted sparingly
    gaps = [(b.ts - a.ts).total_seconds() for a, b in pairwise(alerts)]
    assert min(gaps) >= REPEAT_QUIET_S
    assert out.of(api.EngineStopped)[-1].reason == "done"


def test_an_event_stream_that_ends_while_the_engine_runs_is_not_silent(tmp_path: Path) -> None:
    """The broker's stream ends on its own (as at the broker's close): the engine does not
    run on deaf; it is a fault, and the stream is opened again."""
    state = {"streams": 0}
    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})
    rt = build_sim(profile, journal_path=tmp_path / "journal.sqlite3")
    original = rt.broker.events

    async def ending() -> AsyncIterator[Any]:
        state["streams"] += 1
        if state["streams"] == 1:
            await until(rt, lambda: rt.engine.state == "armed")
            return
        async for event in original():
            yield event

    rt.broker.events = ending  # type: ignore[method-assign]  # before the engine subscribes
    out = run_engine(profile, tmp_path, runtime=rt)
    _assert_safe_state(out, "broker-event consumer")
    assert "stream ended" in _faults(out)[0].message
    assert state["streams"] >= 2
    assert_flat(out.runtime)


def test_a_command_whose_validation_fails_is_refused_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acks: list[api.Ack] = []

    def broken_accept(engine: Any, command: Any) -> api.Ack:
        raise AttributeError("a validation bug")

    async def script(rt: Runtime) -> None:
        await until(rt, lambda: rt.engine.state == "armed")
        monkeypatch.setattr("condordesk.engine.service.accept", broken_accept)
        acks.append(await rt.engine.submit(api.PauseEntries(reason="lunch", origin="tui")))
        monkeypatch.undo()

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    assert acks and not acks[0].accepted and "a validation bug" in acks[0].reason
    received = [c for c in out.of(api.CommandReceived) if c.command == "PauseEntries"]
    assert received and not received[0].accepted
    _assert_safe_state(out, "validating PauseEntries")
