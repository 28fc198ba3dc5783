"""The SPX/SPXW trading calendar: which days 0DTE condors trade, and from when to when.

Sessions follow the NYSE (``exchange_calendars``' XNYS: holidays and early closes). Two closes
matter, and they are 15 minutes apart:

* the *cut-off* (:attr:`Session.close`, also :attr:`Session.cutoff`): the equity close, when
  SPXW options expiring that day stop trading and the S&P 500 print that settles them is
  taken. 16:00 ET on a regular day, 13:00 ET on an NYSE early-close day (the day after
  Thanksgiving, Christmas Eve, July 3 when a weekday, ...). A 0DTE condor trades 09:30 to the
  cut-off, and everything the engine schedules counts back from it.
* the *index-option close* (:attr:`Session.index_close`): non-expiring index options trade
  15 minutes longer (16:15, or 13:15 on an early-close day). The engine never trades them.

Every time here is an aware datetime in America/New_York (:data:`~condordesk.market.clock.ET`),
so daylight saving never shifts a schedule.

The engine must stay small, and ``exchange_calendars`` pulls in pandas (about 75 MB), so this
module never imports it: :meth:`TradingCalendar.load` runs
:mod:`condordesk.market.calendar_build` in a child process once and caches the JSON it prints
in a directory the caller chooses, keyed by the ``exchange_calendars`` version and the years.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from loguru import logger

from condordesk.errors import CalendarError
from condordesk.market.clock import ET

CALENDAR_NAME = "XNYS"
CACHE_FORMAT = 1
BUILDER_MODULE = "condordesk.market.calendar_build"
BUILD_TIMEOUT_S = 120.0
REGULAR_CLOSE = time(16, 0)
INDEX_OPTIONS_EXTRA = timedelta(minutes=15)
_STDERR_TAIL = 2000

Builder = Callable[[int, int], str]
"""Produces the session table of ``first_year..last_year`` as JSON text (see calendar_build)."""


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session of 0DTE SPXW options.

    Attributes:
        day: the session date (in New York).
        open: when trading starts, aware, America/New_York (09:30).
        close: the expiring-options cut-off, aware, America/New_York: when SPXW expiring that
            day stop trading and settle (the equity close: 16:00, or 13:00 on an early-close
            day).
        early_close: True when the NYSE closes early that day.
    """

    day: date
    open: datetime
    close: datetime
    early_close: bool

    def __post_init__(self) -> None:
        if self.open.tzinfo is None or self.close.tzinfo is None:
            raise ValueError(f"session {self.day}: open and close must be timezone-aware")
        if not self.open < self.close:
            raise ValueError(f"session {self.day}: open {self.open} is not before {self.close}")
        if self.open.astimezone(ET).date() != self.day:
            raise ValueError(f"session {self.day}: opens on another day ({self.open})")

    @property
    def cutoff(self) -> datetime:
        """When SPXW expiring this day stop trading: the equity close (:attr:`close`)."""
        return self.close

    @property
    def settlement(self) -> datetime:
        """When the print that PM-settles expiring SPXW is taken: the cut-off (16:00 ET, or
        13:00 ET on an early-close day)."""
        return self.close

    @property
    def index_close(self) -> datetime:
        """When non-expiring index options stop trading: 15 minutes after the cut-off (16:15
        ET, or 13:15 ET on an early-close day)."""
        return self.close + INDEX_OPTIONS_EXTRA

    def contains(self, at: datetime) -> bool:
        """True when the aware datetime ``at`` falls in ``[open, close)``."""
        at_utc = _aware_utc(at)
        return self.open <= at_utc < self.close


def options_session(day: date, nyse_open: datetime, nyse_close: datetime) -> Session:
    """Map one NYSE session to the hours of expiring SPXW options.

    Args:
        day: the session date.
        nyse_open: the NYSE open, aware (any zone).
        nyse_close: the NYSE close, aware (any zone).

    Returns:
        The session in America/New_York: same open; the cut-off of expiring options is the
        NYSE close (a close before 16:00 ET is an early close).
    """
    opened = nyse_open.astimezone(ET)
    closed = nyse_close.astimezone(ET)
    return Session(day=day, open=opened, close=closed, early_close=closed.time() < REGULAR_CLOSE)


