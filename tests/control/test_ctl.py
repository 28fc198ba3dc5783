"""``condordesk ctl`` as a script uses it: against a headless engine in another process."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from condordesk.engine.control import socket_path
from condordesk.store.journal import Journal
from tests.control.procs import HeadlessEngine, cd, ctl_json

pytestmark = pytest.mark.usefixtures("warm_calendar")


@pytest.fixture
def engine(condordesk_home: Path) -> Iterator[HeadlessEngine]:
    """A simulated day at 300x, until stopped (seed 7 opens a condor at 09:45)."""
    proc = HeadlessEngine(
        condordesk_home,
        *("--profile", "sim", "--speed", "300", "--sessions", "0"),
        *("--start-date", "2026-11-30", "--seed", "7"),
    )
    try:
        yield proc
    finally:
        proc.kill()


def protected_condor(home: Path, attempts: int = 20) -> dict[str, Any]:
    """The open condor once its stops are verified at the broker (asking ``status``)."""
    for _ in range(attempts):
        status = ctl_json("status", home=home)
        verified = [
            c for c in status["condors"] if c["state"] == "open" and c["stop_state"] == "verified"
        ]
        if verified:
            return dict(verified[0])
    raise AssertionError(f"no protected condor in {status}")


def test_no_engine_means_exit_code_3_and_the_socket_path(condordesk_home: Path) -> None:
    run = cd("ctl", "status", home=condordesk_home)
    assert run.returncode == 3
    assert "no engine of profile sim is running" in run.stderr
    assert str(socket_path("sim")) in run.stderr
    flatten = cd("ctl", "--profile", "sim", "flatten", "--json", home=condordesk_home)
    assert flatten.returncode == 3 and flatten.stdout == ""


def test_ctl_watches_and_steers_a_running_engine(
    engine: HeadlessEngine, condordesk_home: Path
) -> None:
    home = condordesk_home
    engine.wait_for("control socket listening")
    engine.wait_for("opened 2026")
    condor = protected_condor(home)

    status = ctl_json("status", home=home)
    assert status["profile"] == "sim" and status["mode"] == "sim"
    assert status["state"] == "armed" and status["connected"] is True
    assert status["engine_pid"] == engine.proc.pid
    assert Decimal(status["spot"]) > 0 and status["day"] == "2026-11-30"

    higher = Decimal(condor["stop_trigger"]) + Decimal("0.50")
    moved = cd("ctl", "move-stop", condor["id"], "--trigger", str(higher), home=home)
    assert moved.returncode == 0 and "accepted" in moved.stdout, moved.stderr
    (after,) = [c for c in ctl_json("status", home=home)["condors"] if c["id"] == condor["id"]]
    assert Decimal(after["stop_trigger"]) == higher

    assert ctl_json("pause", "--reason", "e2e", home=home) == {
        "command": "PauseEntries",
        "accepted": True,
        "reason": "",
    }
    unknown = cd("ctl", "move-stop", "NOPE", "--trigger", "2.40", home=home)
    assert unknown.returncode == 1 and "no live condor NOPE" in unknown.stderr
    refused = cd("ctl", "--json", "close", "NOPE", home=home)
    assert refused.returncode == 1 and '"accepted": false' in refused.stdout
    bad = cd("ctl", "move-stop", condor["id"], "--trigger", "cheap", home=home)
    assert bad.returncode == 2 and "not a price" in bad.stderr

    text = cd("ctl", "status", home=home)
    assert text.returncode == 0
    assert "entries paused: e2e" in text.stdout and condor["id"] in text.stdout

    assert ctl_json("flatten", home=home)["accepted"] is True  # answers, then flattens
    for _ in range(40):
        if not [c for c in ctl_json("status", home=home)["condors"] if c["state"] == "open"]:
            break
    else:
        raise AssertionError("the flatten left a condor open")
    acked = cd("ctl", "ack", home=home)  # lifts alert reasons only: the text says what holds
    assert acked.returncode == 0
    assert "accepted: AcknowledgeAlerts (entries stay paused: e2e; flatten)" in acked.stdout
    assert cd("ctl", "resume", home=home).returncode == 0

    assert engine.stop() == 0
    assert not socket_path("sim").exists()
    gone = cd("ctl", "status", home=home)
    assert gone.returncode == 3 and str(socket_path("sim")) in gone.stderr

    journal = Journal(home / "data" / "journal-sim.sqlite3")
    try:
        commands = [
            (p["command"], p["origin"], p["accepted"])
            for _, _, kind, p in journal.events(0, 100_000)
            if kind == "CommandReceived"
        ]
    finally:
        journal.close()
    assert commands == [
        ("MoveStop", "cli", True),
        ("PauseEntries", "cli", True),
        ("MoveStop", "cli", False),
        ("CloseCondor", "cli", False),
        ("FlattenAll", "cli", True),
        ("AcknowledgeAlerts", "cli", True),
        ("ResumeEntries", "cli", True),
    ]
