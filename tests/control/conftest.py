"""Fixtures of the control-channel tests: the engine lock of the sim profile, held."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from condordesk.ops.runlock import EngineLock


@pytest.fixture
def sim_lock(condordesk_home: Path) -> Iterator[EngineLock]:
    """The sim profile's engine lock, held for the test (as the engine's process holds it)."""
    with EngineLock("sim") as lock:
        yield lock
