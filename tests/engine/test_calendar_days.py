"""The engine's schedule on DST transitions, early closes and across weekends."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from condordesk.engine import api
from condordesk.market.clock import ET
from tests.engine.harness import make_profile, run_engine

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_sessions_around_the_spring_dst_change_keep_new_york_hours(tmp_path: Path) -> None:
    # Friday 2026-03-06 (EST), then Monday 2026-03-09 (EDT): the weekend is skipped and both
    # days open at 09:30 and trade from 09:45 New York time, not a UTC-fixed hour.
    profile = make_profile(simulator={"start_date": "2026-03-06", "sessions": 2})
    out = run_engine(profile, tmp_path)

    opened = out.of(api.SessionOpened)
    assert [s.day for s in opened] == [date(2026, 3, 6), date(2026, 3, 9)]
    assert [out.et(s.ts) for s in opened] == [time(9, 30), time(9, 30)]
    assert [s.ts.utcoffset() for s in opened] == [s.ts.utcoffset() for s in opened]  # aware
    assert [s.close.astimezone(ET).time() for s in opened] == [time(16), time(16)]
    resets = out.of(api.DailyReset)
    assert [out.et(r.ts) for r in resets] == [time(9, 27), time(9, 27)]
    entries = [e for e in out.of(api.OrderSubmitted) if e.role == "entry"]
    assert {e.ts.astimezone(ET).date() for e in entries} == {date(2026, 3, 6), date(2026, 3, 9)}
    assert all(time(9, 45) <= out.et(e.ts) < time(14, 30) for e in entries)


def test_sessions_around_the_autumn_dst_change_keep_new_york_hours(tmp_path: Path) -> None:
    profile = make_profile(simulator={"start_date": "2026-10-30", "sessions": 2})
    out = run_engine(profile, tmp_path)
    opened = out.of(api.SessionOpened)
    assert [s.day for s in opened] == [date(2026, 10, 30), date(2026, 11, 2)]
    assert [out.et(s.ts) for s in opened] == [time(9, 30), time(9, 30)]
    assert [s.ts.hour for s in opened] == [13, 14]  # the UTC hour moves, New York time does not


def test_an_early_close_day_trades_to_the_13_00_cut_off_and_settles_there(tmp_path: Path) -> None:
    # the day after Thanksgiving: expiring SPXW stop trading with the equity close at 13:00
    # (index options run on to 13:15, but not the ones expiring today)
    profile = make_profile(simulator={"start_date": "2026-11-27", "sessions": 1})
    out = run_engine(profile, tmp_path)

    (opened,) = out.of(api.SessionOpened)
    assert opened.early_close
    assert opened.close.astimezone(ET).time() == time(13, 0)
    entries = [e for e in out.of(api.OrderSubmitted) if e.role == "entry"]
    # the entry window ends as far before the early cut-off as 14:30 is before 16:00
    assert entries and all(out.et(e.ts) < time(11, 30) for e in entries)
    closed = out.of(api.CondorClosed)
    assert len(closed) == len(out.of(api.CondorOpened))
    assert all(out.et(c.ts) <= time(13, 1) for c in closed)
    (session_closed,) = out.of(api.SessionClosed)
    assert out.et(session_closed.ts) < time(13, 15)


def test_a_holiday_is_skipped(tmp_path: Path) -> None:
    # Thanksgiving 2026-11-26 is closed: starting there trades Friday the 27th
    profile = make_profile(simulator={"start_date": "2026-11-26", "sessions": 1})
    out = run_engine(profile, tmp_path)
    assert [s.day for s in out.of(api.SessionOpened)] == [date(2026, 11, 27)]
