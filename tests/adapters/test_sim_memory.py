"""A long simulation keeps only recent sessions' tick arrays, and loses no settlement."""

from __future__ import annotations

from datetime import date, timedelta

from condordesk.broker.sim import SimMarket
from condordesk.broker.sim.market import KEEP_DAYS
from condordesk.domain.prices import to_decimal

from .conftest import MONDAY, make_config, weekday_sessions


def test_old_sessions_are_retired_but_keep_their_settlement_level() -> None:
    market = SimMarket(make_config())
    settled: dict[date, object] = {}
    day = MONDAY
    built = 0
    while built < 3 * KEEP_DAYS:
        hours = weekday_sessions(day)
        if hours is not None:
            path = market.build_session(day, *hours)
            settled[day] = to_decimal(path.spots[-1])
            built += 1
        day += timedelta(days=1)
    kept = [d for d in settled if market.path(d) is not None]
    assert len(kept) == KEEP_DAYS
    assert kept == sorted(settled)[-KEEP_DAYS:]
    assert all(market.settlement_price(d) == price for d, price in settled.items())
