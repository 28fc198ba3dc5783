"""Fixtures for the adapter tests: async tests here run on the virtual-time event loop."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.combo import entry_order
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import ComboLeg, OrderAction, OrderReport, OrderStatus
from condordesk.market.clock import ET, SimClock
from condordesk.market.vtime import VirtualTimeEventLoop

MONDAY = date(2025, 3, 3)
EARLY_CLOSE_DAY = date(2025, 11, 28)  # the day after Thanksgiving: expiring cut off 13:00 ET
HOLIDAYS = {date(2025, 11, 27)}


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], Any]]:
    """Every async test under tests/adapters runs on the virtual-time loop."""
    return {"virtual": VirtualTimeEventLoop}


def weekday_sessions(day: date) -> tuple[datetime, datetime] | None:
    """A small calendar: weekdays 09:30-16:00 ET, one holiday, one early close (expiring
    options cut off at 13:00 ET, the calendar's :attr:`Session.close`)."""
    if day.weekday() >= 5 or day in HOLIDAYS:
        return None
    close = time(13, 0) if day == EARLY_CLOSE_DAY else time(16, 0)
    return datetime.combine(day, time(9, 30), ET), datetime.combine(day, close, ET)


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """An aware New York time on ``day``."""
    return datetime.combine(day, time(hh, mm, ss), ET)


def make_config(**overrides: Any) -> SimulatorConfig:
    """A simulator config for tests: calm, no greeks latency surprises unless asked."""
    values: dict[str, Any] = {
        "seed": 7,
        "scenario": "calm",
        "greeks_latency_s": 0.5,
        "greeks_missing_prob": 0.0,
    }
    values.update(overrides)
    return SimulatorConfig(**values)


def make_broker(
    start: datetime, config: SimulatorConfig | None = None, **kwargs: Any
) -> tuple[SimClock, SimMarket, SimBroker]:
    """A clock starting at ``start``, a market and a broker on the test calendar."""
    clock = SimClock(start)
    market = SimMarket(config or make_config())
    return clock, market, SimBroker(clock, market, weekday_sessions, **kwargs)


@pytest.fixture
def sim() -> tuple[SimClock, SimMarket, SimBroker]:
    """Clock at 10:00 ET on a Monday, a calm market and a broker (not connected yet)."""
    return make_broker(at(MONDAY, 10))


def combo_quote(
    quotes: Mapping[OptionContract, OptionQuote], legs: tuple[ComboLeg, ...]
) -> tuple[Decimal, Decimal]:
    """(bid, ask) of BUYing the combo ``legs`` from leg quotes."""
    bid = ask = Decimal(0)
    for leg in legs:
        q = quotes[leg.contract]
        assert q.bid is not None
        assert q.ask is not None
        if leg.action is OrderAction.BUY:
            bid, ask = bid + q.bid, ask + q.ask
        else:
            bid, ask = bid - q.ask, ask - q.bid
    return bid, ask


def condor_around(spot: float, day: date, distance: float = 30, width: int = 10) -> IronCondor:
    """A condor with short strikes about ``distance`` points either side of ``spot``."""
    sp = math.floor((spot - distance) / 5) * 5
    sc = math.ceil((spot + distance) / 5) * 5
    return IronCondor(day, Decimal(sp - width), Decimal(sp), Decimal(sc), Decimal(sc + width))


async def open_condor(
    broker: SimBroker, condor: IronCondor, ref: str = "cd:c1:entry"
) -> tuple[OrderReport, Decimal]:
    """Open ``condor`` with a FOK at its natural price; returns the report and the credit."""
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    _, ask = combo_quote(quotes, condor.short_legs())
    credit = -ask
    report = await broker.place_order(entry_order(condor, credit, ref))
    assert report.status is OrderStatus.FILLED
    return report, credit
