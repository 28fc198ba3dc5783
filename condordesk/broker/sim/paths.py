"""Seeded intraday SPX paths, one trading session at a time.

A :class:`DayPath` holds the whole session at ``tick_seconds`` resolution, computed once when
the session is first needed: SPX levels, the at-the-money implied vol (which rises when the
index falls: spot-vol correlation), the square root of the time left to the close in years
and a spread-widening factor. Everything is drawn from ``random.Random`` seeded with
``(seed, day)``, so a day's path never depends on what the engine did before.

Moves are expressed in *expected moves*: ``em = iv_day * sqrt(session length in years)`` is
the one-standard-deviation log move from open to close implied by the day's at-the-money
vol (the same calendar-time convention the option model prices with).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from condordesk.broker.sim.daymodel import build_moves
from condordesk.broker.sim.vol import DAY_SECONDS, draw_day
from condordesk.market.pricing import SECONDS_PER_YEAR

Scenario = Literal["calm", "trend_up", "trend_down", "whipsaw", "spike"]
SCENARIOS: tuple[Scenario, ...] = ("calm", "trend_up", "trend_down", "whipsaw", "spike")
_MIXED: tuple[tuple[Scenario, float], ...] = (
    ("calm", 0.60),
    ("trend_up", 0.10),
    ("trend_down", 0.10),
    ("whipsaw", 0.10),
    ("spike", 0.10),
)
MIN_YEARS = 60.0 / SECONDS_PER_YEAR
"""Time to expiry is floored at one minute."""
_MIN_SQRT_T = math.sqrt(MIN_YEARS)
_INDEX_EPS = 1e-6
_GAP_EM = 0.35  # overnight gap stdev, in expected moves of the day
_DOWN_VOL_BETA = 0.30  # base iv gains 30% per expected move the index falls
_UP_VOL_BETA = 0.10
_VOL_RANGE = (0.70, 2.50)


@dataclass(frozen=True, slots=True)
class Regime:
    """How one day moves, in expected moves (em) over the session.

    Attributes:
        scenario: the preset the day was drawn from.
        vol: diffusion, in em per sqrt(session).
        drift: total drift over the session, in em.
        kappa: mean reversion towards the open level, per session (0: none).
        jump: (session fraction, size in em) of a one-tick jump, or None.
        spike: (session fraction, size in em, ticks) of a fast directional move, or None.
    """

    scenario: Scenario
    vol: float
    drift: float = 0.0
    kappa: float = 0.0
    jump: tuple[float, float] | None = None
    spike: tuple[float, float, float] | None = None


@dataclass(slots=True)
class DayPath:
    """One session of the simulated index, at ``tick_seconds`` resolution.

    Index ``i`` covers ``[open + i*tick, open + (i+1)*tick)``; the last index is the close
    itself (its value is the settlement level). Mutable only through :meth:`shift`.
    """

    day: date
    open: datetime
    close: datetime
    tick_seconds: float
    regime: Regime
    iv_day: float
    em: float
    spots: list[float]
    ln_spots: list[float]
    base_iv: list[float]
    sqrt_t: list[float]
    inv_vol_t: list[float]  # 1 / (base_iv * sqrt_t): turns ln(K/S) into a moneyness
    widen: list[float]  # spread multiplier, >= 1, grows with the base iv
    version: int = 0
    gap_starts: list[int] = field(default_factory=list)  # first index of each shift, by version
    shape: list[float] | None = None  # per tick factor on iv_day (calibrated model days only)
    vol_state: float | None = None  # the vol process's state (calibrated model days only)
    length: float = field(init=False)
    last: int = field(init=False)
    """Index of the close (the number of ticks never changes)."""
    open_utc: datetime = field(init=False)
    """:attr:`open` in UTC, the clock's zone: comparing and subtracting times of one zone
    skips the time zone lookups."""
    close_utc: datetime = field(init=False)
    """:attr:`close` in UTC."""
    index_at: tuple[datetime | None, int] = field(init=False, repr=False, compare=False)
    """The last :meth:`index` answer and the time it was for (one time is asked many times)."""

    def __post_init__(self) -> None:
        self.length = (self.close - self.open).total_seconds()
        self.last = len(self.spots) - 1
        self.open_utc = self.open.astimezone(UTC)
        self.close_utc = self.close.astimezone(UTC)
        self.index_at = (None, 0)

    def index(self, ts: datetime) -> int:
        """The tick index in force at ``ts`` (0 before the open, :attr:`last` after the close)."""
        last_ts, idx = self.index_at
        if ts is last_ts:
            return idx
        elapsed = (ts - self.open_utc).total_seconds()
        if elapsed <= 0:
            idx = 0
        elif elapsed >= self.length:
            idx = self.last
        else:
            idx = min(int(elapsed / self.tick_seconds + _INDEX_EPS), self.last)
        self.index_at = (ts, idx)
        return idx

    def trading(self, ts: datetime) -> bool:
        """True while the session is open at ``ts`` (from the open, before the close)."""
        return self.open_utc <= ts < self.close_utc

    def time_of(self, idx: int) -> datetime:
        """When tick ``idx`` starts."""
        return self.open + timedelta(seconds=min(idx * self.tick_seconds, self.length))

    def shift(self, from_idx: int, points: float) -> None:
        """Move the index by ``points`` from ``from_idx`` to the close (a gap)."""
        start = max(0, min(from_idx, self.last))
        for i in range(start, len(self.spots)):
            self.spots[i] = max(self.spots[i] + points, 1.0)
        _fill_vol(self, start)
        self.version += 1
        self.gap_starts.append(start)


def pick_regime(rng: random.Random, scenario: str) -> Regime:
    """Draw the day's regime; ``mixed`` first draws a preset (mostly calm)."""
    if scenario == "mixed":
        names = [name for name, _ in _MIXED]
        weights = [w for _, w in _MIXED]
        scenario = rng.choices(names, weights)[0]
    if scenario == "calm":
        return Regime("calm", vol=rng.uniform(0.45, 0.70), drift=rng.gauss(0.0, 0.2))
    if scenario in ("trend_up", "trend_down"):
        sign = 1.0 if scenario == "trend_up" else -1.0
        return Regime(
            "trend_up" if sign > 0 else "trend_down",
            vol=rng.uniform(0.55, 0.80),
            drift=sign * rng.uniform(1.0, 1.5),
            jump=_maybe_jump(rng, 0.10),
        )
    if scenario == "whipsaw":
        return Regime("whipsaw", vol=rng.uniform(2.0, 2.6), kappa=rng.uniform(4.0, 6.0))
    if scenario == "spike":
        sign = -1.0 if rng.random() < 0.6 else 1.0
        spike = (rng.uniform(0.35, 0.70), sign * rng.uniform(1.5, 2.5), rng.uniform(2.0, 6.0))
        return Regime("spike", vol=rng.uniform(0.50, 0.75), spike=spike)
    raise ValueError(f"unknown scenario {scenario!r}")


