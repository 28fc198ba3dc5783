"""An alert whose condition is over closes itself: a condor's stops verified again clear its
"unprotected" / "stop missing" alerts, and the engine says so (AlertCleared) to consoles."""

from __future__ import annotations

from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from condordesk.engine.clearing import cleared_by_verified_stop
from tests.engine.harness import make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_only_the_protection_alerts_of_that_condor_are_cleared() -> None:
    open_alerts = [
        "unprotected: condor 20261130-01 has no stop (tui cancelled it)",
        "stop_missing: condor 20261130-01 had no complete, correct stop pair at the broker",
        "unprotected: condor 20261130-011 has no stop (tui cancelled it)",
        "stop_missing: condor 20261130-02 had no complete, correct stop pair at the broker",
        "daily_loss: condor 20261130-01 took the day past its max loss",
    ]
    cleared = cleared_by_verified_stop("20261130-01", open_alerts)
    assert [code for code, _ in cleared] == ["unprotected", "stop_missing"]
    assert [text for _, text in cleared] == open_alerts[:2]


def test_re_arming_the_stops_clears_the_unprotected_alert_and_says_so(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    async def operator(rt: Runtime) -> None:
        engine = rt.engine
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        cid = next(iter(engine.desk.live))
        assert (await engine.submit(api.CancelStop(condor_id=cid, origin="tui"))).accepted
        await until(rt, lambda: any(a.startswith("unprotected") for a in engine.open_alerts))
        assert (await engine.submit(api.ArmStops(condor_id=cid, origin="tui"))).accepted
        await until(rt, lambda: engine.desk.live[cid].stop_state == "verified")
        await rt.clock.sleep(60)
        seen["alerts"] = list(engine.snapshot().open_alerts)
        engine.request_stop()

    out = run_engine(
        make_profile(
            strategy={"max_concurrent": 1},
            risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
        ),
        tmp_path,
        operator,
    )
    assert not any(a.startswith("unprotected") for a in seen["alerts"])  # type: ignore[attr-defined]
    cleared = out.of(api.AlertCleared)
    assert [(c.code, c.condor_id) for c in cleared] == [
        ("unprotected", out.of(api.StopCancelled)[0].condor_id)
    ]
    assert "stops verified at the broker again" in cleared[0].reason
    verified = [e.seq for e in out.of(api.StopVerified) if e.condor_id == cleared[0].condor_id]
    assert cleared[0].seq > max(verified)  # after the news it follows, never before it
