"""The option model of the simulated market: smile, Black-Scholes mid, bid/ask on the grid.

Implied vol of a strike is ``base_iv * multiplier(m)`` with the moneyness
``m = ln(K/S) / (base_iv * sqrt(T))`` and, for ``u = ln(1 + |m|)``, the multiplier
``1 + put_skew*u + curvature*u**2`` below the money and ``1 - call_dip*u + curvature*u**2``
above it: puts carry more vol than calls the same distance away, and the wings flatten out
(the logarithm keeps prices monotone in the strike however close the expiry is). The model
mid is Black-Scholes (no rates, no dividends: a 0DTE index option). The quote around it:

* spread = ``max(one tick, (2% of the price + 0.02) * widen)``, in whole ticks, where
  ``widen >= 1`` grows with the at-the-money vol (fast markets quote wider);
* bid = the model price minus half the spread, rounded to the nearest tick (never below 0),
  ask = bid + spread (moved up to the 0.10 grid at or above 3.00).

So a far out-of-the-money option quotes 0.00 / 0.05 and every price is on the SPX option grid
(0.05 below 3.00, 0.10 at and above). Prices are integer cents here; the broker converts to
``Decimal`` at the port.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from condordesk.broker.sim.paths import DayPath

SPREAD_PCT = 0.02
SPREAD_BASE = 0.02
IV_MULT_FLOOR = 0.5
IV_MULT_CAP = 3.0
_SQRT_HALF = math.sqrt(0.5)


@dataclass(frozen=True, slots=True)
class Smile:
    """Shape of the implied-vol smile (see the module docstring)."""

    put_skew: float = 0.18
    call_dip: float = 0.12
    curvature: float = 0.04

    def multiplier(self, moneyness: float) -> float:
        """The factor applied to the at-the-money vol at ``moneyness``."""
        u = math.log1p(abs(moneyness))
        slope = -self.put_skew if moneyness < 0 else self.call_dip
        return min(max(1.0 - slope * u + self.curvature * u * u, IV_MULT_FLOOR), IV_MULT_CAP)


def leg_points(
    path: DayPath,
    strike: float,
    is_call: bool,
    smile: Smile,
    start: int,
    stop: int,
    sqrt_t: Sequence[float] | None = None,
) -> tuple[list[int], list[int]]:
    """Bid and ask in cents of one option for the ticks ``[start, stop)`` of ``path``.

    Args:
        path: the session.
        strike: the strike.
        is_call: call or put.
        smile: the smile shape.
        start: first tick.
        stop: one past the last tick.
        sqrt_t: sqrt(years to expiry) per tick when the option does not expire at this
            session's close (default: ``path.sqrt_t``).
    """
    erfc = math.erfc
    spots, ln_spots, base_iv, widen = path.spots, path.ln_spots, path.base_iv, path.widen
    sq = path.sqrt_t if sqrt_t is None else sqrt_t
    own_t = sqrt_t is None
    inv_vt = path.inv_vol_t
    ln_k = math.log(strike)
    put_skew, call_dip, curv = -smile.put_skew, smile.call_dip, smile.curvature
    log1p = math.log1p
    bids: list[int] = []
    asks: list[int] = []
    for i in range(start, stop):
        s = spots[i]
        x = ln_k - ln_spots[i]
        st = sq[i]
        m = x * inv_vt[i] if own_t else x / (base_iv[i] * st)
        if m < 0.0:
            u = log1p(-m)
            mult = 1.0 - put_skew * u + curv * u * u
        else:
            u = log1p(m)
            mult = 1.0 - call_dip * u + curv * u * u
        mult = min(max(mult, IV_MULT_FLOOR), IV_MULT_CAP)
        v = base_iv[i] * mult * st
        d1 = (0.5 * v * v - x) / v
        d2 = d1 - v
        if is_call:
            price = 0.5 * (s * erfc(-d1 * _SQRT_HALF) - strike * erfc(-d2 * _SQRT_HALF))
        else:
            price = 0.5 * (strike * erfc(d2 * _SQRT_HALF) - s * erfc(d1 * _SQRT_HALF))
        bid, ask = spread_cents(price, widen[i])
        bids.append(bid)
        asks.append(ask)
    return bids, asks


def spread_cents(price: float, widen: float = 1.0) -> tuple[int, int]:
    """Bid and ask in cents around the model ``price`` (see the module docstring)."""
    if price < 0.0:
        price = 0.0
    cents = price * 100.0
    tick = 5 if cents < 300.0 else 10
    raw = (SPREAD_PCT * price + SPREAD_BASE) * 100.0 * widen
    spread = tick * max(1, math.ceil(raw / tick - 1e-9))
    low = cents - 0.5 * spread
    low_tick = 5 if low < 300.0 else 10
    bid = max(0, math.floor(low / low_tick + 0.5) * low_tick)
    ask = bid + spread
    if ask > 300 and ask % 10:
        ask += 5
    return bid, ask


def point_iv(path: DayPath, idx: int, strike: float, smile: Smile, sqrt_t: float) -> float:
    """Implied vol of ``strike`` at tick ``idx`` (same formula as :func:`leg_points`)."""
    x = math.log(strike) - path.ln_spots[idx]
    base = path.base_iv[idx]
    return base * smile.multiplier(x / (base * sqrt_t))
