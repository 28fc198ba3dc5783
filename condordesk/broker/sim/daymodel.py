"""One session of the calibrated market (the ``mixed`` scenario), built from a :class:`VolDay`.

The index diffuses with the day's realised std spread over the session by an intraday
U-shape (the first half hour carries about three times the variance of a midday half hour),
plus the day's scheduled jumps: a data release at 10:00 ET, the FOMC at 14:00 ET. Implied
vol at each tick prices the variance still to come (the U-shape and the events not out yet),
so it falls after the open and drops once an event is out.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

from condordesk.broker.sim.vol import VolDay

U_OPEN = 4.0
U_OPEN_DECAY = 0.05
U_CLOSE = 0.8
U_CLOSE_DECAY = 0.06
DATA_AT = 1_800.0
"""Seconds after the open of the 10:00 ET data release."""
FOMC_AT = 16_200.0
"""Seconds after the open of the 14:00 ET FOMC announcement."""
TREND_SHARE = 0.30
"""Share of the day's diffusive variance that comes as a steady drift over the session (real
days trend: their high-low range is smaller against the open-to-close std than a random
walk's)."""
GAP_SD = 0.33
"""Overnight gap std, in units of the day's diffusive std (S&P 500 2014-2018: 0.24% / 0.76%)."""


def weight(u: float) -> float:
    """Intraday variance density at session fraction ``u`` (1 at midday)."""
    return (
        1.0 + U_OPEN * math.exp(-u / U_OPEN_DECAY) + U_CLOSE * math.exp(-(1.0 - u) / U_CLOSE_DECAY)
    )


def cumulative(u: float) -> float:
    """The integral of :func:`weight` from 0 to ``u``."""
    return (
        u
        + U_OPEN * U_OPEN_DECAY * (1.0 - math.exp(-u / U_OPEN_DECAY))
        + U_CLOSE
        * U_CLOSE_DECAY
        * (math.exp(-(1.0 - u) / U_CLOSE_DECAY) - math.exp(-1.0 / U_CLOSE_DECAY))
    )


_TOTAL = cumulative(1.0)


@lru_cache(maxsize=8)
def _grid(steps: int, tick: float, length: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per tick: the share of the day's diffusive variance left, and the sqrt of the share
    each step carries (cached: sessions repeat the same few lengths)."""
    left: list[float] = []
    step_sd: list[float] = [0.0]
    prev = 0.0
    for i in range(steps + 1):
        cum = cumulative(min(i * tick / length, 1.0))
        left.append((_TOTAL - cum) / _TOTAL)
        if i:
            step_sd.append(math.sqrt(max(cum - prev, 0.0) / _TOTAL))
        prev = cum
    return tuple(left), tuple(step_sd)


@dataclass(frozen=True, slots=True)
class ModelDay:
    """A built session of the calibrated market.

    Attributes:
        moves: cumulative log moves from the open, one per tick (0 at the open).
        shape: per tick, the factor on the day's implied vol that prices the variance left
            (the U-shape and the events still to come) over the time left.
        gap: the overnight gap (log) into this session's open.
        label: the preset the day resembles, by what it did (for reports).
    """

    moves: list[float]
    shape: list[float]
    gap: float
    label: str


def _event_index(at: float, tick: float, steps: int) -> int | None:
    idx = math.ceil(at / tick - 1e-9)
    return idx if 0 < idx < steps else None


def build_moves(rng: random.Random, vd: VolDay, steps: int, tick: float, length: float) -> ModelDay:
    """The session's log moves, IV shape and label (``length`` in seconds, ``steps`` ticks)."""
    gap = GAP_SD * vd.diffusive * rng.gauss(0.0, 1.0)
    sigma = vd.diffusive * math.sqrt(length / 23_400.0)
    gauss = rng.gauss
    data_i = _event_index(DATA_AT, tick, steps) if vd.data_jump is not None else None
    fomc_i = _event_index(FOMC_AT, tick, steps) if vd.fomc_jump is not None else None
    step_sd = _grid(steps, tick, length)[1]
    drift = sigma * math.sqrt(TREND_SHARE) * gauss(0.0, 1.0) / steps
    noise = sigma * math.sqrt(1.0 - TREND_SHARE)
    x = 0.0
    moves = [0.0]
    for i in range(1, steps + 1):
        x += drift + noise * step_sd[i] * gauss(0.0, 1.0)
        if i == data_i and vd.data_jump is not None:
            x += vd.data_jump
        if i == fomc_i and vd.fomc_jump is not None:
            x += vd.fomc_jump
        moves.append(x)
    shape = _shape(vd, steps, tick, length, data_i, fomc_i)
    return ModelDay(moves=moves, shape=shape, gap=gap, label=_label(moves, vd, tick))


def _shape(
    vd: VolDay, steps: int, tick: float, length: float, data_i: int | None, fomc_i: int | None
) -> list[float]:
    diffusive = 1.0 - vd.data_share - vd.fomc_share
    var_left = _grid(steps, tick, length)[0]
    out: list[float] = []
    for i in range(steps + 1):
        left = 1.0 - min(i * tick / length, 1.0)
        var = diffusive * var_left[i]
        if data_i is not None and i < data_i:
            var += vd.data_share
        if fomc_i is not None and i < fomc_i:
            var += vd.fomc_share
        out.append(math.sqrt(var / left) if left > 1e-9 else out[-1] if out else 1.0)
    return out


def _label(moves: list[float], vd: VolDay, tick: float) -> str:
    """Name the day after the preset it resembles (for reports and the journal)."""
    em = vd.implied_move
    close = moves[-1] / em
    span = (max(moves) - min(moves)) / em
    window = max(1, round(600.0 / tick))
    fast = max(abs(moves[i + window] - moves[i]) for i in range(len(moves) - window)) / em
    if fast > 0.6:
        return "spike"
    if close > 1.0:
        return "trend_up"
    if close < -1.0:
        return "trend_down"
    if span > 1.5 and abs(close) < 0.5:
        return "whipsaw"
    return "calm"