class TradingCalendar:
    """The sessions of a range of days: plain data, cheap to query.

    Args:
        sessions: the sessions by day (non-session days are simply absent).
        first_day: first day the table covers; defaults to the first session.
        last_day: last day the table covers; defaults to the last session.

    Raises:
        CalendarError: the table is empty and no range was given.
        ValueError: a session is keyed by the wrong day or lies outside the range.
    """

    def __init__(
        self,
        sessions: Mapping[date, Session],
        *,
        first_day: date | None = None,
        last_day: date | None = None,
    ) -> None:
        days = sorted(sessions)
        if first_day is None or last_day is None:
            if not days:
                raise CalendarError("an empty session table needs an explicit day range")
            first_day = days[0] if first_day is None else first_day
            last_day = days[-1] if last_day is None else last_day
        if first_day > last_day:
            raise ValueError(f"calendar range {first_day}..{last_day} is empty")
        for day in days:
            if sessions[day].day != day:
                raise ValueError(f"session for {sessions[day].day} is keyed by {day}")
            if not first_day <= day <= last_day:
                raise ValueError(f"session {day} is outside {first_day}..{last_day}")
        self._sessions: dict[date, Session] = {day: sessions[day] for day in days}
        self._days = days
        self._first_day = first_day
        self._last_day = last_day

    @classmethod
    def load(
        cls,
        cache_dir: Path,
        first_year: int,
        last_year: int,
        *,
        builder: Builder | None = None,
    ) -> TradingCalendar:
        """Load the calendar of ``first_year``-01-01 .. ``last_year``-12-31, building it if needed.

        The table is read from ``cache_dir`` when a valid cache file for this
        ``exchange_calendars`` version and year range is there; otherwise (missing, unreadable
        or corrupt) it is rebuilt in a child process and the cache rewritten. Failing to write
        the cache is logged, not fatal.

        Args:
            cache_dir: directory for the cache file (created if missing).
            first_year: first calendar year covered.
            last_year: last calendar year covered (inclusive).
            builder: what produces the JSON table; defaults to :func:`run_builder` (tests
                inject a counting or failing one).

        Returns:
            The calendar.

        Raises:
            ValueError: ``first_year`` is after ``last_year``.
            CalendarError: ``exchange_calendars`` is not installed, or the builder failed or
                produced an invalid table.
        """
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} is after last_year {last_year}")
        lib_version = library_version()
        path = cache_path(cache_dir, first_year, last_year, lib_version)
        sessions = _read_cache(path, first_year, last_year, lib_version)
        if sessions is None:
            text = (builder or run_builder)(first_year, last_year)
            try:
                sessions = parse_table(text, first_year, last_year, lib_version)
            except ValueError as exc:
                raise CalendarError(f"the calendar builder's table is invalid: {exc}") from exc
            _write_cache(path, text)
        return cls(sessions, first_day=date(first_year, 1, 1), last_day=date(last_year, 12, 31))

    @property
    def first_day(self) -> date:
        """First day the calendar covers (not necessarily a session)."""
        return self._first_day

    @property
    def last_day(self) -> date:
        """Last day the calendar covers (not necessarily a session)."""
        return self._last_day

    def session(self, day: date) -> Session | None:
        """The session on ``day``, or None on a weekend or holiday.

        Raises:
            CalendarError: ``day`` is outside the loaded range.
        """
        self._check_range(day)
        return self._sessions.get(day)

    def is_session(self, day: date) -> bool:
        """True when options trade on ``day``.

        Raises:
            CalendarError: ``day`` is outside the loaded range.
        """
        return self.session(day) is not None

    def is_open(self, at: datetime) -> bool:
        """True when the aware datetime ``at`` falls inside a session.

        Raises:
            CalendarError: ``at`` is on a day outside the loaded range.
            ValueError: ``at`` is naive.
        """
        session = self.session(_aware_utc(at).astimezone(ET).date())
        return session is not None and session.contains(at)

    def next_session(self, after: datetime) -> Session:
        """The first session whose close is after ``after``.

        That is today's session while it has not closed yet (including before the open),
        otherwise the next one.

        Args:
            after: an aware datetime in any zone.

        Raises:
            ValueError: ``after`` is naive.
            CalendarError: ``after`` is outside the loaded range, or no session follows it
                within the range.
        """
        after_utc = _aware_utc(after)
        day = after_utc.astimezone(ET).date()
        self._check_range(day)
        for index in range(bisect_left(self._days, day), len(self._days)):
            session = self._sessions[self._days[index]]
            if session.close > after_utc:
                return session
        raise CalendarError(
            f"no session after {after.isoformat()} in the loaded calendar (ends {self._last_day})"
        )

    def sessions_from(self, day: date) -> Iterator[Session]:
        """Consecutive sessions from ``day`` (inclusive) to the end of the loaded range.

        Raises:
            CalendarError: ``day`` is outside the loaded range (raised at the call, not on
                first iteration).
        """
        self._check_range(day)
        start = bisect_left(self._days, day)
        return (self._sessions[d] for d in self._days[start:])

    def _check_range(self, day: date) -> None:
        if not self._first_day <= day <= self._last_day:
            raise CalendarError(
                f"{day} is outside the loaded trading calendar "
                f"({self._first_day}..{self._last_day}); load a wider range"
            )

    def __repr__(self) -> str:
        return (
            f"TradingCalendar({self._first_day}..{self._last_day}, {len(self._sessions)} sessions)"
        )


