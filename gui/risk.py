"""The risk graph's numbers: P&L across SPX at expiry (exact, :mod:`condordesk.domain.payoff`)
and now (T+0, Black-Scholes from :mod:`condordesk.market.pricing`, the engine's own model),
breakevens, the SPX levels where a condor's stop would trigger, and model greeks.

The engine sends each condor's mark but not the implied vols of its legs, so the T+0 curve
prices every leg at one flat vol per condor, solved so the model's value at today's SPX equals
the condor's mark: the curve passes through the P&L the table shows. Without a mark it falls
back to the at-the-money vol implied by the day's expected move. Pure; no Qt.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from condordesk.domain import payoff
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import Right
from condordesk.domain.prices import MULTIPLIER
from condordesk.engine.api import CondorView, PositionGreeks
from condordesk.market.pricing import SECONDS_PER_YEAR, black_scholes
from console.format import ET

HELD_STATES = ("open", "closing")
REGULAR_SESSION = timedelta(hours=6, minutes=30)
_MULT = float(MULTIPLIER)
_VOL_LO, _VOL_HI = 0.005, 3.0


def held(views: Iterable[CondorView]) -> list[CondorView]:
    """The condors that hold a position with a known credit (open or closing)."""
    return [v for v in views if v.state in HELD_STATES and v.credit is not None]


def holding(view: CondorView) -> payoff.Holding:
    """A held condor as the domain's payoff sees it."""
    assert view.credit is not None
    expiry = view.opened_ts.astimezone(ET).date() if view.opened_ts else date(2000, 1, 1)
    condor = IronCondor(expiry, view.long_put, view.short_put, view.short_call, view.long_call,
                        view.quantity)  # fmt: skip
    return payoff.Holding(condor, view.credit)


def years_left(now: datetime | None, close: datetime | None) -> float:
    """Calendar years from ``now`` to the close (the expiry of a 0DTE condor); 16:00 New York
    of ``now``'s day when the close is not known. Never negative."""
    if now is None:
        return 0.0
    if close is None:
        close = datetime.combine(now.astimezone(ET).date(), time(16, 0), ET)
    return max((close - now).total_seconds(), 0.0) / SECONDS_PER_YEAR


def _legs(view: CondorView) -> tuple[tuple[Right, float, float], ...]:
    """(right, strike, +1 long / -1 short) of the four legs."""
    return (
        (Right.PUT, float(view.long_put), 1.0),
        (Right.PUT, float(view.short_put), -1.0),
        (Right.CALL, float(view.short_call), -1.0),
        (Right.CALL, float(view.long_call), 1.0),
    )


def condor_value(view: CondorView, spot: float, years: float, vol: float) -> float:
    """What buying one unit back costs (points) under Black-Scholes at one flat vol."""
    return sum(
        -sign * black_scholes(right, spot, k, years, vol).price for right, k, sign in _legs(view)
    )


def implied_vol(view: CondorView, spot: float, years: float, mark: float) -> float | None:
    """The flat vol at which the model's value equals ``mark`` (bisection), or None when no
    vol in range gives it (then the caller falls back to the at-the-money vol)."""
    if years <= 0:
        return None
    lo, hi = _VOL_LO, _VOL_HI
    f_lo = condor_value(view, spot, years, lo) - mark
    f_hi = condor_value(view, spot, years, hi) - mark
    if f_lo * f_hi > 0:
        return None
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        f_mid = condor_value(view, spot, years, mid) - mark
        if (f_mid > 0) == (f_hi > 0):
            hi, f_hi = mid, f_mid
        else:
            lo = mid
        if hi - lo < 1e-6:
            break
    return 0.5 * (lo + hi)


def atm_vol(spot: Decimal | None, expected_move: Decimal | None) -> float | None:
    """The at-the-money vol behind the day's expected move (``spot x IV x sqrt(session)``)."""
    if spot is None or expected_move is None or spot <= 0 or expected_move <= 0:
        return None
    session_years = REGULAR_SESSION.total_seconds() / SECONDS_PER_YEAR
    return float(expected_move) / (float(spot) * math.sqrt(session_years))


@functools.lru_cache(maxsize=64)  # the stop levels and the risk graph price the same condor
def model_vol(
    view: CondorView, spot: Decimal | None, years: float, expected_move: Decimal | None
) -> float | None:
    """The vol the T+0 curve prices ``view`` at: implied from its mark, else the ATM vol."""
    if spot is not None and view.mark is not None:
        vol = implied_vol(view, float(spot), years, float(view.mark))
        if vol is not None:
            return vol
    return atm_vol(spot, expected_move)


