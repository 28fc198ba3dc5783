"""reqHistoricalData for the SPX index: daily bars whose close is the session's settlement
level (the simulator keeps no intraday extremes, so open = high = low = close), plus today's
bar at the current level while the session is open."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.gateway.codec import Field, FieldReader
from condordesk.gateway.contracts import INDEX_CONID, WireContract, resolve

if TYPE_CHECKING:
    from condordesk.gateway.session import Session

HISTORICAL_DATA = 17
DAILY = "1 day"
MAX_DAYS = 400


def _days(duration: str) -> int:
    """Calendar days in a duration like ``10 D``, ``2 W``, ``1 M``, ``1 Y``."""
    count, _, unit = duration.strip().partition(" ")
    per = {"D": 1, "W": 7, "M": 31, "Y": 365}.get(unit.strip().upper(), 1)
    try:
        return min(max(int(count), 1) * per, MAX_DAYS)
    except ValueError:
        return 1


def _bar(day: date, level: Decimal) -> list[Field]:
    return [f"{day:%Y%m%d}", level, level, level, level, 0, level, 0]


async def _bars(s: Session, days: int) -> list[list[Field]]:
    broker = s.gateway.broker
    today = s.gateway.clock.now_et().date()
    bars = []
    for n in range(days, 0, -1):
        day = today - timedelta(days=n)
        level = await broker.settlement_price(day)
        if level is not None:
            bars.append(_bar(day, level))
    level = await broker.settlement_price(today)
    if level is None and await broker.option_strikes(today):
        level = await broker.underlying_price()
    if level is not None:
        bars.append(_bar(today, level))
    return bars


async def historical_data(s: Session, r: FieldReader) -> None:
    req_id = r.read_int()
    s.current_req = req_id
    wire = WireContract.read(r)
    r.skip(2)  # includeExpired, endDateTime
    bar_size, duration = r.read_str(), r.read_str()
    if resolve(wire) != INDEX_CONID or bar_size != DAILY:
        s.error(
            req_id, 162, "Historical Market Data Service error message:HMDS query returned no data"
        )
        return
    bars = await _bars(s, _days(duration))
    start = bars[0][0] if bars else ""
    end = bars[-1][0] if bars else ""
    fields: list[Field] = [HISTORICAL_DATA, req_id, start, end, len(bars)]
    for bar in bars:
        fields += bar
    s.send(fields)
