"""The simulator's shortcuts answer what the long way answers.

The market and the session tracker keep the day they found for its New York day (as a UTC
window), the tracker keeps the next close, the broker keeps the last index it converted to
a Decimal: around midnight, across a daylight-saving change and after a gap they must give
exactly what a fresh computation gives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from condordesk.broker.sim import SimMarket
from condordesk.broker.sim.market import KEEP_DAYS
from condordesk.broker.sim.paths import DayPath
from condordesk.broker.sim.sessions import SessionTracker
from condordesk.domain.prices import to_decimal
from condordesk.market.clock import ET

from .conftest import at, make_broker, make_config, weekday_sessions

DST_FRIDAY = date(2025, 3, 7)  # New York moves its clocks on Sunday 2025-03-09
DST_WEEK = [date(2025, 3, 6), DST_FRIDAY, date(2025, 3, 10), date(2025, 3, 11)]


def _times() -> list[datetime]:
    """UTC times every 20 minutes over the week of the change, plus both sides of each New
    York midnight, out of order (the caches must follow jumps back as well as forward)."""
    start = datetime.combine(date(2025, 3, 5), time(20), ET).astimezone(UTC)
    grid = [start + timedelta(minutes=20 * k) for k in range(6 * 24 * 3)]
    edges: list[datetime] = []
    for n in range(7):
        midnight = datetime.combine(date(2025, 3, 6) + timedelta(days=n), time(0), ET)
        edges += [midnight - timedelta(microseconds=1), midnight]
    times = grid + [t.astimezone(UTC) for t in edges]
    return times + times[::-1] + times[::3] + times[::-7]


def _expected_path(market: SimMarket, ts: datetime) -> DayPath | None:
    """path_at the long way: the session of the New York date, else the latest before."""
    built = [market.path(d) for d in DST_WEEK if market.path(d) is not None]
    today = market.path(ts.astimezone(ET).date())
    if today is not None:
        return today
    earlier = [p for p in built if p is not None and p.open <= ts]
    return earlier[-1] if earlier else built[0]


def test_path_at_follows_the_new_york_date_around_midnight_and_a_clock_change() -> None:
    market = SimMarket(make_config())
    for day in DST_WEEK:
        hours = weekday_sessions(day)
        assert hours is not None
        market.build_session(day, *hours)
    for ts in _times():
        assert market.path_at(ts) is _expected_path(market, ts), ts.astimezone(ET)


def test_path_at_sees_a_session_built_after_it_answered() -> None:
    market = SimMarket(make_config())
    first = weekday_sessions(DST_WEEK[0])
    assert first is not None
    market.build_session(DST_WEEK[0], *first)
    friday_noon = at(DST_FRIDAY, 12).astimezone(UTC)
    assert market.path_at(friday_noon) is market.path(DST_WEEK[0])  # the latest before
    hours = weekday_sessions(DST_FRIDAY)
    assert hours is not None
    friday = market.build_session(DST_FRIDAY, *hours)
    assert market.path_at(friday_noon) is friday


def test_path_at_lets_go_of_a_retired_session() -> None:
    market = SimMarket(make_config())
    days = [DST_WEEK[0] + timedelta(days=n) for n in range(14)]
    days = [d for d in days if weekday_sessions(d) is not None]
    for day in days[:KEEP_DAYS]:
        hours = weekday_sessions(day)
        assert hours is not None
        market.build_session(day, *hours)
    noon = at(days[0], 12).astimezone(UTC)
    first = market.path_at(noon)
    assert first is not None
    assert first.day == days[0]
    hours = weekday_sessions(days[KEEP_DAYS])
    assert hours is not None
    market.build_session(days[KEEP_DAYS], *hours)  # retires the first day's ticks
    assert market.path(days[0]) is None
    assert market.path_at(noon) is market.path(days[1])  # the earliest kept, as before


def test_the_tracker_answers_today_and_the_next_close_as_it_did() -> None:
    market = SimMarket(make_config())
    tracker = SessionTracker(market, weekday_sessions)
    for ts in sorted(_times()):
        day = ts.astimezone(ET).date()
        path = tracker.today(ts)
        if weekday_sessions(day) is None:
            assert path is None
        else:
            assert path is not None
            assert path.day == day
            assert market.path(day) is path
        closes = tracker.due(ts)
        assert all(d <= day for d in closes)
        after = tracker.next_close()
        assert after is None or after > ts  # every close at or before now was handled
    after = tracker.next_close()
    assert after is None or after > max(_times())


def test_the_next_close_is_the_earliest_pending_and_is_handled_once() -> None:
    market = SimMarket(make_config())
    tracker = SessionTracker(market, weekday_sessions)
    tracker.watch(DST_WEEK[1])
    tracker.watch(DST_WEEK[0])
    first_close = weekday_sessions(DST_WEEK[0])
    second_close = weekday_sessions(DST_WEEK[1])
    assert first_close is not None
    assert second_close is not None
    assert tracker.next_close() == first_close[1]
    assert tracker.due(first_close[1] - timedelta(microseconds=1)) == []
    assert tracker.due(first_close[1]) == [DST_WEEK[0]]
    assert tracker.due(first_close[1]) == []
    assert tracker.next_close() == second_close[1]
    assert tracker.due(second_close[1] + timedelta(days=1)) == [DST_WEEK[1]]
    assert tracker.next_close() is None


async def test_the_index_follows_every_tick_and_a_gap() -> None:
    clock, market, broker = make_broker(at(DST_FRIDAY, 9, 31))
    await broker.connect()
    for _ in range(40):
        spot = await broker.underlying_price()
        assert spot == to_decimal(market.spot(clock.now()))
        await clock.sleep(7.0)
    before = await broker.underlying_price()
    broker.gap(-12.5)
    after = await broker.underlying_price()
    assert after == to_decimal(market.spot(clock.now()))
    assert after <= before - Decimal("12")
    await broker.close()
