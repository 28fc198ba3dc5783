"""The ``condordesk`` command as a user runs it (a real process, the installed entry point)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("warm_calendar")

REQUIRED = {
    "id",
    "state",
    "legs",
    "credit",
    "stop_order_ids",
    "exit_reason",
    "commissions",
    "realized_pnl",
}


def cd(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDORDESK_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "condordesk.app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_five_fast_sessions_write_a_summary_and_a_journal(
    tmp_path: Path, condordesk_home: Path
) -> None:
    summary_path = tmp_path / "out.json"
    run = cd(
        "--autotrade",
        "--profile",
        "sim",
        "--speed",
        "max",
        "--sessions",
        "5",
        "--seed",
        "7",
        "--start-date",
        "2026-11-30",
        "--summary-json",
        str(summary_path),
        home=condordesk_home,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(summary_path.read_text())
    assert summary["sessions"] == 5
    assert summary["condors_opened"] > 0
    assert summary["condors_opened"] == summary["condors_closed"]
    assert sum(summary["closed_by_reason"].values()) == summary["condors_closed"]
    assert summary["stops_placed"] >= summary["condors_opened"]
    assert summary["errors"] == 0
    per_day = summary["per_session"]
    assert [d["day"] for d in per_day] == [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
    ]

    listing = cd("journal", "--profile", "sim", "--json", home=condordesk_home)
    assert listing.returncode == 0, listing.stderr
    condors = json.loads(listing.stdout)
    traded = [c for c in condors if c["state"] == "closed"]
    assert len(traded) == summary["condors_opened"]
    for c in traded:
        assert set(c) >= REQUIRED
        assert len(c["legs"]) == 4 and len(c["stop_order_ids"]) >= 2
        assert c["exit_reason"] in summary["closed_by_reason"]
    total = sum(float(c["realized_pnl"]) for c in traded)
    assert round(total, 2) == float(summary["realized_pnl"])

    table = cd("journal", "--profile", "sim", home=condordesk_home)
    assert table.returncode == 0
    assert traded[0]["id"] in table.stdout and "P&L" in table.stdout


def test_the_same_seed_gives_the_same_day(condordesk_home: Path, tmp_path: Path) -> None:
    outs = []
    for n in (1, 2):
        path = tmp_path / f"s{n}.json"
        run = cd(
            "--autotrade",
            "--speed",
            "max",
            "--sessions",
            "1",
            "--seed",
            "3",
            "--start-date",
            "2026-12-01",
            "--summary-json",
            str(path),
            home=condordesk_home,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        outs.append(json.loads(path.read_text()))
    assert outs[0] == outs[1]


def test_a_broken_profile_is_refused_with_exit_code_2_and_a_clear_message(
    tmp_path: Path, condordesk_home: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[strategy]\ntarget_delta = 0.9\nwing_width = 10\n")
    check = cd("profile", "check", str(bad), home=condordesk_home)
    assert check.returncode == 2
    assert f"{bad}: strategy.target_delta" in check.stderr
    assert "strategy.wing_width: unknown key" in check.stderr
    assert "Traceback" not in check.stderr

    run = cd("--autotrade", "--profile", str(bad), home=condordesk_home)
    assert run.returncode == 2 and "strategy.target_delta" in run.stderr

    override = cd("--autotrade", "--set", "broker.port=70000", home=condordesk_home)
    assert override.returncode == 2 and "broker.port" in override.stderr

    good = cd("profile", "check", "sim", "--set", "broker.port=4002", home=condordesk_home)
    assert good.returncode == 0 and "OK" in good.stdout


def test_sigterm_stops_cleanly_and_leaves_the_condor_protected(condordesk_home: Path) -> None:
    env = {**os.environ, "CONDORDESK_HOME": str(condordesk_home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "condordesk.app.cli",
            "--autotrade",
            "--speed",
            "600",
            "--sessions",
            "1",
            "--start-date",
            "2026-11-30",
            "--seed",
            "7",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "opened 2026" in line or time.monotonic() > deadline:
                break
        assert any("opened 2026" in s for s in seen), "".join(seen[-20:])
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest[-2000:]
    assert "SIGTERM received" in rest
    listing = cd("journal", "--profile", "sim", "--json", home=condordesk_home)
    condors = json.loads(listing.stdout)
    live = [c for c in condors if c["state"] == "open"]
    assert live and all(len(c["stop_order_ids"]) == 2 for c in live)


def test_the_headless_path_loads_no_ui_toolkit(condordesk_home: Path) -> None:
    code = (
        "import sys, condordesk.app.cli, condordesk.app.bootstrap, condordesk.engine.service; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'PySide6', 'pyqtgraph', 'qasync', 'tui', 'gui', 'ib_async', 'pandas')); "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "CONDORDESK_HOME": str(condordesk_home)}
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
