"""What consoles show beside the condors: the day's expected move, the net greeks of the
open condors, what the schedule does next, and today's P&L through the day.

Pure functions and one small stateful holder (:class:`Outlook`) the engine feeds from its
trading cycle; nothing here places orders or changes the engine's decisions.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from condordesk.config.profile import Profile
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.prices import MULTIPLIER
from condordesk.engine.api import Event, PnlPoint, PositionGreeks, from_wire
from condordesk.errors import CalendarError
from condordesk.market.calendar import Session, TradingCalendar
from condordesk.market.clock import ET
from condordesk.market.pricing import SECONDS_PER_YEAR
from condordesk.store.journal import Journal

_REGULAR_CLOSE = time(16, 0)
PNL_SAMPLE_EVERY = timedelta(minutes=1)
"""Engine-clock spacing of the P&L samples behind a console's sparkline."""
PNL_SAMPLES_KEPT = 500
"""A regular session has 390 minutes: one day of samples fits."""


def position_greeks(
    condor: IronCondor, quotes: Mapping[OptionContract, OptionQuote]
) -> PositionGreeks | None:
    """Greeks of a held condor in dollars (long legs add, short legs subtract); None unless
    every leg has finite greeks."""
    delta = gamma = theta = vega = 0.0
    for contract in condor.contracts:
        quote = quotes.get(contract)
        if quote is None or quote.greeks is None or not quote.greeks.is_finite():
            return None
        k = condor.position_sign(contract) * condor.quantity * float(MULTIPLIER)
        g = quote.greeks
        delta, gamma = delta + k * g.delta, gamma + k * g.gamma
        theta, vega = theta + k * g.theta, vega + k * g.vega
    return PositionGreeks(delta, gamma, theta, vega)


def net_greeks(parts: Iterable[PositionGreeks]) -> PositionGreeks | None:
    """The sum of several positions' greeks (None when there are none)."""
    items = list(parts)
    if not items:
        return None
    return PositionGreeks(
        delta=round(sum(p.delta for p in items), 4),
        gamma=round(sum(p.gamma for p in items), 6),
        theta=round(sum(p.theta for p in items), 4),
        vega=round(sum(p.vega for p in items), 4),
    )


def expected_move(spot: Decimal, atm_iv: float, session: Session) -> Decimal:
    """The day's expected SPX move in points: one standard deviation over the session,
    ``spot x IV x sqrt(session length in years)`` (calendar-time years, as the engine prices
    options)."""
    years = (session.close - session.open).total_seconds() / SECONDS_PER_YEAR
    return Decimal(repr(round(float(spot) * atm_iv * math.sqrt(years), 2)))


def day_schedule(
    session: Session,
    *,
    reset_time: time,
    entry_start: time,
    entry_end: time,
    expiry_safety_time: time,
) -> list[tuple[str, datetime]]:
    """The scheduled events of one trading day, in order (aware datetimes).

    ``entry_end`` is already adjusted for an early close; the expiry safety time is kept the
    same distance from the close (as the risk rule does)."""
    day = session.day
    lead = datetime.combine(day, _REGULAR_CLOSE) - datetime.combine(day, expiry_safety_time)
    items = [
        ("daily reset", datetime.combine(day, reset_time, ET)),
        ("session open", session.open),
        ("entries open", datetime.combine(day, entry_start, ET)),
        ("entries close", datetime.combine(day, entry_end, ET)),
        ("expiry safety", session.close - lead),
        ("session close", session.close),
    ]
    return sorted(items, key=lambda item: item[1])


def next_event(now: datetime, schedule: list[tuple[str, datetime]]) -> tuple[str, datetime] | None:
    """The first scheduled event strictly after ``now``."""
    return next(((label, at) for label, at in schedule if at > now), None)


