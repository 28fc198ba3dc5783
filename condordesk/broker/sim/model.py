"""The option model of the simulated market: smile, Black-Scholes mid, bid/ask on the grid.

Implied vol of a strike is ``base_iv * multiplier(m)`` with the moneyness
``m = ln(K/S) / (base_iv * sqrt(T))`` and, for ``u = ln(1 + |m|)``, the multiplier
``1 + put_skew*u + curvature*u**2`` below the money and ``1 - call_dip*u + call_curvature*u**2``
above it: puts carry more vol than calls the same distance away, the call side dips to about
one and a half sigma and rises again far out of the money (the call-wing smile), and the
logarithm keeps prices monotone in the strike however close the expiry is. The model
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from condordesk.broker.sim.paths import DayPath

SPREAD_PCT = 0.02
SPREAD_BASE = 0.02
IV_MULT_FLOOR = 0.5
IV_MULT_CAP = 3.0
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SPREAD_BASE_C = SPREAD_BASE * 100.0

Indexed = Sequence[float] | Mapping[int, float]
"""Per-tick values indexed by tick number (a full list, or just the ticks needed)."""


@dataclass(frozen=True, slots=True)
class Smile:
    """Shape of the implied-vol smile (see the module docstring)."""

    put_skew: float = 0.18
    call_dip: float = 0.20
    curvature: float = 0.04
    call_curvature: float = 0.12

    def multiplier(self, moneyness: float) -> float:
        """The factor applied to the at-the-money vol at ``moneyness``."""
        u = math.log1p(abs(moneyness))
        if moneyness < 0:
            mult = 1.0 + self.put_skew * u + self.curvature * u * u
        else:
            mult = 1.0 - self.call_dip * u + self.call_curvature * u * u
        return min(max(mult, IV_MULT_FLOOR), IV_MULT_CAP)


def leg_points(
    path: DayPath,
    strike: float,
    is_call: bool,
    smile: Smile,
    start: int,
    stop: int,
    sqrt_t: Indexed | None = None,
) -> tuple[list[int], list[int]]:
    """Bid and ask in cents of one option for the ticks ``[start, stop)`` of ``path``.

    The one place quotes are computed (the matching engine's series and single quotes both
    come from here), written out flat because it is the simulator's innermost loop.

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
    erfc, log1p, ceil, floor = math.erfc, math.log1p, math.ceil, math.floor
    spots, ln_spots, base_iv, widen = path.spots, path.ln_spots, path.base_iv, path.widen
    sq = path.sqrt_t if sqrt_t is None else sqrt_t
    inv_vt = path.inv_vol_t
    own = sqrt_t is None
    ln_k = math.log(strike)
    put_skew, call_dip, curv = smile.put_skew, smile.call_dip, smile.curvature
    call_curv = smile.call_curvature
    bids: list[int] = []
    asks: list[int] = []
    for i in range(start, stop):
        x = ln_k - ln_spots[i]
        m = x * inv_vt[i] if own else x / (base_iv[i] * sq[i])
        u = log1p(-m if m < 0.0 else m)
        if m < 0.0:
            mult = 1.0 + put_skew * u + curv * u * u
        else:
            mult = 1.0 - call_dip * u + call_curv * u * u
        mult = (
            IV_MULT_FLOOR if mult < IV_MULT_FLOOR else IV_MULT_CAP if mult > IV_MULT_CAP else mult
        )
        v = base_iv[i] * mult * sq[i]
        d1 = (0.5 * v * v - x) / v
        if is_call:
            p = 0.5 * (spots[i] * erfc(-d1 * _SQRT_HALF) - strike * erfc((v - d1) * _SQRT_HALF))
        else:
            p = 0.5 * (strike * erfc((d1 - v) * _SQRT_HALF) - spots[i] * erfc(d1 * _SQRT_HALF))
        # spread_cents, inlined
        cents = p * 100.0 if p > 0.0 else 0.0
        tick = 5 if cents < 300.0 else 10
        spread = tick * ceil(((SPREAD_PCT * cents + _SPREAD_BASE_C) * widen[i]) / tick - 1e-9)
        if spread < tick:
            spread = tick
        low = cents - 0.5 * spread
        low_tick = 5 if low < 300.0 else 10
        bid = floor(low / low_tick + 0.5) * low_tick
        if bid < 0:
            bid = 0
        ask = bid + spread
        if ask > 300 and ask % 10:
            ask += 5
        bids.append(bid)
        asks.append(ask)
    return bids, asks


