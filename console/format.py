"""Text formats both consoles use everywhere: money, prices, points, New York times."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")
DASH = "—"

UNPROTECTED_STOP_STATES = frozenset({"none", "cancelled", "cancelled-by-operator", "degraded"})
"""Stop states of an open condor that leave it without a working stop at the broker."""


def money(value: Decimal | None, *, sign: bool = True) -> str:
    """Dollars with thousands separators: ``+$1,234.50`` / ``-$166.62``."""
    if value is None:
        return DASH
    q = value.quantize(Decimal("0.01"))
    prefix = "-" if q < 0 else ("+" if sign and q > 0 else "")
    return f"{prefix}${abs(q):,.2f}"


def whole_money(value: Decimal | None, *, sign: bool = True) -> str:
    """Dollars rounded to the dollar, for narrow columns: ``+$1,235`` / ``-$167``."""
    if value is None:
        return DASH
    q = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    prefix = "-" if q < 0 else ("+" if sign and q > 0 else "")
    return f"{prefix}${abs(q):,.0f}"


def price(value: Decimal | None) -> str:
    """A combo or index price, two decimals."""
    return DASH if value is None else f"{value.quantize(Decimal('0.01')):f}"


def points(value: Decimal | None, *, sign: bool = False) -> str:
    """Index points to one decimal, half up (``21.85`` reads ``21.9``)."""
    if value is None:
        return DASH
    q = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{q:+f}" if sign else f"{q:f}"


def strike(value: Decimal) -> str:
    """A strike without trailing zeros (``5950``, ``5952.5``)."""
    return f"{value.normalize():f}"


def et_time(ts: datetime | None, *, seconds: bool = True) -> str:
    """``14:30:05`` in New York."""
    if ts is None:
        return DASH
    return ts.astimezone(ET).strftime("%H:%M:%S" if seconds else "%H:%M")


def et_stamp(ts: datetime | None) -> str:
    """``Mon 2026-11-30 14:30:05 ET``."""
    if ts is None:
        return DASH
    return ts.astimezone(ET).strftime("%a %Y-%m-%d %H:%M:%S ET")


def minutes_et(ts: datetime) -> float:
    """Minutes since midnight in New York (the x axis of the intraday charts)."""
    local = ts.astimezone(ET)
    return local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7


def clock_label(minutes: float) -> str:
    """``09:30`` for 570 minutes since midnight."""
    total = round(minutes)
    return f"{(total // 60) % 24:02d}:{total % 60:02d}"


def duration(delta: timedelta) -> str:
    """``3h57m``, ``12m05s``, ``40s`` (a negative duration reads as ``now``)."""
    total = int(delta.total_seconds())
    if total <= 0:
        return "now"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def greek(value: float, places: int = 2) -> str:
    """A greek with its sign and thousands separators."""
    return f"{value:+,.{places}f}"
