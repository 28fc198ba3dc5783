"""Risk of the open condors computed in the console from what the engine already sends:
P&L at expiry across SPX, max loss and profit, breakevens (the payoff math is
:mod:`condordesk.domain.payoff`, shared with the GUI), distances to the short strikes,
and a compact text chart of the profile. Pure functions of :class:`CondorView` s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from condordesk.domain import payoff
from condordesk.domain.condor import IronCondor
from condordesk.engine.api import CondorView

_D0 = Decimal(0)
HELD_STATES = ("open", "closing")


def held(views: Iterable[CondorView]) -> list[CondorView]:
    """The condors that hold a position with a known credit (open or closing)."""
    return [v for v in views if v.state in HELD_STATES and v.credit is not None]


def _holdings(views: Iterable[CondorView]) -> list[payoff.Holding]:
    out = []
    for v in held(views):
        assert v.credit is not None
        expiry = v.opened_ts.date() if v.opened_ts else date(2000, 1, 1)
        condor = IronCondor(expiry, v.long_put, v.short_put, v.short_call, v.long_call, v.quantity)
        out.append(payoff.Holding(condor, v.credit))
    return out


def pnl_at_expiry(views: Iterable[CondorView], spx: Decimal) -> Decimal:
    """Dollars the held condors make (or lose) if SPX settles at ``spx``; commissions aside."""
    return payoff.pnl_at_expiry(_holdings(views), spx)


def breakpoints(views: Iterable[CondorView]) -> list[Decimal]:
    """Every strike of the held condors, sorted (the payoff bends only there)."""
    return payoff.breakpoints(_holdings(views))


def max_loss(views: Sequence[CondorView]) -> Decimal:
    """The worst P&L at expiry over every SPX, as a positive number of dollars (0 if none)."""
    return payoff.max_loss(_holdings(views))


def max_profit(views: Sequence[CondorView]) -> Decimal:
    """The best P&L at expiry over every SPX (dollars)."""
    return payoff.max_profit(_holdings(views))


def breakevens(views: Sequence[CondorView]) -> list[Decimal]:
    """SPX levels where the P&L at expiry crosses zero, to the cent."""
    return payoff.breakevens(_holdings(views))


@dataclass(frozen=True, slots=True)
class Distance:
    """How far SPX is from a condor's short strikes: points of cushion (negative once the
    strike is crossed) and the same in units of the day's expected move."""

    put_points: Decimal
    call_points: Decimal
    put_em: Decimal | None
    call_em: Decimal | None


def distance(view: CondorView, spot: Decimal, expected_move: Decimal | None) -> Distance:
    """SPX's distance to the short put (below) and short call (above)."""
    put_pts = spot - view.short_put
    call_pts = view.short_call - spot
    if expected_move is None or expected_move <= 0:
        return Distance(put_pts, call_pts, None, None)
    q = Decimal("0.01")
    put_em = (put_pts / expected_move).quantize(q)
    return Distance(put_pts, call_pts, put_em, (call_pts / expected_move).quantize(q))


@dataclass(frozen=True, slots=True)
class ProfileChart:
    """A text chart of P&L at expiry: ``rows`` top to bottom (``█`` above the zero row is
    profit, below it loss), ``zero_row`` the row of P&L 0, ``axis`` the SPX scale under it
    with ``▲`` at the spot, ``top``/``bottom`` the P&L at the top and bottom rows."""

    rows: list[str]
    zero_row: int
    axis: str
    top: Decimal
    bottom: Decimal
    lo: Decimal
    hi: Decimal


def profile_chart(
    views: Sequence[CondorView], spot: Decimal | None, width: int, height: int
) -> ProfileChart | None:
    """The P&L-at-expiry chart of the held condors over their strikes plus a margin; None
    when nothing is held or the space is too small."""
    points = breakpoints(views)
    if not points or width < 10 or height < 3:
        return None
    margin = max((points[-1] - points[0]) / 4, Decimal(5))
    lo, hi = points[0] - margin, points[-1] + margin
    if spot is not None:
        lo, hi = min(lo, spot - 5), max(hi, spot + 5)
    step = (hi - lo) / (width - 1)
    xs = [lo + step * i for i in range(width)]
    ys = [pnl_at_expiry(views, x) for x in xs]
    top, bottom = max(max(ys), _D0), min(min(ys), _D0)
    span = (top - bottom) or Decimal(1)
    zero = round((top / span) * (height - 1))
    if top > 0 and bottom < 0:  # both sides stay visible, however lopsided
        zero = min(max(zero, 1), height - 2)
    rows = []
    for r in range(height):
        level = top - span * r / (height - 1)
        line = []
        for y in ys:
            filled = (r < zero and y >= level and y > 0) or (r > zero and y <= level and y < 0)
            line.append("█" if filled else ("─" if r == zero else " "))
        rows.append("".join(line))
    axis = [" "] * width
    if spot is not None and lo <= spot <= hi:
        axis[min(width - 1, int((spot - lo) / step))] = "▲"
    return ProfileChart(rows, zero, "".join(axis), top, bottom, lo, hi)
