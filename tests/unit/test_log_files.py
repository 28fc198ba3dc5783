"""The log file is owner-only whatever the umask (rotated files too), and never written
through a symlink planted in its place (issue 13)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loguru import logger

from condordesk.market.clock import SimClock
from condordesk.ops.logs import setup_logging


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)
        logger.remove()


CLOCK = SimClock(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))


def test_log_files_are_owner_only_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    log = tmp_path / "sim.log"
    setup_logging("INFO", CLOCK, log, rotation="200 B", stderr=False)
    for i in range(20):
        logger.info("line {} of a log that rotates", i)
    logger.remove()
    files = list(tmp_path.iterdir())
    assert len(files) > 1, "rotated"
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600, f


def test_a_symlink_in_place_of_the_log_file_is_refused(tmp_path: Path, open_umask: None) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "sim.log").symlink_to(victim)
    with pytest.raises(Exception, match="symlink"):
        setup_logging("INFO", CLOCK, tmp_path / "sim.log", stderr=False)
    assert victim.read_text() == "precious"
