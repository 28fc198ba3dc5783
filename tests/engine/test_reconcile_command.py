"""``condordesk reconcile``: read-only findings, safe repairs, and one engine per profile."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest

from condordesk.app import cli
from condordesk.engine.repair import reconcile_once, render_plan
from condordesk.engine.service import risk_rules
from condordesk.ops.runlock import EngineLock, EngineRunning, engine_running
from tests.engine.crash import Crash, run_crash
from tests.engine.harness import make_profile, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
PROFILE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


def test_read_only_reconcile_reports_a_missing_stop_and_changes_nothing_then_repair_fixes_it(
    tmp_path: Path,
) -> None:
    async def scenario(c: Crash) -> None:
        # the engine runs until its condor is protected, then is stopped (stops stay working)
        engine = c.rt.engine
        task = asyncio.ensure_future(engine.run())
        await until(
            c.rt, lambda: any(lc.stop_state == "verified" for lc in engine.desk.live.values())
        )
        engine.request_stop()
        await task
        await c.broker.connect()
        cid = c.rt.journal.condors()[0].id
        stop_id = next(o.order_id for o in c.rt.journal.orders(cid) if o.role.value == "stop-limit")
        assert c.broker.cancel_order_by_hand(stop_id)
        rules = risk_rules(PROFILE)
        journal_rows = len(c.rt.journal.orders())

        look = await reconcile_once(
            c.broker, c.rt.journal, c.rt.clock, rules, repair_safe=False, today=DAY
        )
        doc = json.loads(json.dumps(look.to_json()))
        (condor,) = doc["open_condors"]
        assert condor["id"] == cid and condor["stop_ok"] is False and len(condor["legs"]) == 4
        assert [f["code"] for f in doc["findings"]] == ["stop_missing"]
        assert len(c.rt.journal.orders()) == journal_rows  # read-only: nothing journaled
        assert len(await c.broker.open_orders()) == 1  # nor sent

        fixed = await reconcile_once(
            c.broker, c.rt.journal, c.rt.clock, rules, repair_safe=True, today=DAY
        )
        assert [f.code for f in fixed.findings] == ["stop_missing"]
        again = await reconcile_once(
            c.broker, c.rt.journal, c.rt.clock, rules, repair_safe=False, today=DAY
        )
        assert again.to_json()["findings"] == []
        assert again.checks[0].stop_ok
        assert len(await c.broker.open_orders()) == 2
        assert "stops OK" in render_plan(again)

    run_crash(PROFILE, tmp_path, scenario)


def test_the_reconcile_command_explains_why_it_cannot_reach_an_embedded_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["reconcile", "--profile", "sim"]) == 2
    err = capsys.readouterr().err
    assert "lives inside the engine process" in err and "reconciles by itself" in err


def test_one_engine_per_profile() -> None:
    with EngineLock("sim"):
        assert engine_running("sim")
        with pytest.raises(EngineRunning, match="already running"):
            EngineLock("sim").acquire()
        assert cli.main(["--autotrade", "--sessions", "1", "--speed", "max"]) == 1
    assert not engine_running("sim")
    with EngineLock("sim"):
        pass
