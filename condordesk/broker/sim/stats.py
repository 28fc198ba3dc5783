"""Daily and intraday statistics of the simulated SPX, for its calibration against real data.

Used by ``benchmarks/calibration.py`` (simulator next to the S&P 500 and VIX) and by the
calibration test (the simulator alone, on a fixed seed, against tolerances). Pure Python: no
runtime dependency is added for it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from condordesk.broker.sim.market import SimMarket
from condordesk.broker.sim.paths import DayPath
from condordesk.broker.sim.vol import OC_SHARE, fomc_day
from condordesk.config.profile import SimulatorConfig
from condordesk.market.clock import ET

TEN_DELTA_Z = 1.2816
"""Standard normal quantile of 0.90: a 10-delta strike sits this many implied moves away."""


@dataclass(slots=True)
class Daily:
    """Per-day series of one simulated run."""

    oc: list[float] = field(default_factory=list)  # log(close / open)
    hl: list[float] = field(default_factory=list)  # (high - low) / open
    up: list[float] = field(default_factory=list)  # log(high / open)
    down: list[float] = field(default_factory=list)  # log(open / low)
    implied: list[float] = field(default_factory=list)  # 0DTE implied o-c move at the open
    first30: list[float] = field(default_factory=list)  # variance 09:30-10:00
    midday: list[float] = field(default_factory=list)  # variance 12:00-12:30
    at_ten: list[float] = field(default_factory=list)  # variance 10:00-10:05 (all days)
    five_min: list[float] = field(default_factory=list)  # mean 5-minute variance, 10:30-15:30
    fomc_drop: list[float] = field(default_factory=list)  # ATM iv after / before 14:00 (FOMC)


def weekdays(first: date, count: int) -> list[date]:
    """``count`` weekdays from ``first`` (the simulator's stats need no holiday calendar)."""
    out: list[date] = []
    day = first
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _var(ln: list[float], lo: int, hi: int) -> float:
    return sum((ln[i + 1] - ln[i]) ** 2 for i in range(lo, hi))


def simulate(seed: int, days: int, vix: float, first: date = date(2014, 1, 2)) -> Daily:
    """Build ``days`` sessions of the calibrated market and collect their series."""
    cfg = SimulatorConfig(seed=seed, scenario="mixed", vix=vix, tick_seconds=10.0)
    market = SimMarket(cfg)
    out = Daily()
    for day in weekdays(first, days):
        path = market.build_session(
            day, datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16), ET)
        )
        _collect(out, path, day)
    return out


def _collect(out: Daily, path: DayPath, day: date) -> None:
    ln = path.ln_spots
    o = path.spots[0]
    out.oc.append(ln[-1] - ln[0])
    out.hl.append((max(path.spots) - min(path.spots)) / o)
    out.up.append(max(ln) - ln[0])
    out.down.append(ln[0] - min(ln))
    out.implied.append(path.em)
    per_min = 60.0 / path.tick_seconds
    k = round(per_min)
    out.first30.append(_var(ln, 0, 30 * k))
    out.midday.append(_var(ln, 150 * k, 180 * k))
    out.at_ten.append(_var(ln, 30 * k - 1, 35 * k - 1))
    out.five_min.append(_var(ln, 60 * k, 360 * k) / 60.0)
    if fomc_day(day):
        out.fomc_drop.append(path.base_iv[270 * k + 2] / path.base_iv[270 * k - 2])


def kurtosis(xs: list[float]) -> float:
    """Excess kurtosis (population moments)."""
    mean = statistics.fmean(xs)
    m2 = statistics.fmean([(x - mean) ** 2 for x in xs])
    m4 = statistics.fmean([(x - mean) ** 4 for x in xs])
    return m4 / (m2 * m2) - 3.0


def quantile(xs: list[float], q: float) -> float:
    """The ``q`` quantile (linear interpolation)."""
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def measures(d: Daily) -> dict[str, float]:
    """The calibration measures of a run (names as in ``benchmarks/calibration.py``)."""
    log_range = [math.log(u + v) for u, v in zip(d.up, d.down, strict=True)]
    daily_implied = [m / math.sqrt(OC_SHARE) for m in d.implied]
    total_range = [u + v for u, v in zip(d.up, d.down, strict=True)]
    n = len(d.oc)
    return {
        "oc_std": statistics.pstdev(d.oc),
        "oc_kurt": kurtosis(d.oc),
        "p01": quantile(d.oc, 0.01),
        "p99": quantile(d.oc, 0.99),
        "over_2pct": sum(abs(x) > 0.02 for x in d.oc) / n,
        "range": statistics.fmean(d.hl),
        "range_ac1": statistics.correlation(log_range[:-1], log_range[1:]),
        "iv_rv_corr": statistics.correlation(d.implied, d.hl),
        "over_2_5_sigma": sum(r > 2.5 * m for r, m in zip(total_range, daily_implied, strict=True))
        / n,
        "touched_10d": sum(
            max(u, v) > TEN_DELTA_Z * m for u, v, m in zip(d.up, d.down, d.implied, strict=True)
        )
        / n,
        "closed_10d": sum(abs(x) > TEN_DELTA_Z * m for x, m in zip(d.oc, d.implied, strict=True))
        / n,
        "vrp": statistics.fmean([m * m for m in d.implied])
        / statistics.fmean([x * x for x in d.oc]),
        "vrp_top_fifth": _top_fifth_vrp(d.implied, d.oc),
        "open_over_midday": statistics.fmean(d.first30) / statistics.fmean(d.midday),
        "ten_oclock": statistics.fmean(d.at_ten) / statistics.fmean(d.five_min),
        "fomc_iv_drop": statistics.fmean(d.fomc_drop) if d.fomc_drop else 1.0,
    }


def _top_fifth_vrp(implied: list[float], oc: list[float]) -> float:
    """E[IV^2] / E[RV^2] over the fifth of days with the highest implied move."""
    cut = quantile(implied, 0.8)
    top = [(m, x) for m, x in zip(implied, oc, strict=True) if m >= cut]
    return statistics.fmean([m * m for m, _ in top]) / statistics.fmean([x * x for _, x in top])
