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
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


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


def model_point(
    is_call: bool,
    spot: float,
    strike: float,
    x: float,
    base: float,
    st: float,
    inv_vt: float,
    smile: Smile,
) -> tuple[float, float, float]:
    """Model price, implied vol and ``d1`` of one option at one tick.

    Args:
        is_call: call or put.
        spot: the index.
        strike: the strike.
        x: ``ln(strike) - ln(spot)``.
        base: the at-the-money vol.
        st: sqrt(years to expiry).
        inv_vt: ``1 / (base * st)`` (turns ``x`` into the smile's moneyness).
        smile: the smile shape.
    """
    iv = base * smile.multiplier(x * inv_vt)
    v = iv * st
    d1 = (0.5 * v * v - x) / v
    d2 = d1 - v
    if is_call:
        price = 0.5 * (spot * math.erfc(-d1 * _SQRT_HALF) - strike * math.erfc(-d2 * _SQRT_HALF))
    else:
        price = 0.5 * (strike * math.erfc(d2 * _SQRT_HALF) - spot * math.erfc(d1 * _SQRT_HALF))
    return price, iv, d1


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
    spots, ln_spots, base_iv, widen = path.spots, path.ln_spots, path.base_iv, path.widen
    sq = path.sqrt_t if sqrt_t is None else sqrt_t
    inv_vt = path.inv_vol_t
    ln_k = math.log(strike)
    bids: list[int] = []
    asks: list[int] = []
    for i in range(start, stop):
        st = sq[i]
        inv = inv_vt[i] if sqrt_t is None else 1.0 / (base_iv[i] * st)
        price = model_point(
            is_call, spots[i], strike, ln_k - ln_spots[i], base_iv[i], st, inv, smile
        )[0]
        bid, ask = spread_cents(price, widen[i])
        bids.append(bid)
        asks.append(ask)
    return bids, asks


def point_quote(
    path: DayPath, i: int, strike: float, is_call: bool, smile: Smile, st: float | None = None
) -> tuple[int, int, tuple[float, float, float, float, float]]:
    """Bid, ask (cents) and greeks ``(delta, gamma, theta, vega, iv)`` at tick ``i``.

    The bid and ask equal :func:`leg_points`' for the same tick. Greeks are Black-Scholes at
    the smile's vol: theta per calendar day, vega per vol point.
    """
    spot, base = path.spots[i], path.base_iv[i]
    own = st is None
    st = path.sqrt_t[i] if st is None else st
    inv = path.inv_vol_t[i] if own else 1.0 / (base * st)
    price, iv, d1 = model_point(
        is_call, spot, strike, math.log(strike) - path.ln_spots[i], base, st, inv, smile
    )
    bid, ask = spread_cents(price, path.widen[i])
    pdf = math.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    delta = 0.5 * math.erfc(-d1 * _SQRT_HALF)
    greeks = (
        delta if is_call else delta - 1.0,
        pdf / (spot * iv * st),
        -spot * pdf * iv / (2.0 * st) / 365.0,
        spot * pdf * st / 100.0,
        iv,
    )
    return bid, ask, greeks


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
