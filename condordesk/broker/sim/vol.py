"""The simulated market's daily volatility process (the ``mixed`` scenario).

The level is named as a trader names it: ``vix``, the long-run annual implied vol in the
usual trading-day convention. The 0DTE implied open-to-close move at the open follows from
it: ``vix/100 / sqrt(252) * sqrt(OC_SHARE)`` (the open-to-close part of a day's variance is
about 82% of close-to-close, the rest happens overnight).

Each day carries a persistent log-vol state ``h`` (an AR(1): today's level depends on
yesterday's). The day's realised open-to-close std is ``s0 * exp(h - H_SD**2) *
exp(e - E_SD**2)``, where ``e`` is a surprise the options market cannot see: implied vol
follows ``h`` (so it anticipates rough days on average) and carries the variance risk premium
``VRP`` (``E[IV^2] / E[RV^2]``) on every day, calm or rough. The mixture of vol levels gives
the fat tails. Scheduled events add jumps at known times: 10:00 ET data releases on about a
fifth of days and eight FOMC days a year at 14:00 ET; implied vol prices them in and drops
once they are out.

Constants were fitted once to the S&P 500 and VIX daily series of 2014-2018 (the data of the
``arch`` package; ``benchmarks/calibration.py`` prints the comparison).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

OC_SHARE = 0.82
"""Open-to-close share of a day's variance (S&P 500 2014-2018: 0.757% / 0.835% std)."""
VRP = 1.36
"""Variance risk premium E[IV^2] / E[RV^2] (VIX vs S&P 500 close-to-close, 2014-2018)."""
PHI = 0.95
"""Day-to-day persistence of the log-vol state (lag-1 autocorrelation of log VIX: 0.948)."""
H_SD = 0.26
"""Stationary std of the log-vol state, as implied vol shows it (std of log VIX: 0.255)."""
RV_BETA = 1.85
"""Elasticity of realised vol to the state: realised vol swings more than implied (std of
the log high-low range: 0.61; its correlation with the previous close's log VIX: 0.73)."""
E_SD = 0.15
"""Std of the day's log-vol surprise (not seen by implied vol)."""
IV_NOISE_SD = 0.06
"""Std of the implied vol's own log noise around what the state says."""
DATA_PROB = 0.20
"""Share of days with a 10:00 ET data release."""
DATA_JUMP = 0.35
"""Std of a 10:00 data jump, in units of the day's diffusive std."""
FOMC_JUMP = 0.70
"""Std of the 14:00 FOMC jump, in units of the day's diffusive std."""
DAY_SECONDS = 23_400.0
"""A regular session (09:30-16:00 ET)."""
_FOMC_FROM: tuple[tuple[int, int], ...] = (
    (1, 26),
    (3, 15),
    (5, 1),
    (6, 12),
    (7, 26),
    (9, 17),
    (11, 1),
    (12, 10),
)


def fomc_day(day: date) -> bool:
    """True on the simulated FOMC days: the first Wednesday on or after each of eight dates."""
    for month, dom in _FOMC_FROM:
        start = date(day.year, month, dom)
        wednesday = start + timedelta(days=(2 - start.weekday()) % 7)
        if day == wednesday:
            return True
    return False


@dataclass(frozen=True, slots=True)
class VolDay:
    """One day of the vol process.

    Attributes:
        state: the log-vol state ``h`` (0 is the long-run level).
        implied_move: the 0DTE implied open-to-close move at the open (a fraction of spot),
            for a regular-length session.
        diffusive: the day's realised diffusive open-to-close std (fraction of spot).
        data_jump: the 10:00 data jump (log move), or None on a day without data.
        fomc_jump: the 14:00 FOMC jump (log move), or None on a day without FOMC.
        data_share: the share of the implied variance at the open that the data release
            carries (0 without one).
        fomc_share: the same for the FOMC announcement.
    """

    state: float
    implied_move: float
    diffusive: float
    data_jump: float | None = None
    fomc_jump: float | None = None
    data_share: float = 0.0
    fomc_share: float = 0.0


def base_scale(vix: float) -> float:
    """The long-run diffusive open-to-close std ``s0`` for a vix level."""
    implied = vix / 100.0 / math.sqrt(252.0) * math.sqrt(OC_SHARE)
    return implied / math.sqrt(VRP) / math.exp(-0.5 * H_SD * H_SD)


def draw_day(rng: random.Random, day: date, vix: float, prev_state: float | None) -> VolDay:
    """The vol draw of ``day`` given yesterday's state (None: the first day, at the mean)."""
    if prev_state is None:
        state = 0.0
    else:
        state = PHI * prev_state + math.sqrt(1.0 - PHI * PHI) * H_SD * rng.gauss(0.0, 1.0)
    s0 = base_scale(vix)
    expected = s0 * math.exp(RV_BETA * (state - RV_BETA * H_SD * H_SD))
    anticipated = s0 * math.exp(state - H_SD * H_SD)
    surprise = math.exp(E_SD * rng.gauss(0.0, 1.0) - E_SD * E_SD)
    data = rng.random() < DATA_PROB
    fomc = fomc_day(day)
    events = (DATA_JUMP**2 if data else 0.0) + (FOMC_JUMP**2 if fomc else 0.0)
    noise = math.exp(IV_NOISE_SD * rng.gauss(0.0, 1.0) - 0.5 * IV_NOISE_SD**2)
    implied = math.sqrt(VRP * (1.0 + events)) * anticipated * noise
    diffusive = expected * surprise
    return VolDay(
        state=state,
        implied_move=implied,
        diffusive=diffusive,
        data_jump=DATA_JUMP * diffusive * rng.gauss(0.0, 1.0) if data else None,
        fomc_jump=FOMC_JUMP * diffusive * rng.gauss(0.0, 1.0) if fomc else None,
        data_share=DATA_JUMP**2 / (1.0 + events) if data else 0.0,
        fomc_share=FOMC_JUMP**2 / (1.0 + events) if fomc else 0.0,
    )
