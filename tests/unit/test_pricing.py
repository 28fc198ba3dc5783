"""Black-Scholes prices and greeks, implied vol and delta-targeted strikes."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from condordesk.domain.options import Right
from condordesk.market.pricing import (
    BSResult,
    black_scholes,
    implied_vol,
    norm_cdf,
    norm_pdf,
    strike_for_delta,
)

CALL, PUT = Right.CALL, Right.PUT
ODTE_YEARS = 3.0 / (365 * 24)  # three hours before the close

# (right, spot, strike, years, vol, rate, div): a grid wide enough for the property tests
CASES = [
    (right, spot, strike, years, vol, rate, div)
    for right in (CALL, PUT)
    for spot, strike, years, vol, rate, div in [
        (100.0, 100.0, 1.0, 0.20, 0.05, 0.0),
        (42.0, 40.0, 0.5, 0.20, 0.10, 0.0),
        (930.0, 900.0, 2 / 12, 0.20, 0.08, 0.03),
        (6000.0, 5950.0, ODTE_YEARS, 0.15, 0.0, 0.0),
        (6000.0, 6060.0, ODTE_YEARS, 0.25, 0.04, 0.01),
        (50.0, 100.0, 1.0, 0.30, 0.05, 0.0),  # deep ITM put / deep OTM call
    ]
]


# --- textbook values ------------------------------------------------------------------------


def test_hull_at_the_money_call_and_put() -> None:
    # Hull, Options Futures and Other Derivatives: S=K=100, T=1, r=5%, vol=20%
    call = black_scholes(CALL, 100, 100, 1.0, 0.20, 0.05)
    put = black_scholes(PUT, 100, 100, 1.0, 0.20, 0.05)

    assert call.price == pytest.approx(10.4506, abs=5e-5)
    assert put.price == pytest.approx(5.5735, abs=5e-5)
    assert call.delta == pytest.approx(0.6368, abs=5e-5)
    assert put.delta == pytest.approx(0.6368 - 1, abs=5e-5)
    assert call.gamma == pytest.approx(0.018762, abs=5e-7)
    assert put.gamma == call.gamma
    assert call.vega == pytest.approx(0.37524, abs=5e-6)  # per vol point: 37.524 per 1.00
    assert call.theta == pytest.approx(-6.4140 / 365, abs=1e-5)  # per calendar day
    assert put.theta == pytest.approx(-1.6579 / 365, abs=1e-5)


def test_hull_example_15_6() -> None:
    # S=42, K=40, r=10%, vol=20%, six months: c = 4.76, p = 0.81
    assert black_scholes(CALL, 42, 40, 0.5, 0.20, 0.10).price == pytest.approx(4.7594, abs=1e-4)
    assert black_scholes(PUT, 42, 40, 0.5, 0.20, 0.10).price == pytest.approx(0.8086, abs=1e-4)


def test_hull_greeks_example_20_weeks() -> None:
    # S=49, K=50, r=5%, vol=20%, 20 weeks: price 2.40, delta 0.522, gamma 0.066,
    # theta -4.31 a year (-0.0118 a calendar day), vega 12.1 per 1.00 of vol
    result = black_scholes(CALL, 49, 50, 20 / 52, 0.20, 0.05)

    assert result.price == pytest.approx(2.40, abs=5e-3)
    assert result.delta == pytest.approx(0.522, abs=5e-4)
    assert result.gamma == pytest.approx(0.066, abs=5e-4)
    assert result.theta == pytest.approx(-4.31 / 365, abs=5e-5)
    assert result.vega == pytest.approx(0.121, abs=5e-4)


def test_hull_index_option_with_dividend_yield() -> None:
    # index 930, K=900, r=8%, q=3%, vol=20%, two months: c = 51.83
    result = black_scholes(CALL, 930, 900, 2 / 12, 0.20, 0.08, 0.03)

    assert result.price == pytest.approx(51.83, abs=5e-3)


# --- properties -----------------------------------------------------------------------------


@pytest.mark.parametrize(("spot", "strike", "years", "vol", "rate", "div"), [c[1:] for c in CASES])
def test_put_call_parity(
    spot: float, strike: float, years: float, vol: float, rate: float, div: float
) -> None:
    call = black_scholes(CALL, spot, strike, years, vol, rate, div)
    put = black_scholes(PUT, spot, strike, years, vol, rate, div)

    forward_gap = spot * math.exp(-div * years) - strike * math.exp(-rate * years)
    assert call.price - put.price == pytest.approx(forward_gap, abs=1e-9 * spot)
    assert call.delta - put.delta == pytest.approx(math.exp(-div * years))
    assert call.gamma == pytest.approx(put.gamma)
    assert call.vega == pytest.approx(put.vega)


def _central(f: Callable[[float], float], x: float, h: float) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize(("right", "spot", "strike", "years", "vol", "rate", "div"), CASES)
def test_greeks_match_finite_differences(
    right: Right, spot: float, strike: float, years: float, vol: float, rate: float, div: float
) -> None:
    def price(s: float = spot, t: float = years, v: float = vol) -> float:
        return black_scholes(right, s, strike, t, v, rate, div).price

    def delta(s: float) -> float:
        return black_scholes(right, s, strike, years, vol, rate, div).delta

    result = black_scholes(right, spot, strike, years, vol, rate, div)
    h_s = spot * vol * math.sqrt(years) * 1e-3  # small against one standard deviation
    h_t = years * 1e-3
    h_v = 1e-5

    assert result.delta == pytest.approx(_central(lambda s: price(s=s), spot, h_s), abs=1e-6)
    assert result.gamma == pytest.approx(_central(delta, spot, h_s), rel=1e-4, abs=1e-9)
    vega_per_point = _central(lambda v: price(v=v), vol, h_v) / 100
    assert result.vega == pytest.approx(vega_per_point, rel=1e-5, abs=1e-9)
    theta_per_day = -_central(lambda t: price(t=t), years, h_t) / 365
    assert result.theta == pytest.approx(theta_per_day, rel=1e-4, abs=1e-9)


@pytest.mark.parametrize(("right", "spot", "strike", "years", "vol", "rate", "div"), CASES)
def test_prices_respect_no_arbitrage_bounds(
    right: Right, spot: float, strike: float, years: float, vol: float, rate: float, div: float
) -> None:
    result = black_scholes(right, spot, strike, years, vol, rate, div)
    fwd_spot = spot * math.exp(-div * years)
    pv_strike = strike * math.exp(-rate * years)

    if right is CALL:
        assert max(fwd_spot - pv_strike, 0.0) <= result.price + 1e-12 <= fwd_spot + 1e-12
        assert 0.0 <= result.delta <= 1.0
    else:
        assert max(pv_strike - fwd_spot, 0.0) <= result.price + 1e-12 <= pv_strike + 1e-12
        assert -1.0 <= result.delta <= 0.0
    assert result.gamma >= 0
    assert result.vega >= 0


def test_zero_dte_short_strikes_have_small_deltas_and_positive_decay() -> None:
    put = black_scholes(PUT, 6000, 5960, ODTE_YEARS, 0.15)
    call = black_scholes(CALL, 6000, 6040, ODTE_YEARS, 0.15)

    for result in (put, call):
        assert 0 < abs(result.delta) < 0.2
        assert result.theta < 0  # a long option loses value as the day runs out
        assert all(math.isfinite(v) for v in (result.price, result.gamma, result.vega))


# --- expiry and zero vol --------------------------------------------------------------------


@pytest.mark.parametrize("years", [0.0, -0.01])
@pytest.mark.parametrize(
    ("right", "spot", "strike", "price", "delta"),
    [
        (CALL, 105.0, 100.0, 5.0, 1.0),
        (CALL, 95.0, 100.0, 0.0, 0.0),
        (CALL, 100.0, 100.0, 0.0, 0.0),
        (PUT, 95.0, 100.0, 5.0, -1.0),
        (PUT, 105.0, 100.0, 0.0, 0.0),
        (PUT, 100.0, 100.0, 0.0, 0.0),
    ],
)
def test_at_or_past_expiry_the_option_is_its_payoff(
    years: float, right: Right, spot: float, strike: float, price: float, delta: float
) -> None:
    result = black_scholes(right, spot, strike, years, 0.20, rate=0.05, div=0.02)

    assert result == BSResult(price, delta, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(("right", "spot", "strike", "years", "vol", "rate", "div"), CASES)
def test_zero_vol_is_the_limit_of_a_vanishing_vol(
    right: Right, spot: float, strike: float, years: float, vol: float, rate: float, div: float
) -> None:
    flat = black_scholes(right, spot, strike, years, 0.0, rate, div)
    tiny = black_scholes(right, spot, strike, years, 1e-7, rate, div)

    assert flat.price == pytest.approx(tiny.price, abs=1e-9 * spot)
    assert flat.delta == pytest.approx(tiny.delta, abs=1e-9)
    assert flat.theta == pytest.approx(tiny.theta, abs=1e-9 * spot)
    assert (flat.gamma, flat.vega) == (0.0, 0.0)


def test_zero_vol_call_is_worth_the_discounted_forward_gap() -> None:
    # S=100, K=100, r=5%, one year: S - K e^-rT = 4.877, even though spot == strike
    result = black_scholes(CALL, 100, 100, 1.0, 0.0, 0.05)

    assert result.price == pytest.approx(100 - 100 * math.exp(-0.05))
    assert result.delta == 1.0
    assert black_scholes(PUT, 100, 100, 1.0, 0.0, 0.05).price == 0.0


# --- implied vol ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("right", "spot", "strike", "years", "vol", "rate"),
    [case[:6] for case in CASES if case[6] == 0.0],  # implied_vol takes no dividend yield
)
def test_implied_vol_round_trips(
    right: Right, spot: float, strike: float, years: float, vol: float, rate: float
) -> None:
    price = black_scholes(right, spot, strike, years, vol, rate).price

    iv = implied_vol(right, price, spot, strike, years, rate)

    assert iv is not None
    assert iv == pytest.approx(vol, abs=1e-5)


def test_implied_vol_of_a_deep_in_the_money_european_put_below_intrinsic() -> None:
    # with r > 0 a European put may trade below K - S; it still has an implied vol
    price = black_scholes(PUT, 50, 100, 1.0, 0.30, 0.05).price
    assert price < 100 - 50

    iv = implied_vol(PUT, price, 50, 100, 1.0, 0.05)

    assert iv == pytest.approx(0.30, abs=1e-5)


@pytest.mark.parametrize(
    ("right", "price", "spot", "strike", "years", "rate"),
    [
        (CALL, 4.0, 105, 100, 0.5, 0.0),  # below intrinsic 5
        (PUT, 5.0, 95, 100, 0.5, 0.0),  # exactly intrinsic
        (CALL, 0.0, 100, 110, 0.5, 0.0),  # worthless
        (CALL, 4.0, 100, 100, 1.0, 0.05),  # below S - K e^-rT = 4.877
        (CALL, 100.0, 100, 100, 1.0, 0.0),  # a call is never worth the spot
        (PUT, 99.9, 100, 100, 1.0, 0.0),  # beyond 500% vol
        (CALL, 1.0, 100, 100, 0.0, 0.0),  # expired
        (CALL, 1.0, 100, 100, -1.0, 0.0),
    ],
)
def test_implied_vol_is_none_outside_the_band(
    right: Right, price: float, spot: float, strike: float, years: float, rate: float
) -> None:
    assert implied_vol(right, price, spot, strike, years, rate) is None


# --- strike for delta -----------------------------------------------------------------------


@pytest.mark.parametrize("right", [CALL, PUT])
@pytest.mark.parametrize(
    ("target", "spot", "years", "vol"),
    [
        (0.10, 6000.0, ODTE_YEARS, 0.15),
        (0.05, 6000.0, 1 / 365, 0.20),
        (0.30, 6000.0, ODTE_YEARS, 0.12),
        (0.50, 100.0, 1.0, 0.20),
        (0.90, 100.0, 0.25, 0.30),
        (0.05, 100.0, 1.0, 0.50),  # far out: the strike lies beyond 1.5x spot
        (0.02, 100.0, 2.0, 0.80),
    ],
)
def test_strike_for_delta_recovers_the_delta(
    right: Right, target: float, spot: float, years: float, vol: float
) -> None:
    strike = strike_for_delta(right, target, spot, years, vol)

    assert abs(black_scholes(right, spot, strike, years, vol).delta) == pytest.approx(
        target, abs=1e-9
    )


def test_low_delta_strikes_lie_outside_the_spot_and_move_out_as_delta_falls() -> None:
    spot = 6000.0
    puts = [strike_for_delta(PUT, d, spot, ODTE_YEARS, 0.15) for d in (0.30, 0.20, 0.10, 0.05)]
    calls = [strike_for_delta(CALL, d, spot, ODTE_YEARS, 0.15) for d in (0.30, 0.20, 0.10, 0.05)]

    assert all(k < spot for k in puts)
    assert all(k > spot for k in calls)
    assert puts == sorted(puts, reverse=True)
    assert calls == sorted(calls)


@pytest.mark.parametrize(
    ("target", "years", "vol"),
    [(0.0, 1.0, 0.2), (1.0, 1.0, 0.2), (-0.1, 1.0, 0.2), (0.1, 0.0, 0.2), (0.1, 1.0, 0.0)],
)
def test_strike_for_delta_rejects_bad_inputs(target: float, years: float, vol: float) -> None:
    with pytest.raises(ValueError):
        strike_for_delta(CALL, target, 100.0, years, vol)


# --- the normal distribution ----------------------------------------------------------------


def test_normal_distribution_helpers() -> None:
    assert norm_cdf(0.0) == 0.5
    assert norm_cdf(1.959963985) == pytest.approx(0.975, abs=1e-9)
    assert norm_cdf(-3.0) + norm_cdf(3.0) == pytest.approx(1.0)
    assert norm_pdf(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert norm_pdf(1.3) == pytest.approx(norm_pdf(-1.3))
