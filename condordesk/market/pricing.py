"""Black-Scholes prices and greeks for European index options (SPX is European, cash-settled).

Plain ``math`` on floats: models are floats, money in the core is Decimal (convert at the
edge with :func:`condordesk.domain.prices.to_decimal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from condordesk.domain.options import Right

SECONDS_PER_YEAR = 365.0 * 24 * 3600
_SQRT_2PI = math.sqrt(2 * math.pi)


def norm_cdf(x: float) -> float:
    """Standard normal cumulative distribution."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def norm_pdf(x: float) -> float:
    """Standard normal density."""
    return math.exp(-0.5 * x * x) / _SQRT_2PI


@dataclass(frozen=True, slots=True)
class BSResult:
    """Price and greeks of one option. Theta is per calendar day, vega per 1 vol point."""

    price: float
    delta: float
    gamma: float
    theta: float
    vega: float


def black_scholes(
    right: Right, spot: float, strike: float, years: float, vol: float, rate: float = 0.0, div: float = 0.0
) -> BSResult:
    """Price and greeks of a European option.

    Args:
        right: put or call.
        spot: underlying value.
        strike: strike.
        years: time to expiry in years (at or below zero: intrinsic value, step delta).
        vol: annualised implied volatility (0.15 = 15%).
        rate: continuously compounded risk-free rate.
        div: continuous dividend yield.
    """
    if years <= 0 or vol <= 0:
        intrinsic = max(spot - strike, 0.0) if right is Right.CALL else max(strike - spot, 0.0)
        if right is Right.CALL:
            delta = 1.0 if spot > strike else 0.0
        else:
            delta = -1.0 if spot < strike else 0.0
        return BSResult(intrinsic, delta, 0.0, 0.0, 0.0)
    sqrt_t = math.sqrt(years)
    d1 = (math.log(spot / strike) + (rate - div + 0.5 * vol * vol) * years) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    df_r = math.exp(-rate * years)
    df_q = math.exp(-div * years)
    pdf_d1 = norm_pdf(d1)
    gamma = df_q * pdf_d1 / (spot * vol * sqrt_t)
    vega = spot * df_q * pdf_d1 * sqrt_t / 100.0
    decay = -spot * df_q * pdf_d1 * vol / (2 * sqrt_t)
    if right is Right.CALL:
        price = spot * df_q * norm_cdf(d1) - strike * df_r * norm_cdf(d2)
        delta = df_q * norm_cdf(d1)
        theta = decay - rate * strike * df_r * norm_cdf(d2) + div * spot * df_q * norm_cdf(d1)
    else:
        price = strike * df_r * norm_cdf(-d2) - spot * df_q * norm_cdf(-d1)
        delta = -df_q * norm_cdf(-d1)
        theta = decay + rate * strike * df_r * norm_cdf(-d2) - div * spot * df_q * norm_cdf(-d1)
    return BSResult(max(price, 0.0), delta, gamma, theta / 365.0, vega)


def implied_vol(
    right: Right, price: float, spot: float, strike: float, years: float, rate: float = 0.0
) -> float | None:
    """Implied volatility by bisection; None when the price is outside the no-arbitrage band."""
    intrinsic = max(spot - strike, 0.0) if right is Right.CALL else max(strike - spot, 0.0)
    if years <= 0 or price <= intrinsic:
        return None
    lo, hi = 1e-4, 5.0
    if black_scholes(right, spot, strike, years, hi, rate).price < price:
        return None
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if black_scholes(right, spot, strike, years, mid, rate).price < price:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-7:
            break
    return 0.5 * (lo + hi)


def strike_for_delta(
    right: Right, target_abs_delta: float, spot: float, years: float, vol: float
) -> float:
    """The strike whose |delta| equals ``target_abs_delta`` under a flat ``vol`` (screening)."""
    if not 0 < target_abs_delta < 1 or years <= 0:
        raise ValueError("target delta must be in (0, 1) and time positive")
    lo, hi = spot * 0.5, spot * 1.5
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        d = abs(black_scholes(right, spot, mid, years, vol).delta)
        # call |delta| falls as strike rises; put |delta| rises as strike rises
        too_high = d < target_abs_delta if right is Right.CALL else d > target_abs_delta
        if too_high:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