def library_version() -> str:
    """The installed ``exchange_calendars`` version, read without importing it.

    Raises:
        CalendarError: the package is not installed.
    """
    try:
        return version("exchange_calendars")
    except PackageNotFoundError as exc:
        raise CalendarError("exchange_calendars is not installed: no trading calendar") from exc


def cache_path(cache_dir: Path, first_year: int, last_year: int, lib_version: str) -> Path:
    """Where the table of these years built by this library version is cached."""
    safe_version = "".join(c if c.isalnum() or c in ".-_" else "_" for c in lib_version)
    name = f"{CALENDAR_NAME.lower()}-v{CACHE_FORMAT}-ec{safe_version}-{first_year}-{last_year}.json"
    return cache_dir / name


def run_builder(first_year: int, last_year: int, *, timeout: float = BUILD_TIMEOUT_S) -> str:
    """Run :mod:`condordesk.market.calendar_build` in a child process and return its stdout.

    Args:
        first_year: first calendar year covered.
        last_year: last calendar year covered (inclusive).
        timeout: seconds to wait for the child before giving up.

    Raises:
        CalendarError: the child could not start, timed out or exited with an error; the
            message carries the tail of its stderr.
    """
    if not sys.executable:
        raise CalendarError("cannot run the calendar builder: no Python interpreter path")
    command = [sys.executable, "-m", BUILDER_MODULE, str(first_year), str(last_year)]
    # the child must import condordesk even when it is not installed (run from a checkout)
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        # S603: fixed argv (our interpreter, our module, two ints), no shell
        proc = subprocess.run(  # noqa: S603
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CalendarError(
            f"the calendar builder did not finish within {timeout:g} s; stderr: {_tail(exc.stderr)}"
        ) from exc
    except OSError as exc:
        raise CalendarError(f"cannot run the calendar builder: {exc}") from exc
    if proc.returncode != 0:
        raise CalendarError(
            f"the calendar builder failed (exit status {proc.returncode}) for "
            f"{first_year}..{last_year}; stderr: {_tail(proc.stderr)}"
        )
    return proc.stdout


def parse_table(
    text: str, first_year: int, last_year: int, lib_version: str
) -> dict[date, Session]:
    """Check and decode a session table printed by the builder.

    Args:
        text: the JSON text.
        first_year: the years it must cover.
        last_year: the years it must cover.
        lib_version: the ``exchange_calendars`` version it must come from.

    Returns:
        The options sessions by day.

    Raises:
        ValueError: the text is not a valid table for these years and version.
    """
    data: Any = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the table is not a JSON object")
    expected = {
        "format": CACHE_FORMAT,
        "calendar": CALENDAR_NAME,
        "exchange_calendars": lib_version,
        "first_year": first_year,
        "last_year": last_year,
    }
    for key, want in expected.items():
        if data.get(key) != want:
            raise ValueError(f"{key} is {data.get(key)!r}, expected {want!r}")
    rows = data.get("sessions")
    if not isinstance(rows, list) or not rows:
        raise ValueError("the table has no sessions")
    first_day, last_day = date(first_year, 1, 1), date(last_year, 12, 31)
    sessions: dict[date, Session] = {}
    for row in rows:
        session = _parse_row(row)
        if not first_day <= session.day <= last_day or session.day in sessions:
            raise ValueError(f"session {session.day} is duplicated or outside the years")
        sessions[session.day] = session
    return sessions


def _parse_row(row: Any) -> Session:
    if not (isinstance(row, list) and len(row) == 3 and all(isinstance(v, str) for v in row)):
        raise ValueError(f"bad session row {row!r}")
    day = date.fromisoformat(row[0])
    opened = datetime.fromisoformat(row[1])
    closed = datetime.fromisoformat(row[2])
    if opened.tzinfo is None or closed.tzinfo is None:
        raise ValueError(f"session {day} has naive times")
    return options_session(day, opened, closed)


def _read_cache(
    path: Path, first_year: int, last_year: int, lib_version: str
) -> dict[date, Session] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("calendar cache {} is unreadable ({}); rebuilding", path, exc)
        return None
    try:
        return parse_table(text, first_year, last_year, lib_version)
    except ValueError as exc:
        logger.warning("calendar cache {} is corrupt ({}); rebuilding", path, exc)
        return None


def _write_cache(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        logger.warning("cannot write calendar cache {} ({}); continuing without it", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC)


def _tail(stderr: str | bytes | None) -> str:
    if stderr is None:
        return "(none)"
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    text = text.strip()
    if not text:
        return "(empty)"
    return text[-_STDERR_TAIL:]
