"""The first entry attempt of a day is made on one round of quotes: the engine measures the
at-the-money vol in the cycles before the entry window opens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.domain.options import OptionContract
from condordesk.engine import api
from tests.engine.harness import at, make_profile, run_engine

pytestmark = pytest.mark.usefixtures("warm_calendar")


def record_quote_rounds(rt: Runtime) -> list[tuple[datetime, int]]:
    """Wrap the broker's option_quotes to record (clock time, number of contracts) per call."""
    rounds: list[tuple[datetime, int]] = []
    original = rt.broker.option_quotes

    async def recorded(contracts: Sequence[OptionContract], **kwargs: Any) -> Any:
        rounds.append((rt.clock.now(), len(contracts)))
        return await original(contracts, **kwargs)

    rt.broker.option_quotes = recorded  # type: ignore[method-assign]
    return rounds


def test_the_first_entry_of_the_day_needs_one_round_of_quotes(tmp_path: Path) -> None:
    profile = make_profile(strategy={"entry_start": "09:45", "cycle_seconds": 30})
    rt = build_sim(profile, journal_path=tmp_path / "journal.sqlite3")
    rounds = record_quote_rounds(rt)
    out = run_engine(profile, tmp_path, runtime=rt)

    entries = [e for e in out.of(api.OrderSubmitted) if e.role == "entry"]
    assert entries, "the calm day should trade"
    first = entries[0].ts
    day = first.astimezone(at(first.date(), "09:45").tzinfo).date()
    opens = at(day, "09:45")
    assert opens <= first < opens + timedelta(seconds=30)
    cycle = timedelta(seconds=30)
    # the vol: the at-the-money pair, asked for shortly before the window opened
    before = [n for ts, n in rounds if opens - 2 * cycle <= ts < opens]
    assert before == [2]
    # the attempt itself: one round (the screened strikes), not two
    attempt = [n for ts, n in rounds if opens <= ts <= first]
    assert len(attempt) == 1 and attempt[0] > 2
