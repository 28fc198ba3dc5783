"""The ``condordesk`` command's edges (issue 14): bad input ends in a clear message and an
exit code, never a traceback; messages say what is true of the profile at hand; JSON money
is a string with two decimals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("warm_calendar")

TWO_DECIMALS = re.compile(r"-?\d+\.\d\d")
MONEY = {
    *("credits", "commissions", "commissions_of_open_condors", "realized_pnl"),
    *("target_credit", "credit", "stop_trigger", "stop_limit", "stop_backup_trigger"),
    "exit_debit",
}


def cd(
    *args: str, home: Path | None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, **({"CONDORDESK_HOME": str(home)} if home else {}), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "condordesk.app.cli", *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=timeout,
        check=False,
    )


BAD_INPUT = [
    (["gateway", "--port", "99999"], "a port is 1-65535"),
    (["gateway", "--port", "http"], "not a port number"),
    (["gateway", "--start", "25:99"], "neither a time HH:MM"),
    (["gateway", "--speed", "-1"], "must be a positive factor"),
    (["gateway", "--spot", "nan"], "must be a positive level"),
    (["gateway", "--scenario", "bogus"], "invalid choice: 'bogus'"),
    (["--autotrade", "--live", "--sessions", "1"], "trades the simulator"),
    (["--autotrade", "--start-date", "2026-12-05", "--sessions", "1"], "not a trading day"),
    (
        ["--autotrade", "--start-date", "2026-12-25", "--sessions", "1"],
        "next session is 2026-12-28",
    ),
    (["--autotrade", "--start-date", "2026-13-05", "--sessions", "1"], "must be a date"),
    (["--autotrade", "--sessions", "x"], "invalid int value"),
    (["journal", "--day", "yesterday"], "not a date YYYY-MM-DD"),
    (["ctl", "move-stop", "c1", "--trigger", "abc"], "not a price"),
    (["profile", "check", "no-such-profile"], "no profile named"),
    (["profile", "new", "bad name!"], "invalid profile name"),
    (["reconcile", "--profile", "/nonexistent.toml"], "profile"),
    (["--autotrade", "--log-level", "LOUD"], "'LOUD' is not one of TRACE, DEBUG"),
    (
        ["--autotrade", "--summary-json", "/nonexistent/dir/s.json"],
        "no directory '/nonexistent/dir'",
    ),
    (["gateway", "--partial-fills", "x"], "not a whole number: 'x'"),
    (["gateway", "--piece-interval", "soon"], "not a number of seconds"),
    (["ctl", "--timeout", "-1", "status"], "must be more than 0 seconds"),
]


@pytest.mark.parametrize(("argv", "says"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_ends_in_a_clear_message_and_no_traceback(
    argv: list[str], says: str, condordesk_home: Path
) -> None:
    run = cd(*argv, home=condordesk_home)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-2000:]
    assert says in run.stderr, run.stderr[-2000:]


def test_the_gateway_usage_names_the_command_and_every_option_has_help(
    condordesk_home: Path,
) -> None:
    run = cd("gateway", "--help", home=condordesk_home)
    assert run.returncode == 0
    assert run.stdout.startswith("usage: condordesk gateway")
    assert "python -m" not in run.stdout
    for option in ("--account ACCOUNT", "--seed SEED", "--scenario", "--spot SPOT"):
        line = next(x for x in run.stdout.splitlines() if x.strip().startswith(option))
        assert len(line.split()) > 2, f"{option} has no help: {line!r}"


def test_a_gateway_port_in_use_is_a_message_not_a_traceback(condordesk_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = cd("gateway", "--port", str(port), home=condordesk_home)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert f"cannot listen on 127.0.0.1:{port}: already in use" in run.stderr


def test_no_runtime_dir_warning_without_xdg_runtime_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "CONDORDESK_HOME")}
    env["HOME"] = str(tmp_path)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env.pop(key, None)
    run = subprocess.run(
        [sys.executable, "-m", "condordesk.app.cli", "ctl", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert run.returncode == 3, run.stderr  # no engine running
    assert "Warning" not in run.stderr and "XDG_RUNTIME_DIR" not in run.stderr, run.stderr


def test_the_template_placeholder_account_is_refused_by_profile_check(
    condordesk_home: Path,
) -> None:
    repo = Path(__file__).resolve().parents[2]
    run = cd("profile", "check", str(repo / "profiles" / "paper.toml"), home=condordesk_home)
    assert run.returncode == 2
    assert "DU0000000 is the template's placeholder" in run.stderr
    new = cd("profile", "new", "p1", "--mode", "paper", home=condordesk_home)
    assert new.returncode == 2 and "needs --account" in new.stderr
    own = cd(
        "profile",
        "check",
        str(repo / "profiles" / "paper.toml"),
        "--set",
        'broker.account="DU7654321"',
        home=condordesk_home,
    )
    assert own.returncode == 0, own.stderr


def _money_strings(data: object, key: str = "") -> list[tuple[str, object]]:
    """(key, value) of every money-like field in a JSON document."""
    out: list[tuple[str, object]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _money_strings(v, k)
    elif isinstance(data, list):
        for v in data:
            out += _money_strings(v, key)
    elif key in MONEY and data is not None:
        out.append((key, data))
    return out


def test_a_run_stopped_with_a_condor_open_counts_its_commissions_and_its_warnings(
    condordesk_home: Path, tmp_path: Path
) -> None:
    summary_path = tmp_path / "summary.json"
    env = {**os.environ, "CONDORDESK_HOME": str(condordesk_home)}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "condordesk.app.cli", "--autotrade", "--speed", "600"),
            *("--sessions", "1", "--start-date", "2026-11-30", "--seed", "7"),
            *("--summary-json", str(summary_path)),
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
        proc.send_signal(signal.SIGTERM)
        seen += proc.communicate(timeout=60)[1].splitlines(keepends=True)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = "".join(seen)
    assert proc.returncode == 0, log[-2000:]
    assert "stay at the broker" not in log  # the simulator's broker ends with the process
    report = json.loads(summary_path.read_text())
    assert Decimal(report["commissions_of_open_condors"]) > 0
    assert Decimal(report["commissions"]) >= Decimal(report["commissions_of_open_condors"])
    assert report["warnings"] == sum(" WARNING " in line for line in seen) >= 1  # SIGTERM's
    for key, value in _money_strings(report):
        assert isinstance(value, str) and TWO_DECIMALS.fullmatch(value), (key, value)

    listing = json.loads(cd("journal", "--json", home=condordesk_home).stdout)
    figures = _money_strings(listing)
    assert figures and all(isinstance(v, str) and TWO_DECIMALS.fullmatch(v) for _, v in figures), (
        figures
    )
