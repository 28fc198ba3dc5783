"""The simulator on the real trading calendar: expiring SPXW stop trading at the cut-off (the
equity close: 13:00 ET on an early-close day, 16:00 ET otherwise) and settle on that print."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from condordesk.broker.base import PositionsSettled
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.domain.combo import close_order
from condordesk.errors import OrderRejected
from condordesk.market.calendar import TradingCalendar
from condordesk.market.clock import SimClock

from .conftest import at, condor_around, make_config, open_condor

pytestmark = pytest.mark.usefixtures("warm_calendar")


def _broker_on_calendar(start: datetime) -> tuple[SimClock, SimMarket, SimBroker]:
    """A SimBroker whose sessions come from the trading calendar, as the bootstrap wires it."""
    from condordesk.config import paths

    calendar = TradingCalendar.load(paths.ensure(paths.cache_dir()), 2025, 2028)

    def bounds(day: date) -> tuple[datetime, datetime] | None:
        s = calendar.session(day)
        return None if s is None else (s.open, s.close)

    clock = SimClock(start)
    market = SimMarket(make_config())
    return clock, market, SimBroker(clock, market, bounds)


def _print(market: SimMarket, day: date) -> Decimal:
    path = market.path(day)
    assert path is not None
    return Decimal(repr(path.spots[-1])).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("day", "cutoff"),
    [(date(2026, 11, 27), (13, 0)), (date(2026, 12, 24), (13, 0)), (date(2026, 11, 30), (16, 0))],
    ids=["day-after-thanksgiving", "christmas-eve", "regular"],
)
async def test_expiring_orders_are_refused_after_the_cut_off_and_settle_on_its_print(
    day: date, cutoff: tuple[int, int]
) -> None:
    hh, mm = cutoff
    clock, market, broker = _broker_on_calendar(at(day, hh - 1, mm))
    await broker.connect()
    stream = broker.events()
    condor = condor_around(float(await broker.underlying_price()), day, distance=10)
    await open_condor(broker, condor)  # an hour before the cut-off: it trades
    path = market.path(day)
    assert path is not None and path.close == at(day, hh, mm)

    await clock.sleep_until(at(day, hh, mm + 5))

    settled = [e for e in stream.drain() if isinstance(e, PositionsSettled)]
    assert [(e.ts, e.settlement_price) for e in settled] == [(at(day, hh, mm), _print(market, day))]
    assert path.time_of(path.last) == at(day, hh, mm)  # the settlement print is the cut-off's
    assert await broker.settlement_price(day) == _print(market, day)
    with pytest.raises(OrderRejected) as refused:
        await broker.place_order(close_order(condor, Decimal("0.50"), "cd:c1:close"))
    assert refused.value.code == 201
    assert "expired" in refused.value.reason
    assert f"stopped trading at {hh:02d}:{mm:02d} ET" in refused.value.reason
