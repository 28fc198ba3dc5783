"""The entry gate's view of a session (Entries.context), which the engine asks every cycle."""

from __future__ import annotations

from datetime import date, datetime, time
from types import SimpleNamespace
from typing import Any, cast

from condordesk.engine.entries import Entries
from condordesk.engine.service import selection_rules
from condordesk.market.calendar import Session
from condordesk.market.clock import ET, SimClock
from tests.engine.harness import make_profile


def session(day: date, close: time, *, early: bool) -> Session:
    return Session(
        day=day,
        open=datetime.combine(day, time(9, 30), ET),
        close=datetime.combine(day, close, ET),
        early_close=early,
    )


def entries_at(now: datetime) -> Entries:
    profile = make_profile()
    desk = SimpleNamespace(connected=True, live={})
    none = cast(Any, None)
    return Entries(
        profile, selection_rules(profile), none, none, SimClock(now), cast(Any, desk), none
    )


def test_each_session_gets_its_own_entry_end_and_close_asked_in_any_order() -> None:
    regular = session(date(2026, 11, 25), time(16), early=False)
    early = session(date(2026, 11, 27), time(13), early=True)
    entries = entries_at(datetime(2026, 11, 25, 10, 0, tzinfo=ET))

    seen = [entries.context(s, None) for s in (regular, early, early, regular, early)]

    ends = [c.entry_end for c in seen]
    closes = [c.session_close_et.time() for c in seen]
    assert ends == [time(14, 30), time(11, 30), time(11, 30), time(14, 30), time(11, 30)]
    assert closes == [time(16), time(13), time(13), time(16), time(13)]
    assert all(c.session_close_et.tzinfo is ET for c in seen)


def test_the_context_reads_the_clock_and_the_desk_each_time() -> None:
    regular = session(date(2026, 11, 25), time(16), early=False)
    entries = entries_at(datetime(2026, 11, 25, 10, 0, tzinfo=ET))
    first = entries.context(regular, None)
    entries.desk.connected = False
    second = entries.context(regular, "operator")

    assert first.connected and not second.connected
    assert (first.paused_reason, second.paused_reason) == (None, "operator")
    assert first.now_et == datetime(2026, 11, 25, 10, 0, tzinfo=ET)
