"""The ``python -m condordesk.gateway`` runner: arguments and calendar adapter."""

from __future__ import annotations

from datetime import date, datetime, time

from condordesk.errors import CalendarError
from condordesk.gateway.__main__ import parse_args, sessions_of
from condordesk.market.calendar import Session
from condordesk.market.clock import ET


class _Calendar:
    def session(self, day: date) -> Session | None:
        if day.year > 2025:
            raise CalendarError("outside the loaded range")
        if day.weekday() >= 5:
            return None
        open_, close = datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16), ET)
        return Session(day, open_, close, early_close=False)


def test_sessions_of_a_calendar() -> None:
    hours = sessions_of(_Calendar())
    monday = date(2025, 3, 3)
    assert hours(monday) == (
        datetime.combine(monday, time(9, 30), ET),
        datetime.combine(monday, time(16), ET),
    )
    assert hours(date(2025, 3, 8)) is None  # Saturday
    assert hours(date(2026, 1, 2)) is None  # outside the calendar


def test_parse_args() -> None:
    args = parse_args(["--port", "0", "--start", "2025-03-03T09:29", "--speed", "60"])
    assert args.port == 0
    assert args.speed == 60.0
    assert args.start == datetime(2025, 3, 3, 9, 29)  # noqa: DTZ001 - New York, made aware later
    assert args.account == "DU1234567"


def test_start_takes_a_time_of_day_or_a_full_date() -> None:
    from datetime import datetime as _dt
    from datetime import time as _t

    from condordesk.gateway.__main__ import _start_arg, parse_args

    assert _start_arg("09:29") == _t(9, 29)
    parsed = _start_arg("2025-03-03T09:29")
    assert isinstance(parsed, _dt)
    assert (parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute) == (
        2025,
        3,
        3,
        9,
        29,
    )
    assert parse_args(["--start", "09:29"]).start == _t(9, 29)
