"""The SPX/SPXW trading calendar: sessions, holidays, 13:00 early cut-offs, DST, cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from condordesk.errors import CalendarError
from condordesk.market import calendar_build
from condordesk.market.calendar import (
    Session,
    TradingCalendar,
    cache_path,
    library_version,
    options_session,
    run_builder,
)
from condordesk.market.clock import ET

FIRST_YEAR, LAST_YEAR = 2025, 2026
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CountingBuilder:
    """Wraps a builder and counts how often the calendar asked for a build."""

    inner: Callable[[int, int], str]
    calls: int = 0

    def __call__(self, first_year: int, last_year: int) -> str:
        self.calls += 1
        return self.inner(first_year, last_year)


@dataclass
class Built:
    cache_dir: Path
    calendar: TradingCalendar
    builder: CountingBuilder

    @property
    def cache_file(self) -> Path:
        return cache_path(self.cache_dir, FIRST_YEAR, LAST_YEAR, library_version())

    def table_text(self) -> str:
        return self.cache_file.read_text(encoding="utf-8")


def _never(first_year: int, last_year: int) -> str:
    raise AssertionError(f"the builder ran for {first_year}..{last_year}; the cache was expected")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The real builder subprocess, run once for the whole test session."""
    cache_dir = tmp_path_factory.mktemp("calendar-cache")
    builder = CountingBuilder(run_builder)
    cal = TradingCalendar.load(cache_dir, FIRST_YEAR, LAST_YEAR, builder=builder)
    assert builder.calls == 1
    return Built(cache_dir, cal, builder)


@pytest.fixture
def cal(built: Built) -> TradingCalendar:
    return built.calendar


def et(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ET)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def _session(cal: TradingCalendar, day: date) -> Session:
    session = cal.session(day)
    assert session is not None, f"{day} should be a session"
    return session


# --- regular days and daylight saving -------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "open_utc", "close_utc"),
    [
        (date(2026, 3, 6), utc(2026, 3, 6, 14, 30), utc(2026, 3, 6, 21)),  # EST, UTC-5
        (date(2026, 3, 9), utc(2026, 3, 9, 13, 30), utc(2026, 3, 9, 20)),  # EDT, UTC-4
        (date(2026, 10, 30), utc(2026, 10, 30, 13, 30), utc(2026, 10, 30, 20)),  # last EDT Friday
        (date(2026, 11, 2), utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 21)),  # first EST Monday
    ],
)
def test_regular_session_is_0930_to_1600_new_york_whatever_the_utc_offset(
    cal: TradingCalendar, day: date, open_utc: datetime, close_utc: datetime
) -> None:
    session = _session(cal, day)

    assert session.day == day
    assert session.open == et(day, 9, 30)
    assert session.close == et(day, 16)
    assert session.open.tzinfo is ET
    assert session.close.tzinfo is ET
    assert session.open.astimezone(UTC) == open_utc
    assert session.close.astimezone(UTC) == close_utc
    assert session.close - session.open == timedelta(hours=6, minutes=30)
    assert not session.early_close
    assert session.settlement == session.close


@pytest.mark.parametrize("sunday", [date(2026, 3, 8), date(2026, 11, 1)])
def test_dst_transition_sundays_have_no_session(cal: TradingCalendar, sunday: date) -> None:
    assert cal.session(sunday) is None
    assert not cal.is_session(sunday)


@pytest.mark.parametrize("sunday", [date(2026, 3, 8), date(2026, 11, 1)])
def test_the_session_after_a_dst_sunday_opens_0930_new_york(
    cal: TradingCalendar, sunday: date
) -> None:
    # 00:30 UTC on the Sunday is still Saturday evening in New York on either switch
    session = cal.next_session(datetime.combine(sunday, time(12), tzinfo=UTC))

    monday = sunday + timedelta(days=1)
    assert session.day == monday
    assert session.open.timetz() == time(9, 30, tzinfo=ET)
    assert session.close == et(monday, 16)


# --- holidays and early closes --------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 12, 25),  # Christmas
        date(2026, 7, 3),  # Independence Day observed (July 4 is a Saturday)
        date(2026, 7, 4),  # Saturday
        date(2026, 1, 1),  # New Year's Day
        date(2025, 1, 9),  # national day of mourning (President Carter): an ad-hoc closure
        date(2026, 4, 3),  # Good Friday: NYSE closed, so no 0DTE session either
    ],
)
def test_holidays_and_weekends_have_no_session(cal: TradingCalendar, day: date) -> None:
    assert cal.session(day) is None
    assert not cal.is_session(day)