def _maybe_jump(rng: random.Random, prob: float) -> tuple[float, float] | None:
    when, size = rng.uniform(0.05, 0.95), rng.gauss(0.0, 0.5)
    return (when, size) if rng.random() < prob else None


def _intraday_weight(u: float) -> float:
    """U-shaped intraday activity: busier after the open and before the close."""
    return 1.0 + 1.2 * math.exp(-u / 0.06) + 0.6 * math.exp(-(1.0 - u) / 0.08)


_WEIGHT_NORM = 1.0 + 1.2 * 0.06 * (1 - math.exp(-1 / 0.06)) + 0.6 * 0.08 * (1 - math.exp(-1 / 0.08))


def generate_day(
    *,
    seed: int,
    day: date,
    open_: datetime,
    close: datetime,
    tick_seconds: float,
    start_level: float,
    chained: bool,
    atm_vol: float,
    scenario: str,
    vix: float = 15.0,
    prev_state: float | None = None,
) -> DayPath:
    """Build the session ``day`` of the simulated SPX.

    Args:
        seed: the simulator seed; with ``day`` it fixes every random draw.
        day: the session date (New York).
        open_: session open, aware.
        close: session close, aware (13:15 ET on an early-close day).
        tick_seconds: path resolution.
        start_level: the previous session's close, or the configured spot for the first day.
        chained: True when ``start_level`` is a previous close (an overnight gap is applied).
        atm_vol: the at-the-money implied vol of a forced preset scenario.
        scenario: a preset name, or ``mixed`` for the calibrated market model.
        vix: the long-run annual vol level of the calibrated model (``mixed``).
        prev_state: the previous session's vol state (``mixed``; None on the first day).
    """
    if not open_ < close:
        raise ValueError(f"session {day}: open {open_} is not before close {close}")
    rng = random.Random(f"condordesk-sim:{seed}:{day.isoformat()}")
    if scenario == "mixed":
        return _model_day(
            rng, day, open_, close, tick_seconds, start_level, chained, vix, prev_state
        )
    regime = pick_regime(rng, scenario)
    iv_day = atm_vol * math.exp(0.15 * rng.gauss(0.0, 1.0) - 0.011)
    length = (close - open_).total_seconds()
    em = iv_day * math.sqrt(length / SECONDS_PER_YEAR)
    gap = rng.gauss(0.0, _GAP_EM) * em
    level0 = start_level * math.exp(gap) if chained else start_level
    steps = max(1, math.ceil(length / tick_seconds - 1e-9))
    moves = [x * em for x in _log_moves(rng, regime, steps, tick_seconds, length)]
    path = _new_path(day, open_, close, tick_seconds, regime, iv_day, em, level0, moves)
    _fill_vol(path, 0, logs_known=True)
    return path


