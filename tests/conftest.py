"""Shared test setup: every test runs with its own CONDORDESK_HOME; the trading calendar is
built once per test session and its cache reused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def calendar_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir holding the calendar years the tests use (built once)."""
    from condordesk.market.calendar import TradingCalendar

    cache = tmp_path_factory.mktemp("calendar-cache")
    for first, last in ((2025, 2028),):
        TradingCalendar.load(cache, first, last)
    return cache


@pytest.fixture(autouse=True)
def condordesk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, data, logs and cache of condordesk under the test's tmp dir."""
    home = tmp_path / "cdhome"
    monkeypatch.setenv("CONDORDESK_HOME", str(home))
    return home


@pytest.fixture
def warm_calendar(calendar_cache: Path, condordesk_home: Path) -> None:
    """Copy the prebuilt calendar cache into this test's cache dir."""
    target = condordesk_home / "cache"
    target.mkdir(parents=True, exist_ok=True)
    for f in calendar_cache.iterdir():
        shutil.copy(f, target / f.name)
