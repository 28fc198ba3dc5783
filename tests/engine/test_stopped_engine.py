"""An engine that has stopped changes nothing any more: a command (or a command's failure)
that finishes after ``run()`` returned must not overwrite what the next engine on the same
journal holds (found by the stateful test: the old engine's failed ArmStops journaled its
stale pause set and lifted the new engine's daily max loss pause)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condordesk.app.bootstrap import build_sim
from condordesk.engine import api
from condordesk.engine.pauses import DAILY_LOSS, FAULT
from condordesk.market.vtime import run_virtual
from tests.engine.harness import make_profile

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_a_stopped_engine_never_overwrites_the_next_engines_pauses(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    old = build_sim(make_profile(simulator={"sessions": 1}), journal_path=journal)
    run_virtual(old.engine.run())  # a whole day; run() has returned
    assert old.engine.state == "stopped"

    new = build_sim(make_profile(), journal_path=journal).engine
    new.add_pause(DAILY_LOSS, "daily max loss (-125.00)", "engine")

    # a straggler of the old engine (a command that fails after it stopped) is contained
    old.engine.add_pause(FAULT, "fault: command ArmStops failed (NotConnected)", "engine")
    old.engine.lift_pause(DAILY_LOSS, "engine")

    again = build_sim(make_profile(), journal_path=journal).engine
    assert again.pauses.kinds == [DAILY_LOSS]  # what the live engine journaled holds


def test_a_stopped_engine_refuses_commands(tmp_path: Path) -> None:
    rt = build_sim(make_profile(simulator={"sessions": 1}), journal_path=tmp_path / "j.sqlite3")
    run_virtual(rt.engine.run())

    async def ask() -> api.Ack:
        return await rt.engine.submit(api.PauseEntries(origin="tui", reason="lunch"))

    ack = run_virtual(ask())
    assert not ack.accepted
    assert "stopped" in ack.reason