@pytest.mark.parametrize("day", [date(2026, 11, 27), date(2026, 12, 24), date(2025, 7, 3)])
def test_early_close_days_cut_expiring_options_off_at_1300_new_york(
    cal: TradingCalendar, day: date
) -> None:
    # expiring SPXW stop trading with the equity close and settle on its print; only
    # non-expiring index options trade on to 13:15
    session = _session(cal, day)

    assert session.early_close
    assert session.open == et(day, 9, 30)
    assert session.close == session.cutoff == et(day, 13)
    assert session.settlement == et(day, 13)
    assert session.index_close == et(day, 13, 15)
    assert not cal.is_open(et(day, 13, 0)) and cal.is_open(et(day, 12, 59))


def test_a_regular_day_cuts_expiring_options_off_at_1600_and_index_options_at_1615(
    cal: TradingCalendar,
) -> None:
    day = date(2026, 11, 30)
    session = _session(cal, day)

    assert session.cutoff == session.settlement == et(day, 16)
    assert session.index_close == et(day, 16, 15)


def test_early_closes_in_range_are_exactly_the_nyse_ones(cal: TradingCalendar) -> None:
    early = {s.day for s in cal.sessions_from(cal.first_day) if s.early_close}

    assert early == {
        date(2025, 7, 3),
        date(2025, 11, 28),
        date(2025, 12, 24),
        date(2026, 11, 27),
        date(2026, 12, 24),
    }
    # the day before the July 3 2026 holiday is a full day
    assert _session(cal, date(2026, 7, 2)).close == et(date(2026, 7, 2), 16)


def test_session_counts_per_year(cal: TradingCalendar) -> None:
    days = [s.day for s in cal.sessions_from(cal.first_day)]

    assert sum(d.year == 2025 for d in days) == 250
    assert sum(d.year == 2026 for d in days) == 251


# --- next_session ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (et(date(2026, 3, 6), 8), date(2026, 3, 6)),  # before the open: today
        (et(date(2026, 3, 6), 12), date(2026, 3, 6)),  # during the session: today
        (et(date(2026, 3, 6), 15, 59), date(2026, 3, 6)),
        (et(date(2026, 3, 6), 16), date(2026, 3, 9)),  # at the close: next, across a weekend
        (et(date(2026, 3, 6), 17), date(2026, 3, 9)),
        (et(date(2026, 3, 7), 10), date(2026, 3, 9)),  # Saturday
        (et(date(2026, 11, 25), 16, 30), date(2026, 11, 27)),  # over Thanksgiving
        (et(date(2026, 11, 27), 12, 59), date(2026, 11, 27)),  # early cut-off not reached yet
        (et(date(2026, 11, 27), 13, 0), date(2026, 11, 30)),  # early cut-off passed
        (et(date(2026, 7, 2), 16, 1), date(2026, 7, 6)),  # holiday Friday + weekend
        (utc(2026, 3, 6, 20, 59), date(2026, 3, 6)),  # UTC input, 15:59 ET
        (utc(2026, 3, 6, 21, 0), date(2026, 3, 9)),  # UTC input, 16:00 ET
        (utc(2026, 3, 7, 1, 0), date(2026, 3, 9)),  # Saturday in UTC, Friday evening in ET
    ],
)
def test_next_session(cal: TradingCalendar, after: datetime, expected: date) -> None:
    assert cal.next_session(after).day == expected


def test_next_session_rejects_naive_datetimes(cal: TradingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.next_session(datetime(2026, 3, 6, 12))  # noqa: DTZ001 - naive on purpose


def test_is_open(cal: TradingCalendar) -> None:
    day = date(2026, 11, 27)
    assert not cal.is_open(et(day, 9, 29))
    assert cal.is_open(et(day, 9, 30))
    assert cal.is_open(et(day, 12, 59))
    assert not cal.is_open(et(day, 13, 0))
    assert not cal.is_open(et(date(2026, 11, 26), 12))
    assert cal.is_open(utc(2026, 3, 9, 13, 30))  # 09:30 EDT


# --- sessions_from --------------------------------------------------------------------------


def test_sessions_from_is_consecutive_and_inclusive(cal: TradingCalendar) -> None:
    from_session_day = cal.sessions_from(date(2026, 7, 2))
    assert [next(from_session_day).day for _ in range(3)] == [
        date(2026, 7, 2),
        date(2026, 7, 6),
        date(2026, 7, 7),
    ]
    from_holiday = cal.sessions_from(date(2026, 7, 3))
    assert next(from_holiday).day == date(2026, 7, 6)


def test_sessions_from_stops_at_the_end_of_the_range(cal: TradingCalendar) -> None:
    assert [s.day for s in cal.sessions_from(date(2026, 12, 29))] == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
    ]


