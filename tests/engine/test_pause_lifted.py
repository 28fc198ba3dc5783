"""Lifting one pause reason while others hold is news a console must hear: PauseLifted
names the reason lifted and the ones that remain (EntriesResumed only when none does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from tests.engine.harness import make_profile, run_engine

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_a_resume_that_leaves_a_fault_pause_says_what_still_holds(tmp_path: Path) -> None:
    async def operator(rt: Runtime) -> None:
        engine = rt.engine
        assert (await engine.submit(api.PauseEntries(reason="operator", origin="tui"))).accepted
        engine.add_pause("fault", "fault: a cycle failed", "engine")
        await engine.submit(api.ResumeEntries(origin="tui"))
        engine.request_stop()

    out = run_engine(make_profile(), tmp_path, operator)
    lifted = out.of(api.PauseLifted)
    assert [(e.reason, e.origin, e.remaining) for e in lifted] == [
        ("operator", "tui", ["fault: a cycle failed"])
    ]
    assert not [e for e in out.of(api.EntriesResumed) if e.seq > lifted[0].seq]
