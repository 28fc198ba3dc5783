"""Black-Scholes prices and greeks for European index options (SPX is European, cash-settled).

Plain ``math`` on floats: models are floats, money in the core is Decimal (convert at the
edge with :func:`condordesk.domain.prices.to_decimal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

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
    right: Right,
    spot: float,
    strike: float,
    years: float,
    vol: float,
    rate: float = 0.0,
    div: float = 0.0,
) -> BSResult:
    """Price and greeks of a European option.

    Args:
        right: put or call.
        spot: underlying value.
        strike: strike.
        years: time to expiry in years (at or below zero: intrinsic value, step delta).
        vol: annualised implied volatility (0.15 = 15%); at or below zero the limit of a
            vanishing vol: the discounted forward payoff, step delta, no gamma or vega.
        rate: continuously compounded risk-free rate.
        div: continuous dividend yield.
    """
    if years <= 0 or vol <= 0:
        return _without_vol(right, spot, strike, max(years, 0.0), rate, div)
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


def _without_vol(
    right: Right, spot: float, strike: float, years: float, rate: float, div: float
) -> BSResult:
    """The zero-vol limit of :func:`black_scholes` (at ``years == 0``: the payoff)."""
    sign = 1.0 if right is Right.CALL else -1.0
    df_q = math.exp(-div * years)
    fwd_spot = spot * df_q
    pv_strike = strike * math.exp(-rate * years)
    value = sign * (fwd_spot - pv_strike)
    if value <= 0:
        return BSResult(0.0, 0.0, 0.0, 0.0, 0.0)
    theta = sign * (div * fwd_spot - rate * pv_strike) / 365.0 if years > 0 else 0.0
    return BSResult(value, sign * df_q, 0.0, theta, 0.0)


def implied_vol(
    right: Right, price: float, spot: float, strike: float, years: float, rate: float = 0.0
) -> float | None:
    """Implied volatility by bisection; None when the price is outside the no-arbitrage band.

    The band is (discounted forward intrinsic value, price at 500% vol].
    """
    if years <= 0:
        return None
    lower_bound = black_scholes(right, spot, strike, years, 0.0, rate).price
    if price <= lower_bound:
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
    """The strike whose |delta| equals ``target_abs_delta`` under a flat ``vol`` (screening).

    Zero rate and dividend, as the screen uses; exact (the Black-Scholes delta inverted in
    closed form), however far from the spot the strike lies.

    Raises:
        ValueError: the target is not in (0, 1), or time or vol is not positive.
    """
    if not 0 < target_abs_delta < 1 or years <= 0 or vol <= 0:
        raise ValueError("target delta must be in (0, 1), time and vol positive")
    # call: delta = N(d1); put: |delta| = N(-d1); d1 = (ln(S/K) + sd^2/2) / sd
    z = NormalDist().inv_cdf(target_abs_delta)
    d1 = z if right is Right.CALL else -z
    sd = vol * math.sqrt(years)
    return spot * math.exp(0.5 * sd * sd - d1 * sd)
