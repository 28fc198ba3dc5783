"""Logging under systemd: when stderr is the journal's stream, lines carry a syslog priority
prefix and no timestamp of their own (the journal stamps them); otherwise the console format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from datetime import datetime, timezone
from loguru import logger
from condordesk.ops.logs import setup_logging
from condordesk.market.clock import LiveClock, SimClock
sim = SimClock(datetime(2026, 11, 30, 15, tzinfo=timezone.utc))
clock = LiveClock() if sys.argv[1] == "live" else sim
setup_logging("DEBUG", clock, None)
logger.debug("debug line")
logger.info("engine started")
logger.warning("entries paused")
logger.error("order rejected")
logger.critical("ALERT unexplained")
"""


def run(tmp_path: Path, clock: str, *, journal: bool) -> list[str]:
    err = tmp_path / f"stderr-{clock}-{journal}"
    with err.open("w") as fh:
        st = os.fstat(fh.fileno())
        ino = st.st_ino if journal else st.st_ino + 1  # + 1: someone else's stream
        env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{ino}"}
        subprocess.run(
            [sys.executable, "-c", SCRIPT, clock],
            stderr=fh,
            env=env,
            timeout=60,
            check=True,
        )
    return err.read_text().splitlines()


def test_under_the_journal_levels_become_priorities_and_no_timestamp_is_added(
    tmp_path: Path,
) -> None:
    assert run(tmp_path, "live", journal=True) == [
        "<7>debug line",
        "<6>engine started",
        "<4>entries paused",
        "<3>order rejected",
        "<2>ALERT unexplained",
    ]


def test_a_simulated_clock_keeps_its_time_in_the_journal(tmp_path: Path) -> None:
    lines = run(tmp_path, "sim", journal=True)
    assert lines[1] == "<6>[2026-11-30 10:00:00 ET] engine started"


def test_stderr_elsewhere_keeps_the_console_format(tmp_path: Path) -> None:
    lines = run(tmp_path, "live", journal=False)
    assert lines[1].endswith("INFO     engine started")
    assert " ET " in lines[1] and not lines[1].startswith("<")