def _new_path(
    day: date,
    open_: datetime,
    close: datetime,
    tick_seconds: float,
    regime: Regime,
    iv_day: float,
    em: float,
    level0: float,
    moves: list[float],
    **model: Any,
) -> DayPath:
    """A day's path from its opening level and its log moves from the open (vols not yet
    filled in); ``model`` carries the calibrated model's own fields."""
    ln0 = math.log(level0)
    ln_spots = [ln0 + x for x in moves]
    spots = [math.exp(v) for v in ln_spots]
    spots[0] = level0
    n = len(spots)
    length = (close - open_).total_seconds()
    steps = max(1, math.ceil(length / tick_seconds - 1e-9))
    return DayPath(
        day=day,
        open=open_,
        close=close,
        tick_seconds=tick_seconds,
        regime=regime,
        iv_day=iv_day,
        em=em,
        spots=spots,
        ln_spots=ln_spots,
        base_iv=[0.0] * n,
        sqrt_t=_sqrt_t(length, tick_seconds, steps, n),
        inv_vol_t=[0.0] * n,
        widen=[1.0] * n,
        **model,
    )


def _model_day(
    rng: random.Random,
    day: date,
    open_: datetime,
    close: datetime,
    tick_seconds: float,
    start_level: float,
    chained: bool,
    vix: float,
    prev_state: float | None,
) -> DayPath:
    """A session of the calibrated market model (see :mod:`condordesk.broker.sim.vol`)."""
    vd = draw_day(rng, day, vix, prev_state)
    length = (close - open_).total_seconds()
    iv_day = vd.implied_move / math.sqrt(DAY_SECONDS / SECONDS_PER_YEAR)
    em = iv_day * math.sqrt(length / SECONDS_PER_YEAR)
    steps = max(1, math.ceil(length / tick_seconds - 1e-9))
    built = build_moves(rng, vd, steps, tick_seconds, length)
    level0 = start_level * math.exp(built.gap) if chained else start_level
    regime = Regime(built.label, vol=vd.diffusive / em)  # type: ignore[arg-type]
    path = _new_path(
        day,
        open_,
        close,
        tick_seconds,
        regime,
        iv_day,
        em,
        level0,
        list(built.moves),
        shape=built.shape,
        vol_state=vd.state,
    )
    _fill_vol(path, 0, logs_known=True)
    return path


def _sqrt_t(length: float, tick: float, steps: int, n: int) -> list[float]:
    """sqrt(years to the close) per tick, floored at one minute."""
    out = [
        math.sqrt((length - i * tick if i < steps else 0.0) / SECONDS_PER_YEAR) for i in range(n)
    ]
    return [st if st > _MIN_SQRT_T else _MIN_SQRT_T for st in out]