def upcoming(
    now: datetime,
    calendar: TradingCalendar,
    profile: Profile,
    entry_end: Callable[[Session], time],
) -> tuple[str, datetime] | None:
    """The engine's next scheduled event after ``now`` (None past the loaded calendar);
    ``entry_end`` gives a session's entry cut-off (adjusted for early closes)."""
    try:
        session = calendar.next_session(now)
    except CalendarError:
        return None
    schedule = day_schedule(
        session,
        reset_time=profile.schedule.reset_time,
        entry_start=profile.strategy.entry_start,
        entry_end=entry_end(session),
        expiry_safety_time=profile.risk.expiry_safety_time,
    )
    return next_event(now, schedule)


def recent_events(journal: Journal, seq: int, keep: int) -> list[Event]:
    """The last ``keep`` journaled events up to ``seq`` (a late console's lists and log)."""
    rows = journal.events(since=max(0, seq - 10 * keep), limit=10 * keep)
    events = []
    for *_, payload in rows[-keep:]:
        try:
            events.append(from_wire(payload))
        except (TypeError, ValueError):  # written by another version: not worth a failed attach
            continue
    return events


class PnlTrail:
    """Today's P&L sampled on the engine clock (at most one point per
    :data:`PNL_SAMPLE_EVERY`), cleared when the trading day changes."""

    def __init__(self) -> None:
        self.day: date | None = None
        self.points: deque[PnlPoint] = deque(maxlen=PNL_SAMPLES_KEPT)

    def sample(self, day: date, ts: datetime, pnl: Decimal) -> bool:
        """Record ``pnl`` at ``ts`` if it is time for a new point; True when recorded."""
        if day != self.day:
            self.day = day
            self.points.clear()
        if self.points and ts - self.points[-1].ts < PNL_SAMPLE_EVERY:
            return False
        self.points.append(PnlPoint(ts=ts, pnl=pnl))
        return True


class Outlook:
    """The engine's running figures for consoles: per-condor greeks, the day's expected move
    and the P&L trail."""

    def __init__(self) -> None:
        self.greeks: dict[str, PositionGreeks] = {}
        self._fresh: dict[str, tuple[IronCondor, Mapping[OptionContract, OptionQuote]]] = {}
        self._legs: dict[str, tuple[IronCondor, tuple[OptionContract, ...]]] = {}  # contracts
        self.expected_move: Decimal | None = None
        self.move_day: date | None = None
        self.trail = PnlTrail()

    def note_quotes(
        self, condor_id: str, condor: IronCondor, quotes: Mapping[OptionContract, OptionQuote]
    ) -> None:
        """Fresh quotes for a held condor: keep its greeks (the last good ones stay when a
        leg came without greeks this time). Computed only when asked for (:meth:`net`): the
        engine notes quotes every cycle, consoles may not be looking."""
        legs = self._legs.get(condor_id)
        if legs is None or legs[0] is not condor:
            legs = self._legs[condor_id] = (condor, condor.contracts)
        for contract in legs[1]:
            q = quotes.get(contract)
            if q is None or q.greeks is None:
                return
        self._fresh[condor_id] = (condor, quotes)

    def _settle(self) -> None:
        for condor_id, (condor, quotes) in self._fresh.items():
            greeks = position_greeks(condor, quotes)
            if greeks is not None:
                self.greeks[condor_id] = greeks
        self._fresh.clear()

    def note_atm_iv(self, session: Session, spot: Decimal, atm_iv: float | None) -> None:
        """The first at-the-money vol of a day fixes that day's expected move."""
        if self.move_day != session.day:
            self.move_day, self.expected_move = session.day, None
        if self.expected_move is None and atm_iv is not None and atm_iv > 0:
            self.expected_move = expected_move(spot, atm_iv, session)

    def net(self, live_ids: Iterable[str]) -> PositionGreeks | None:
        """Net greeks of the given live condors (forgetting condors no longer live)."""
        ids = set(live_ids)
        self._settle()
        for gone in [k for k in self.greeks if k not in ids]:
            del self.greeks[gone]
        for gone in [k for k in self._legs if k not in ids]:
            del self._legs[gone]
        return net_greeks(self.greeks[k] for k in ids if k in self.greeks)
