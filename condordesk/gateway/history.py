"""reqHistoricalData for the SPX index.

* Daily bars: each past session's bar closes at its settlement level (the simulator keeps no
  intraday extremes of retired days, so open = high = low = close); the day before the first
  simulated session closes where that session opened (the simulator starts a run at the
  previous close), so a client always finds the prior close; today's bar, while the session
  is open, is built from its ticks so far.
* ``1 min`` and ``5 mins`` bars of today's session up to now, from the simulator's index
  path (needs the gateway's ``market``); other sizes answer 162.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.broker.sim.paths import DayPath
from condordesk.gateway.codec import Field, FieldReader
from condordesk.gateway.contracts import INDEX_CONID, WireContract, resolve
from condordesk.market.clock import ET

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client

HISTORICAL_DATA = 17
DAILY = "1 day"
INTRADAY = {"1 min": 60, "5 mins": 300}
MAX_DAYS = 400
NO_DATA = "Historical Market Data Service error message:HMDS query returned no data"


def _days(duration: str) -> int:
    """Calendar days in a duration like ``10 D``, ``2 W``, ``1 M``, ``1 Y``."""
    count, _, unit = duration.strip().partition(" ")
    per = {"D": 1, "W": 7, "M": 31, "Y": 365}.get(unit.strip().upper(), 1)
    try:
        return min(max(int(count), 1) * per, MAX_DAYS)
    except ValueError:
        return 1


def _bar(stamp: str, prices: list[float] | Decimal) -> list[Field]:
    if isinstance(prices, Decimal):
        return [stamp, prices, prices, prices, prices, 0, prices, 0]
    first, last = Decimal(str(round(prices[0], 2))), Decimal(str(round(prices[-1], 2)))
    high, low = Decimal(str(round(max(prices), 2))), Decimal(str(round(min(prices), 2)))
    return [stamp, first, high, low, last, 0, last, len(prices)]


def _today_path(s: Client) -> DayPath | None:
    market = s.gateway.market
    return None if market is None else market.path(s.gateway.clock.now_et().date())


def _ticks_so_far(s: Client, path: DayPath) -> list[float]:
    return path.spots[: path.index(s.gateway.clock.now()) + 1]


def _previous_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


async def prior_close(s: Client) -> Decimal | None:
    """The previous session's close: its settlement level, else (the first simulated session)
    the level today's session opened at."""
    today = s.gateway.clock.now_et().date()
    level = await s.gateway.broker.settlement_price(_previous_weekday(today))
    if level is not None:
        return level
    path = _today_path(s)
    return None if path is None else Decimal(str(round(path.spots[0], 2)))


async def _daily_bars(s: Client, days: int) -> list[list[Field]]:
    broker = s.gateway.broker
    today = s.gateway.clock.now_et().date()
    bars = []
    for n in range(days, 0, -1):
        day = today - timedelta(days=n)
        level = await broker.settlement_price(day)
        if level is not None:
            bars.append(_bar(f"{day:%Y%m%d}", level))
    first_prior = _previous_weekday(today)
    if not bars or bars[-1][0] != f"{first_prior:%Y%m%d}":
        prior = await prior_close(s)
        if prior is not None and (today - first_prior).days <= days:
            bars.append(_bar(f"{first_prior:%Y%m%d}", prior))
    settled = await broker.settlement_price(today)
    path = _today_path(s)
    if settled is not None:
        bars.append(_bar(f"{today:%Y%m%d}", settled))
    elif path is not None:
        bars.append(_bar(f"{today:%Y%m%d}", _ticks_so_far(s, path)))
    elif await broker.option_strikes(today):
        bars.append(_bar(f"{today:%Y%m%d}", await broker.underlying_price()))
    return bars


def _intraday_bars(s: Client, seconds: int) -> list[list[Field]]:
    path = _today_path(s)
    if path is None:
        return []
    ticks = _ticks_so_far(s, path)
    per_bar = max(int(seconds / path.tick_seconds), 1)
    bars = []
    for start in range(0, len(ticks), per_bar):
        ts = (path.open + timedelta(seconds=start * path.tick_seconds)).astimezone(ET)
        bars.append(_bar(f"{ts:%Y%m%d %H:%M:%S} US/Eastern", ticks[start : start + per_bar]))
    return bars


async def historical_data(s: Client, r: FieldReader) -> None:
    req_id = r.read_int()
    s.current_req = req_id
    wire = WireContract.read(r)
    r.skip(2)  # includeExpired, endDateTime
    bar_size, duration = r.read_str(), r.read_str()
    bars: list[list[Field]] = []
    if resolve(wire) == INDEX_CONID and bar_size == DAILY:
        bars = await _daily_bars(s, _days(duration))
    elif resolve(wire) == INDEX_CONID and bar_size in INTRADAY:
        bars = _intraday_bars(s, INTRADAY[bar_size])
    if not bars:
        s.error(req_id, 162, NO_DATA)
        return
    fields: list[Field] = [HISTORICAL_DATA, req_id, bars[0][0], bars[-1][0], len(bars)]
    for bar in bars:
        fields += bar
    s.send(fields)