def point_quote(
    path: DayPath, i: int, strike: float, is_call: bool, smile: Smile, st: float | None = None
) -> tuple[int, int, tuple[float, float, float, float, float]]:
    """Bid, ask (cents) and greeks ``(delta, gamma, theta, vega, iv)`` at tick ``i``.

    Bid and ask as :func:`leg_points` computes them (one tick, without its lists). Greeks are
    Black-Scholes at the smile's vol: theta per calendar day, vega per vol point. The smile
    and the spread are written out (the arithmetic of :meth:`Smile.multiplier` and
    :func:`spread_cents`, to the last bit): the simulator's quotes come from here.
    """
    spot, base = path.spots[i], path.base_iv[i]
    x = math.log(strike) - path.ln_spots[i]
    if st is None:  # the same arithmetic as leg_points, to the last bit
        st, m = path.sqrt_t[i], x * path.inv_vol_t[i]
    else:
        m = x / (base * st)
    if m < 0.0:
        u = math.log1p(-m)
        mult = 1.0 + smile.put_skew * u + smile.curvature * u * u
    else:
        u = math.log1p(m)
        mult = 1.0 - smile.call_dip * u + smile.call_curvature * u * u
    iv = base * (
        IV_MULT_FLOOR if mult < IV_MULT_FLOOR else IV_MULT_CAP if mult > IV_MULT_CAP else mult
    )
    v = iv * st
    d1 = (0.5 * v * v - x) / v
    if is_call:
        p = 0.5 * (spot * math.erfc(-d1 * _SQRT_HALF) - strike * math.erfc((v - d1) * _SQRT_HALF))
    else:
        p = 0.5 * (strike * math.erfc((d1 - v) * _SQRT_HALF) - spot * math.erfc(d1 * _SQRT_HALF))
    cents = p * 100.0 if p > 0.0 else 0.0
    tick = 5 if cents < 300.0 else 10
    spread = tick * math.ceil(((SPREAD_PCT * cents + _SPREAD_BASE_C) * path.widen[i]) / tick - 1e-9)
    if spread < tick:
        spread = tick
    low = cents - 0.5 * spread
    low_tick = 5 if low < 300.0 else 10
    bid = math.floor(low / low_tick + 0.5) * low_tick
    if bid < 0:
        bid = 0
    ask = bid + spread
    if ask > 300 and ask % 10:
        ask += 5
    pdf = math.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    delta = 0.5 * math.erfc(-d1 * _SQRT_HALF)
    greeks = (
        delta if is_call else delta - 1.0,
        pdf / (spot * v),
        -spot * pdf * iv / (2.0 * st) / 365.0,
        spot * pdf * st / 100.0,
        iv,
    )
    return bid, ask, greeks


def spread_cents(price: float, widen: float = 1.0) -> tuple[int, int]:
    """Bid and ask in cents around the model ``price`` (as :func:`leg_points` computes them)."""
    cents = price * 100.0 if price > 0.0 else 0.0
    tick = 5 if cents < 300.0 else 10
    spread = tick * math.ceil(((SPREAD_PCT * cents + _SPREAD_BASE_C) * widen) / tick - 1e-9)
    if spread < tick:
        spread = tick
    low = cents - 0.5 * spread
    low_tick = 5 if low < 300.0 else 10
    bid = math.floor(low / low_tick + 0.5) * low_tick
    if bid < 0:
        bid = 0
    ask = bid + spread
    if ask > 300 and ask % 10:
        ask += 5
    return bid, ask
