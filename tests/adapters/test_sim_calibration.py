"""The calibrated simulator (scenario ``mixed``) against the real S&P 500 / VIX statistics.

The real figures come from the daily S&P 500 and VIX series of the ``arch`` package
(``arch.data.sp500``, ``arch.data.vix``), 2014-01-03 .. 2018-12-31 where both exist (1,257
days), computed once with ``benchmarks/calibration.py``; the data itself is not needed here.
Widths and percentiles must be within 15% of the real figure; kurtosis, clustering and the
IV-RV link must have the right sign and rough size. One fixed seed, five simulated years.
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from condordesk.broker.sim import SimMarket
from condordesk.broker.sim.model import Smile
from condordesk.broker.sim.stats import measures, simulate
from condordesk.broker.sim.vol import fomc_day
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.options import OptionContract, Right
from condordesk.market.clock import ET

REAL_VIX_MEAN = 14.88
"""Mean VIX close, 2014-2018."""

# measure: (real 2014-2018, low, high)
WITHIN_15PCT = {
    "oc_std": 0.00757,  # std of log(close/open)
    "p01": -0.02206,  # 1st percentile of log(close/open)
    "p99": 0.01826,  # 99th percentile
    "range": 0.00925,  # mean (high - low) / open
}
ROUGH = {
    "oc_kurt": (4.15, 2.0, 9.0),  # excess kurtosis of log(close/open)
    "over_2pct": (0.0231, 0.010, 0.045),  # days with |open-to-close| > 2%
    "range_ac1": (0.627, 0.45, 0.80),  # lag-1 autocorrelation of log(high/low)
    "iv_rv_corr": (0.738, 0.55, 0.90),  # corr(previous close's VIX, the day's range)
    "vrp": (1.36, 1.2, 1.6),  # E[implied^2] / E[realised^2], open-to-close
    "vrp_top_fifth": (1.00, 0.7, 1.4),  # ... over the fifth of days with the highest VIX
    "over_2_5_sigma": (0.0080, 0.002, 0.036),  # log range > 2.5 x previous VIX/sqrt(252)
    "touched_10d": (0.160, 0.10, 0.22),  # 10-delta distance from the open touched
    "closed_10d": (0.0908, 0.05, 0.13),  # ... and closed beyond
    # intraday: no intraday data in arch; published figures (first half hour about 3-4x the
    # midday variance; releases cluster at 10:00-10:05)
    "open_over_midday": (3.5, 2.5, 4.5),
    "ten_oclock": (3.0, 2.0, 8.0),
}


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    return measures(simulate(seed=2, days=1260, vix=REAL_VIX_MEAN))


@pytest.mark.parametrize("name", sorted(WITHIN_15PCT))
def test_widths_and_percentiles_are_within_15_percent_of_the_real_market(
    measured: dict[str, float], name: str
) -> None:
    real = WITHIN_15PCT[name]
    assert abs(measured[name] / real - 1.0) <= 0.15, (name, measured[name], real)


@pytest.mark.parametrize("name", sorted(ROUGH))
def test_tails_clustering_and_the_iv_rv_link_have_the_real_sign_and_size(
    measured: dict[str, float], name: str
) -> None:
    _, low, high = ROUGH[name]
    assert low <= measured[name] <= high, (name, measured[name], ROUGH[name])


def test_iv_drops_once_the_fomc_is_out(measured: dict[str, float]) -> None:
    assert measured["fomc_iv_drop"] < 0.85


def test_eight_fomc_days_a_year_all_wednesdays() -> None:
    days = [
        date.fromordinal(n)
        for n in range(date(2026, 1, 1).toordinal(), date(2027, 1, 1).toordinal())
    ]
    fomc = [d for d in days if fomc_day(d)]
    assert len(fomc) == 8
    assert all(d.weekday() == 2 for d in fomc)


def test_the_vix_level_sets_the_0dte_implied_move() -> None:
    """Mean implied open-to-close move = vix / sqrt(252) * sqrt(0.82), within sampling."""
    for vix in (12.0, 24.0):
        implied = simulate(seed=5, days=250, vix=vix).implied
        expected = vix / 100.0 / math.sqrt(252.0) * math.sqrt(0.82)
        assert abs(statistics.fmean(implied) / expected - 1.0) < 0.25, (vix, implied[:3])


def test_vol_is_persistent_day_to_day() -> None:
    """Today's implied move follows yesterday's (independent draws would give about 0; the
    day's scheduled events and noise keep it below VIX's own 0.95)."""
    implied = simulate(seed=3, days=500, vix=15.0).implied
    assert statistics.correlation(implied[:-1], implied[1:]) > 0.6


def test_the_call_wing_smiles_far_out_of_the_money() -> None:
    smile = Smile()
    assert smile.multiplier(1.5) < 1.0  # calls dip below the ATM vol near the money
    assert smile.multiplier(6.0) > smile.multiplier(1.5)  # and rise again far out
    assert smile.multiplier(-1.5) > 1.0  # puts carry skew


def test_a_named_scenario_can_still_be_forced() -> None:
    cfg = SimulatorConfig(seed=2, scenario="whipsaw")
    market = SimMarket(cfg)
    day = date(2026, 3, 2)
    market.build_session(
        day, datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16), ET)
    )
    assert market.scenario(day) == "whipsaw"


@pytest.mark.parametrize("hhmm", [(9, 31), (10, 1), (13, 59), (14, 1), (15, 55)])
def test_the_calibrated_chain_is_on_the_grid_free_of_arbitrage_and_its_greeks_agree(
    hhmm: tuple[int, int],
) -> None:
    """On an FOMC day with a data release (events priced, then out), every quote is on the
    SPXW grid, calls fall and puts rise with the strike (convex mids, within a spread), and
    deltas run from 1 to 0 in order with put delta = call delta - 1."""
    day = date(2026, 3, 18)  # the March FOMC Wednesday
    assert fomc_day(day)
    market = SimMarket(SimulatorConfig(seed=11, scenario="mixed"))
    market.build_session(
        day, datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16), ET)
    )
    ts = datetime.combine(day, time(*hhmm), ET)
    strikes = [k for k in market.strikes(day) if abs(float(k) / market.spot(ts) - 1) < 0.04]
    for right in (Right.CALL, Right.PUT):
        quotes = [market.quote(OptionContract(day, k, right), ts) for k in strikes]
        for q in quotes:
            assert q.bid is not None and q.ask is not None
            tick = Decimal("0.05") if q.ask < 3 else Decimal("0.10")
            assert q.bid % Decimal("0.05") == 0 and q.ask % tick == 0 and q.ask > q.bid >= 0
        mids = [(q.bid + q.ask) / 2 for q in quotes]
        slack = max(q.ask - q.bid for q in quotes)
        ordered = mids if right is Right.PUT else mids[::-1]
        assert all(b >= a for a, b in itertools.pairwise(ordered))
        assert all(
            a + c - 2 * b >= -slack for a, b, c in zip(mids, mids[1:], mids[2:], strict=False)
        )
        deltas = [q.greeks.delta for q in quotes if q.greeks is not None]
        assert deltas == sorted(deltas, reverse=True)
    for k in strikes:
        call = market.quote(OptionContract(day, k, Right.CALL), ts).greeks
        put = market.quote(OptionContract(day, k, Right.PUT), ts).greeks
        assert call is not None and put is not None
        assert abs(put.delta - (call.delta - 1.0)) < 0.05  # the smile's call/put vols differ
