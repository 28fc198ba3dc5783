"""The simulated exchange the broker tests run against: a SimBroker on a SimClock that runs
``speed`` simulated seconds per real second of the (real) event loop."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.condor import IronCondor
from condordesk.market.clock import ET, SimClock

MONDAY = date(2025, 3, 3)
ACCOUNT = "DU1234567"


def weekday_sessions(day: date) -> tuple[datetime, datetime] | None:
    """Options sessions of the tests: every weekday 09:30-16:00 ET, no holidays."""
    if day.weekday() >= 5:
        return None
    return datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16, 0), ET)


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """An aware New York time on ``day``."""
    return datetime.combine(day, time(hh, mm, ss), ET)


def make_sim(start: datetime, *, speed: float, **overrides: Any) -> tuple[SimClock, SimBroker]:
    """A calm seeded market (greeks after 0.5 s, never missing unless overridden) and its
    SimBroker for :data:`ACCOUNT`, on a clock starting at ``start`` and running ``speed``
    times faster than the event loop."""
    values: dict[str, Any] = {
        "seed": 7,
        "scenario": "calm",
        "greeks_latency_s": 0.5,
        "greeks_missing_prob": 0.0,
    }
    values.update(overrides)
    clock = SimClock(start, speed=speed)
    market = SimMarket(SimulatorConfig(**values))
    return clock, SimBroker(clock, market, weekday_sessions, account=ACCOUNT)


def condor_around(
    spot: Decimal | float, day: date = MONDAY, distance: float = 30, width: int = 10
) -> IronCondor:
    """A condor with short strikes about ``distance`` points either side of ``spot``."""
    sp = math.floor((float(spot) - distance) / 5) * 5
    sc = math.ceil((float(spot) + distance) / 5) * 5
    return IronCondor(day, Decimal(sp - width), Decimal(sp), Decimal(sc), Decimal(sc + width))