def pnl_now(view: CondorView, spx: float, years: float, vol: float) -> float:
    """Dollars the condor makes (or loses) if bought back now with SPX at ``spx``."""
    assert view.credit is not None
    return (float(view.credit) - condor_value(view, spx, years, vol)) * _MULT * view.quantity


def stop_levels(
    view: CondorView, spot: float, years: float, vol: float
) -> tuple[float | None, float | None]:
    """The SPX levels below and above ``spot`` where the model's value of the condor reaches
    its stop trigger (None on a side where it does not, within the long strikes)."""
    if view.stop_trigger is None or years <= 0:
        return None, None
    trigger = float(view.stop_trigger)

    def reach(a: float, b: float) -> float | None:
        fa = condor_value(view, a, years, vol) - trigger
        fb = condor_value(view, b, years, vol) - trigger
        if fa * fb > 0:
            return None
        for _ in range(30):  # to a few millionths of a point
            mid = 0.5 * (a + b)
            fm = condor_value(view, mid, years, vol) - trigger
            if (fm > 0) == (fa > 0):
                a, fa = mid, fm
            else:
                b = mid
        return round(0.5 * (a + b), 2)

    wing = float(max(view.short_put - view.long_put, view.long_call - view.short_call))
    low = reach(float(view.long_put) - wing, spot) if spot > float(view.long_put) - wing else None
    high = reach(spot, float(view.long_call) + wing)
    return low, high


def condor_greeks(view: CondorView, spot: float, years: float, vol: float) -> PositionGreeks:
    """Model greeks of the held condor in dollars (delta per point, theta per day)."""
    delta = gamma = theta = vega = 0.0
    for right, k, sign in _legs(view):
        g = black_scholes(right, spot, k, years, vol)
        w = sign * _MULT * view.quantity
        delta, gamma = delta + w * g.delta, gamma + w * g.gamma
        theta, vega = theta + w * g.theta, vega + w * g.vega
    return PositionGreeks(delta, gamma, theta, vega)


@dataclass(frozen=True, slots=True)
class RiskGraph:
    """The curves of a risk graph over ``xs`` (SPX levels) and its marks."""

    xs: list[float]
    expiry: list[float]
    now: list[float] | None  # T+0; None without a vol
    breakevens: list[Decimal]
    max_loss: Decimal
    max_profit: Decimal
    greeks: PositionGreeks | None  # model greeks; None without a vol for every condor


def span(
    views: Sequence[CondorView], spot: Decimal | None, em: Decimal | None
) -> tuple[float, float]:
    """The SPX range a risk graph shows: every strike, SPX and its expected move, with margin."""
    strikes = payoff.breakpoints(holding(v) for v in views)
    lo, hi = float(strikes[0]), float(strikes[-1])
    if spot is not None:
        reach = float(em) * 1.5 if em else 0.0
        lo, hi = min(lo, float(spot) - reach), max(hi, float(spot) + reach)
    margin = max((hi - lo) * 0.25, 10.0)
    return lo - margin, hi + margin


def risk_graph(
    views: Sequence[CondorView],
    spot: Decimal | None,
    expected_move: Decimal | None,
    years: float,
    points: int = 121,
) -> RiskGraph | None:
    """P&L at expiry and now across SPX for the held condors among ``views`` (None if none)."""
    views = held(views)
    if not views:
        return None
    holdings = [holding(v) for v in views]
    lo, hi = span(views, spot, expected_move)
    step = (hi - lo) / (points - 1)
    xs = [lo + step * i for i in range(points)]
    expiry = [float(payoff.pnl_at_expiry(holdings, Decimal(repr(x)))) for x in xs]
    vols = [model_vol(v, spot, years, expected_move) for v in views]
    now = greeks = None
    if years > 0 and all(vol is not None for vol in vols):
        priced = list(zip(views, [vol for vol in vols if vol is not None], strict=True))
        now = [sum(pnl_now(v, x, years, vol) for v, vol in priced) for x in xs]
        if spot is not None:
            parts = [condor_greeks(v, float(spot), years, vol) for v, vol in priced]
            greeks = PositionGreeks(
                sum(p.delta for p in parts), sum(p.gamma for p in parts),
                sum(p.theta for p in parts), sum(p.vega for p in parts),
            )  # fmt: skip
    return RiskGraph(
        xs=xs,
        expiry=expiry,
        now=now,
        breakevens=payoff.breakevens(holdings),
        max_loss=payoff.max_loss(holdings),
        max_profit=payoff.max_profit(holdings),
        greeks=greeks,
    )