def _normals(rng: random.Random, count: int) -> list[float]:
    """``count`` standard normal draws (Box-Muller on ``rng.random``)."""
    rand = rng.random
    sqrt, log, cos, sin = math.sqrt, math.log, math.cos, math.sin
    out: list[float] = []
    for _ in range((count + 1) // 2):
        r = sqrt(-2.0 * log(1.0 - rand()))
        a = math.tau * rand()
        out.append(r * cos(a))
        out.append(r * sin(a))
    return out[:count]


def _log_moves(
    rng: random.Random, regime: Regime, steps: int, tick: float, length: float
) -> list[float]:
    """Cumulative log moves from the open, in expected moves, one per tick (0 at the open)."""
    dus = [tick / length] * steps
    dus[-1] = (length - (steps - 1) * tick) / length
    scales = [
        regime.vol * math.sqrt(_intraday_weight((i + 0.5) / steps) / _WEIGHT_NORM * du)
        for i, du in enumerate(dus)
    ]
    drift, kappa = regime.drift, regime.kappa
    x = 0.0
    out = [0.0]
    for du, scale, z in zip(dus, scales, _normals(rng, steps), strict=True):
        x += (drift - kappa * x) * du + scale * z
        out.append(x)
    if regime.jump is not None:
        jump_at = max(1, int(regime.jump[0] * steps))
        for i in range(jump_at, len(out)):
            out[i] += regime.jump[1]
    _add_spike(out, regime, steps, tick)
    return out


def _add_spike(moves: list[float], regime: Regime, steps: int, tick: float) -> None:
    """Add the day's spike (if any) to the cumulative moves."""
    spike_from, spike_to, spike_step = _spike_window(regime, steps, tick)
    for i in range(spike_from, len(moves) if spike_to > spike_from else 0):
        moves[i] += spike_step * min(i - spike_from + 1, spike_to - spike_from)


def _spike_window(regime: Regime, steps: int, tick: float) -> tuple[int, int, float]:
    """(first tick, end tick, move per tick) of the day's spike; empty without one."""
    if regime.spike is None:
        return (0, 0, 0.0)
    when, size, minutes = regime.spike
    count = max(1, round(minutes * 60.0 / tick))
    start = max(1, int(when * steps))
    return (start, start + count, size / count)


def _fill_vol(path: DayPath, start: int, *, logs_known: bool = False) -> None:
    """Recompute the vol-dependent columns from ``start`` on (after a build or a shift)."""
    lo, hi = _VOL_RANGE
    inv_em = 1.0 / path.em
    iv_day = path.iv_day
    spots, ln_spots, base_iv = path.spots, path.ln_spots, path.base_iv
    sqrt_t, inv_vol_t, widen = path.sqrt_t, path.inv_vol_t, path.widen
    if not logs_known:
        for i in range(start, len(spots)):
            ln_spots[i] = math.log(spots[i])
    ln0 = ln_spots[0]
    shape = path.shape
    for i in range(start, len(spots)):
        r = (ln_spots[i] - ln0) * inv_em
        factor = 1.0 - (_DOWN_VOL_BETA if r < 0 else _UP_VOL_BETA) * r
        factor = lo if factor < lo else hi if factor > hi else factor
        base = iv_day * factor if shape is None else iv_day * factor * shape[i]
        base_iv[i] = base
        inv_vol_t[i] = 1.0 / (base * sqrt_t[i])
        widen[i] = factor if factor > 1.0 else 1.0


class TickSeries:
    """Bid/ask in cents along a session, computed lazily for the ticks asked for and kept
    until the session's path changes (a gap) or a request falls outside the kept window.
    Subclasses say how to compute a stretch of ticks."""

    __slots__ = ("asks", "bids", "path", "start", "version")

    def __init__(self) -> None:
        self.path: DayPath | None = None
        self.version = -1
        self.start = 0
        self.bids: list[int] = []
        self.asks: list[int] = []

    def ensure(self, path: DayPath, lo: int, hi: int) -> None:
        """Make ticks ``[lo, hi)`` available in :attr:`bids`/:attr:`asks` (offset :attr:`start`)."""
        hi = min(hi, path.last + 1)
        end = self.start + len(self.bids)
        fresh = self.path is path and self.version == path.version
        if fresh and self.start <= lo and hi <= end:
            return
        if not fresh or lo < self.start or lo > end:
            self.path, self.version, self.start = path, path.version, lo
            self.bids, self.asks = [], []
            end = lo
        if hi > end:
            bids, asks = self.compute(path, end, hi)
            self.bids.extend(bids)
            self.asks.extend(asks)

    def compute(self, path: DayPath, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """Bids and asks of ticks ``[lo, hi)``."""
        raise NotImplementedError
