"""``condordesk`` and ``condordesk tui``: the console gets a handle on the profile's running
engine, or on an engine of its own (a stand-in console records what it got)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.cli import main
from condordesk.engine.control import socket_path
from condordesk.store.journal import Journal
from tests.control.procs import ROOT, HeadlessEngine, ctl_json

pytestmark = pytest.mark.usefixtures("warm_calendar")


def run_console(home: Path, report: Path, *args: str) -> tuple[dict[str, Any], str]:
    """``condordesk ARGS`` with the stand-in console; its report and the process's stderr."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.control.fake_console", str(report), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CONDORDESK_HOME": str(home)},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(report.read_text()), run.stderr


def test_condordesk_alone_opens_the_console_on_an_engine_of_its_own(
    condordesk_home: Path, tmp_path: Path
) -> None:
    report, stderr = run_console(
        condordesk_home, tmp_path / "report.json", "--start-date", "2026-12-01", "--seed", "3"
    )
    assert report["attached"] is False and report["profile"] == "sim"
    assert report["handle"] == "EmbeddedHandle"
    assert report["socket_answers"] is True  # ctl and other consoles can attach to it
    assert report["started_ts"].startswith("2026-12-01T14:25")  # --start-date applied
    assert report["account"] and report["ack"] == [True, ""]
    assert report["paused"] == ["tui", "fake console"]
    # leaving the console stopped its engine: lock released, socket gone
    assert report["engine_running_after"] is False and report["socket_answers_after"] is False
    assert not socket_path("sim").exists()
    assert report["textual_loaded"] is False and report["exit_code"] == 0
    # the engine logged to its file, never over the console's terminal
    log = (condordesk_home / "log" / "sim.log").read_text()
    assert "control socket listening" in log and "control socket" not in stderr
    journal = Journal(condordesk_home / "data" / "journal-sim.sqlite3")
    try:
        kinds = [k for _, _, k, _ in journal.events(0, 10_000)]
        origins = [p["origin"] for _, _, k, p in journal.events(0, 10_000) if k == "EntriesPaused"]
    finally:
        journal.close()
    assert kinds[0] == "EngineStarted" and kinds[-1] == "EngineStopped"
    assert origins == ["tui"]


def test_the_console_attaches_to_a_running_engine_and_leaves_it_trading(
    condordesk_home: Path, tmp_path: Path
) -> None:
    engine = HeadlessEngine(
        condordesk_home,
        *("--speed", "300", "--sessions", "0", "--start-date", "2026-11-30", "--seed", "7"),
    )
    try:
        engine.wait_for("control socket listening")
        report, _ = run_console(
            condordesk_home, tmp_path / "report.json", "tui", "--profile", "sim"
        )
        assert report["attached"] is True and report["handle"] == "AttachedHandle"
        assert report["ack"] == [True, ""] and report["paused"] == ["tui", "fake console"]
        assert report["reopened_paused_reason"] == "fake console"  # reconnects see the state
        assert report["engine_running_after"] is True and report["socket_answers_after"] is True
        assert engine.proc.poll() is None  # closing the console never stops the engine
        status = ctl_json("status", home=condordesk_home)
        assert status["paused_reason"] == "fake console" and status["engine_pid"] == engine.proc.pid
        assert engine.stop() == 0
    finally:
        engine.kill()


def test_a_console_cannot_run_the_simulator_in_virtual_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tui", "--speed", "max"]) == 2
    assert "speed = 'max'" in capsys.readouterr().err


def test_the_headless_engine_never_loads_the_console(condordesk_home: Path) -> None:
    code = (
        "import sys; from condordesk.app.cli import main; "
        "rc = main(['--autotrade', '--speed', 'max', '--sessions', '1', '--seed', '5', "
        "'--start-date', '2026-12-02']); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'tui', 'gui', 'PySide6', 'rich')); "
        "print(','.join(bad)); sys.exit(rc or (3 if bad else 0))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "CONDORDESK_HOME": str(condordesk_home)},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "control socket listening" in run.stderr  # it served its socket meanwhile