# --- the loaded range -----------------------------------------------------------------------


def test_range_is_whole_years(cal: TradingCalendar) -> None:
    assert cal.first_day == date(FIRST_YEAR, 1, 1)
    assert cal.last_day == date(LAST_YEAR, 12, 31)
    assert cal.session(date(2025, 1, 1)) is None  # in range, a holiday: no error


@pytest.mark.parametrize("day", [date(2024, 12, 31), date(2027, 1, 1), date(2030, 6, 3)])
def test_days_outside_the_range_raise_instead_of_saying_closed(
    cal: TradingCalendar, day: date
) -> None:
    with pytest.raises(CalendarError, match="outside the loaded trading calendar"):
        cal.session(day)
    with pytest.raises(CalendarError):
        cal.is_session(day)
    with pytest.raises(CalendarError):
        cal.sessions_from(day)  # raised at the call, not on first next()
    with pytest.raises(CalendarError):
        cal.next_session(et(day, 10))


def test_next_session_past_the_last_session_raises(cal: TradingCalendar) -> None:
    with pytest.raises(CalendarError, match="no session after"):
        cal.next_session(et(date(2026, 12, 31), 16, 30))


def test_load_rejects_reversed_years(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after"):
        TradingCalendar.load(tmp_path, 2026, 2025, builder=_never)


# --- the cache ------------------------------------------------------------------------------


def test_cache_file_is_keyed_by_library_version_and_years(built: Built) -> None:
    name = built.cache_file.name
    assert built.cache_file.is_file()
    assert library_version() in name
    assert f"{FIRST_YEAR}-{LAST_YEAR}" in name
    assert cache_path(built.cache_dir, 2025, 2027, library_version()) != built.cache_file
    assert cache_path(built.cache_dir, 2025, 2026, "0.0.1") != built.cache_file


def test_second_load_reuses_the_cache_without_running_the_builder(built: Built) -> None:
    again = TradingCalendar.load(built.cache_dir, FIRST_YEAR, LAST_YEAR, builder=_never)

    assert built.builder.calls == 1
    days = [s for s in again.sessions_from(again.first_day)]
    assert days == list(built.calendar.sessions_from(built.calendar.first_day))


def test_a_different_year_range_is_not_served_from_another_range_cache(built: Built) -> None:
    def refuse(first_year: int, last_year: int) -> str:
        raise CalendarError(f"asked to build {first_year}..{last_year}")

    builder = CountingBuilder(refuse)
    with pytest.raises(CalendarError, match=r"asked to build 2026\.\.2026"):
        TradingCalendar.load(built.cache_dir, 2026, 2026, builder=builder)
    assert builder.calls == 1


@pytest.mark.parametrize(
    "corrupt",
    [
        b"",
        b"not json at all",
        b'{"format": 1, "calendar": "XNYS", "sessions": [',  # truncated
        b"\xff\xfe\x00garbage",  # not UTF-8
        b"[]",
        b'{"format": 99}',
    ],
)
def test_a_corrupt_cache_is_rebuilt(built: Built, tmp_path: Path, corrupt: bytes) -> None:
    good = built.table_text()
    target = cache_path(tmp_path, FIRST_YEAR, LAST_YEAR, library_version())
    target.write_bytes(corrupt)
    builder = CountingBuilder(lambda a, b: good)

    cal = TradingCalendar.load(tmp_path, FIRST_YEAR, LAST_YEAR, builder=builder)

    assert builder.calls == 1
    assert _session(cal, date(2026, 11, 27)).close == et(date(2026, 11, 27), 13)
    assert target.read_text(encoding="utf-8") == good  # cache repaired
    TradingCalendar.load(tmp_path, FIRST_YEAR, LAST_YEAR, builder=_never)


def test_a_cache_for_other_years_under_this_name_is_rebuilt(built: Built, tmp_path: Path) -> None:
    table = json.loads(built.table_text())
    table["first_year"] = 2024
    target = cache_path(tmp_path, FIRST_YEAR, LAST_YEAR, library_version())
    target.write_text(json.dumps(table), encoding="utf-8")
    builder = CountingBuilder(lambda a, b: built.table_text())

    TradingCalendar.load(tmp_path, FIRST_YEAR, LAST_YEAR, builder=builder)

    assert builder.calls == 1


def test_an_unreadable_and_unwritable_cache_still_yields_a_calendar(
    built: Built, tmp_path: Path
) -> None:
    # a directory where the cache file should be: reading and replacing it both fail
    cache_path(tmp_path, FIRST_YEAR, LAST_YEAR, library_version()).mkdir()
    builder = CountingBuilder(lambda a, b: built.table_text())

    cal = TradingCalendar.load(tmp_path, FIRST_YEAR, LAST_YEAR, builder=builder)

    assert builder.calls == 1
    assert cal.is_session(date(2026, 3, 9))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_cache_dir_is_created(built: Built, tmp_path: Path) -> None:
    cache_dir = tmp_path / "a" / "b"
    TradingCalendar.load(cache_dir, FIRST_YEAR, LAST_YEAR, builder=lambda a, b: built.table_text())
    assert cache_path(cache_dir, FIRST_YEAR, LAST_YEAR, library_version()).is_file()


# --- builder failures -----------------------------------------------------------------------


def test_builder_failure_raises_calendar_error_with_its_stderr(tmp_path: Path) -> None:
    # fails inside the child before it imports exchange_calendars, so this stays quick
    with pytest.raises(CalendarError) as info:
        TradingCalendar.load(tmp_path, 1700, 1701)

    message = str(info.value)
    assert "exit status 1" in message
    assert "year range 1700..1701" in message  # the child's stderr tail
    assert list(tmp_path.iterdir()) == []  # nothing cached


def test_invalid_builder_output_raises_calendar_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="invalid"):
        TradingCalendar.load(tmp_path, FIRST_YEAR, LAST_YEAR, builder=lambda a, b: "{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [[], ["2025"], ["2025", "x"], ["1", "2", "3"]])
def test_builder_cli_rejects_bad_arguments(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert calendar_build.main(argv) == 2
    assert "usage" in capsys.readouterr().err


# --- mapping and plain-data construction ----------------------------------------------------


def test_options_session_cuts_expiring_options_off_at_any_early_nyse_close() -> None:
    day = date(2026, 11, 27)
    early = options_session(day, utc(2026, 11, 27, 14, 30), utc(2026, 11, 27, 19))  # 14:00 ET
    regular = options_session(day, utc(2026, 11, 27, 14, 30), utc(2026, 11, 27, 21))

    assert early.early_close
    assert early.close == early.settlement == et(day, 14)
    assert early.index_close == et(day, 14, 15)
    assert not regular.early_close
    assert regular.close == et(day, 16)


def test_session_rejects_inconsistent_times() -> None:
    day = date(2026, 3, 6)
    with pytest.raises(ValueError, match="aware"):
        Session(day, datetime(2026, 3, 6, 9, 30), et(day, 16), False)  # noqa: DTZ001
    with pytest.raises(ValueError, match="before"):
        Session(day, et(day, 16), et(day, 9, 30), False)
    with pytest.raises(ValueError, match="another day"):
        Session(day, et(day + timedelta(days=1), 9, 30), et(day + timedelta(days=1), 16), False)


def test_calendar_from_plain_data() -> None:
    days = [date(2026, 3, 6), date(2026, 3, 9)]
    sessions = {d: Session(d, et(d, 9, 30), et(d, 16), False) for d in days}

    cal = TradingCalendar(sessions)

    assert (cal.first_day, cal.last_day) == (date(2026, 3, 6), date(2026, 3, 9))
    assert cal.session(date(2026, 3, 7)) is None
    assert cal.next_session(et(date(2026, 3, 6), 18)).day == date(2026, 3, 9)
    with pytest.raises(CalendarError):
        cal.session(date(2026, 3, 10))


def test_calendar_from_plain_data_rejects_bad_tables() -> None:
    d = date(2026, 3, 6)
    session = Session(d, et(d, 9, 30), et(d, 16), False)
    with pytest.raises(CalendarError, match="empty"):
        TradingCalendar({})
    with pytest.raises(ValueError, match="keyed"):
        TradingCalendar({date(2026, 3, 9): session})
    with pytest.raises(ValueError, match="outside"):
        TradingCalendar({d: session}, first_day=date(2026, 3, 9), last_day=date(2026, 3, 10))
    empty_range = TradingCalendar({}, first_day=d, last_day=d)
    assert empty_range.session(d) is None


# --- the engine process stays free of pandas ------------------------------------------------


def test_loading_from_cache_imports_neither_pandas_nor_exchange_calendars(built: Built) -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from condordesk.market.calendar import TradingCalendar\n"
        "def fail(a, b): raise SystemExit('builder ran')\n"
        f"cal = TradingCalendar.load(Path({str(built.cache_dir)!r}), {FIRST_YEAR}, {LAST_YEAR},"
        " builder=fail)\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('pandas', 'numpy', 'exchange_calendars'))))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_builder_module_is_importable_without_exchange_calendars_side_effects() -> None:
    # importing the builder module itself must stay cheap: the heavy import is inside build()
    assert "exchange_calendars" not in vars(calendar_build)
