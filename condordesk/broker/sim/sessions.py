"""Which sessions the simulated broker has entered, and which closes it still owes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from condordesk.broker.sim.market import STRIKE_STEP, SimMarket
from condordesk.broker.sim.paths import DayPath
from condordesk.domain.options import OptionContract
from condordesk.market.clock import ET

SessionHours = Callable[[date], "tuple[datetime, datetime] | None"]
"""(open, close) of the options session of a day, aware, or None when there is none."""

_MAX_WALK_DAYS = 400
_UNKNOWN = datetime.min.replace(tzinfo=UTC)


class SessionTracker:
    """Session hours (cached), lazy session building in date order, and pending closes.

    Args:
        market: the simulated market whose sessions are built.
        sessions: the options session of a day as aware (open, close), or None.
    """

    def __init__(self, market: SimMarket, sessions: SessionHours) -> None:
        self._market = market
        self._sessions = sessions
        self._hours: dict[date, tuple[datetime, datetime] | None] = {}
        self._pending: dict[date, datetime] = {}
        self._closed: set[date] = set()
        self._closes: dict[date, datetime | None] = {}  # hours' closes in UTC
        self._next_close: datetime | None = None  # the earliest of _pending, in UTC
        # the last answer of today(): (from, to) in UTC where it holds, the day, its path
        self._today: tuple[datetime, datetime, date, DayPath | None] | None = None

    def hours(self, day: date) -> tuple[datetime, datetime] | None:
        """(open, close) of ``day``'s session, or None."""
        if day not in self._hours:
            self._hours[day] = self._sessions(day)
        return self._hours[day]

    def today(self, now: datetime) -> DayPath | None:
        """The session of ``now``'s New York date (built on first use), or None."""
        last = self._today
        if last is not None and last[0] <= now < last[1]:
            path = last[3]
            if path is None or self._market.path(last[2]) is path:  # not retired meanwhile
                return path
        day = now.astimezone(ET).date()
        found = None
        if self.hours(day) is not None:
            self.watch(day)
            found = self.path(day)
        start = datetime.combine(day, time(0), ET).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), ET).astimezone(UTC)
        self._today = (start, end, day, found)
        return found

    def path(self, day: date) -> DayPath:
        """The session ``day`` (which must exist), building the sessions before it first."""
        path = self._market.path(day)
        if path is not None:
            return path
        hours = self.hours(day)
        if hours is None:
            raise ValueError(f"{day} has no session")
        last = self._market.last_day
        if last is not None and last < day:
            d = last + timedelta(days=1)
            for _ in range(_MAX_WALK_DAYS):
                if d >= day:
                    break
                between = self.hours(d)
                if between is not None:
                    self._market.build_session(d, *between)
                d += timedelta(days=1)
        return self._market.build_session(day, *hours)

    def watch(self, day: date) -> None:
        """Make sure the close of ``day`` will be reported by :meth:`due`."""
        if day in self._closed or day in self._pending:
            return
        hours = self.hours(day)
        if hours is not None:
            self._pending[day] = hours[1]
            self._next_close = _utc(min(self._pending.values()))

    def due(self, now: datetime) -> list[date]:
        """Closes at or before ``now`` not handled yet, oldest first (now marked handled)."""
        first = self._next_close
        if first is None or now < first:
            return []
        days = sorted(d for d, close in self._pending.items() if close <= now)
        for day in days:
            del self._pending[day]
            self._closed.add(day)
        self._next_close = _utc(min(self._pending.values(), default=None))
        return days

    def next_close(self) -> datetime | None:
        """The earliest close still to be handled."""
        return self._next_close

    def listing(self, expiry: date, now: datetime) -> tuple[int, int] | None:
        """Lowest and highest strike listed for ``expiry`` if it still trades at ``now``."""
        close = self._closes.get(expiry, _UNKNOWN)
        if close is _UNKNOWN:
            hours = self.hours(expiry)
            close = self._closes[expiry] = None if hours is None else _utc(hours[1])
        if close is None or now >= close:
            return None
        market = self._market
        around = None if market.path(expiry) is not None else market.spot(now)  # unused if built
        return market.strike_range(expiry, around=around)

    def listed(self, contract: OptionContract, now: datetime) -> bool:
        """True if ``contract`` is listed and still trading at ``now``."""
        return in_listing(contract, self.listing(contract.expiry, now))


def _utc(ts: datetime | None) -> datetime | None:
    """``ts`` in UTC, the clock's zone (comparisons within one zone skip the zone lookups)."""
    return None if ts is None else ts.astimezone(UTC)


def in_listing(contract: OptionContract, bounds: tuple[int, int] | None) -> bool:
    """True if ``contract``'s strike is on the grid within ``bounds`` (None: not listed)."""
    if bounds is None:
        return False
    return bounds[0] <= contract.strike <= bounds[1] and contract.strike % STRIKE_STEP == 0
