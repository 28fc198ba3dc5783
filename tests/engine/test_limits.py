"""Pause reasons stack; a resume or an acknowledgement never lifts a risk limit (issue 12,
invariants 5 and 14)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.engine import api
from condordesk.engine.pauses import DAILY_LOSS, FLATTEN, OPERATOR, RECONCILE
from condordesk.market.vtime import run_virtual
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
TINY_LIMIT = make_profile(
    strategy={"max_concurrent": 1},
    risk={"daily_max_loss": "0.01", "first_trade_profit_pct": 0, "profit_close_price": 0},
)


def test_pause_reasons_stack_and_each_command_lifts_only_its_own(tmp_path: Path) -> None:
    rt = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3")
    engine = rt.engine
    acks: list[api.Ack] = []

    async def script() -> None:
        engine.add_pause(DAILY_LOSS, "daily max loss (-10.00)", "engine")
        engine.add_pause(RECONCILE, "reconcile: 1 unexplained finding(s)", "engine")
        acks.append(await engine.submit(api.PauseEntries(origin="tui", reason="lunch")))
        assert engine.snapshot().paused_reasons == [
            "lunch",
            "daily max loss (-10.00)",
            "reconcile: 1 unexplained finding(s)",
        ]
        snap = engine.snapshot()
        assert snap.paused_reason == "; ".join(snap.paused_reasons)
        assert api.from_wire(api.to_wire(snap)).paused_reasons == snap.paused_reasons  # consoles
        acks.append(await engine.submit(api.AcknowledgeAlerts(origin="tui")))
        assert engine.pauses.kinds == [OPERATOR, DAILY_LOSS]  # only the alert reason went
        acks.append(await engine.submit(api.ResumeEntries(origin="telegram")))
        assert engine.pauses.kinds == [DAILY_LOSS]  # the risk limit holds
        assert engine.paused_reason == "daily max loss (-10.00)"

    events: list[api.Event] = []
    engine.bus.add_listener(events.append)
    run_virtual(script())
    assert all(a.accepted for a in acks)
    assert acks[2].reason == "entries stay paused: daily max loss (-10.00)"  # said in the ack
    assert acks[1].reason == "entries stay paused: lunch; daily max loss (-10.00)"
    assert not [e for e in events if isinstance(e, api.EntriesResumed)]
    still = [e for e in events if isinstance(e, api.AlertRaised) and e.code == "still_paused"]
    assert still and "daily max loss" in still[-1].message
    # journaled: a new engine on the same journal has the same reasons
    again = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3").engine
    assert again.pauses.kinds == [DAILY_LOSS]


def test_resume_and_acknowledge_never_lift_the_daily_max_loss(tmp_path: Path) -> None:
    resumed_at: list[object] = []

    async def operator(rt: Runtime) -> None:
        await until(rt, lambda: DAILY_LOSS in rt.engine.pauses)
        rt.engine.add_pause(RECONCILE, "reconcile: 1 unexplained finding(s)", "engine")
        await rt.engine.submit(api.AcknowledgeAlerts(origin="test"))
        await rt.engine.submit(api.ResumeEntries(origin="telegram"))
        resumed_at.append(rt.clock.now())
        assert rt.engine.pauses.kinds == [DAILY_LOSS]
        assert rt.engine.state == "paused"

    out = run_engine(TINY_LIMIT, tmp_path, operator)
    assert resumed_at
    entries = [e for e in out.of(api.OrderSubmitted) if e.role == "entry"]
    later = [e for e in entries if e.ts and e.ts >= resumed_at[0]]
    assert later == []  # no new condor after the resume
    assert out.of(api.EntriesResumed) == []


def test_the_daily_loss_pause_survives_a_restart_the_same_day_and_lifts_the_next(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    first = build_sim(TINY_LIMIT, journal_path=path)
    session = first.calendar.next_session(at(DAY, "08:00"))
    first.engine._daily_reset(session)
    first.engine._realized_today = -first.engine.rules.daily_max_loss * 2
    first.engine._check_daily_loss()
    assert DAILY_LOSS in first.engine.pauses

    again = build_sim(TINY_LIMIT, journal_path=path).engine  # a restart the same day
    again._daily_reset(session)
    assert again.pauses.kinds == [DAILY_LOSS] and again._daily_loss_hit

    following = first.calendar.next_session(session.close + timedelta(hours=1))
    again._daily_reset(following)
    assert again.pauses.kinds == [] and again.paused_reason is None


def test_flatten_and_operator_pauses_are_lifted_by_resume(tmp_path: Path) -> None:
    rt = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3")

    async def script() -> None:
        rt.engine.add_pause(FLATTEN, "flatten", "tui")
        rt.engine.add_pause(OPERATOR, "lunch", "tui")
        await rt.engine.submit(api.ResumeEntries(origin="tui"))

    run_virtual(script())
    assert not rt.engine.pauses and rt.engine.paused_reason is None


def test_unreadable_journaled_pause_reasons_keep_entries_paused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    rt = build_sim(make_profile(), journal_path=path)
    rt.journal.set_state("pauses", "{not json")
    again = build_sim(make_profile(), journal_path=path).engine
    assert again.pauses.kinds == [OPERATOR]  # fail closed: an operator looks, then resumes
    assert again.paused_reason is not None and "could not be read" in again.paused_reason
