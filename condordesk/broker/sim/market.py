"""SimMarket: a seeded simulated SPX and its SPXW option chain, one session at a time.

The broker tells the market when sessions open and close (:meth:`SimMarket.build_session`);
each session's path is computed once (see :mod:`condordesk.broker.sim.paths`) and chained to
the previous session's close by an overnight gap, the first one starting at the configured
``spot``. Options are priced on demand from that path (see :mod:`condordesk.broker.sim.model`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from condordesk.broker.sim.model import Smile, leg_points, point_quote
from condordesk.broker.sim.paths import DayPath, TickSeries, generate_day
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.options import Greeks, OptionContract, OptionQuote, Right
from condordesk.domain.prices import to_decimal
from condordesk.market.clock import ET
from condordesk.market.pricing import SECONDS_PER_YEAR

STRIKE_STEP = 5
STRIKE_RANGE = 0.10
"""Strikes are listed every 5 points within 10% of the session's opening level."""
_DEFAULT_EXPIRY_TIME = time(16, 0)
_PRICES: dict[int, Decimal] = {}


def _price(cents: int) -> Decimal:
    """``cents`` as a two-place Decimal (interned: quotes repeat the same few prices)."""
    price = _PRICES.get(cents)
    if price is None:
        price = _PRICES[cents] = Decimal(cents).scaleb(-2)
    return price


class _QuoteSlot:
    """The latest computed quote of one contract and the tick it belongs to."""

    __slots__ = (
        "ask",
        "bid",
        "contract",
        "expiry",
        "greeks",
        "idx",
        "is_call",
        "path",
        "strike",
        "version",
    )

    def __init__(self, contract: OptionContract) -> None:
        self.contract = contract
        self.expiry = contract.expiry
        self.strike = float(contract.strike)
        self.is_call = contract.right is Right.CALL
        self.path: DayPath | None = None
        self.version = -1
        self.idx = -1
        self.bid = self.ask = Decimal(0)
        self.greeks = Greeks(0.0, 0.0, 0.0, 0.0, 0.0)


class LegSeries(TickSeries):
    """Bid/ask (integer cents) of one option along the current session, computed lazily.

    The matching engine asks for ranges of ticks; values stay cached until the session or
    its version (a :meth:`SimMarket.gap`) changes.
    """

    __slots__ = ("_market", "contract")

    def __init__(self, market: SimMarket, contract: OptionContract) -> None:
        super().__init__()
        self._market = market
        self.contract = contract

    def compute(self, path: DayPath, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """The option's quotes (cents) at ticks ``[lo, hi)``."""
        return self._market.cents(self.contract, path, lo, hi)


KEEP_DAYS = 5
"""Sessions whose tick arrays stay in memory."""


class SimMarket:
    """The simulated SPX index and SPXW options.

    Args:
        config: the profile's ``[simulator]`` section (seed, scenario, spot, atm_vol,
            tick_seconds are used here; the broker reads the greeks knobs).
        smile: the implied-vol smile shape.
    """

    def __init__(self, config: SimulatorConfig, *, smile: Smile | None = None) -> None:
        self.config = config
        self.smile = smile or Smile()
        self._paths: dict[date, DayPath] = {}
        self._settled: dict[date, float] = {}  # settlement levels of retired days
        self._days: list[date] = []  # sorted
        self._opens: list[datetime] = []  # parallel to _days
        self._leg_series: dict[OptionContract, LegSeries] = {}
        self._series_day: date | None = None
        self._quotes: dict[OptionContract, _QuoteSlot] = {}
        self._quotes_day: date | None = None
        # the last session path_at() found for its own New York date: (from, to) in UTC
        self._at: tuple[datetime, datetime, DayPath] | None = None
        self._ranges: dict[date, tuple[DayPath, int, tuple[int, int]]] = {}  # built days'

    # -- sessions ---------------------------------------------------------------------------

    @property
    def last_day(self) -> date | None:
        """The latest session built so far."""
        return self._days[-1] if self._days else None

    def path(self, day: date) -> DayPath | None:
        """The session ``day`` if it has been built (and not retired)."""
        return self._paths.get(day)

    def known(self, day: date) -> bool:
        """True once ``day`` has been built (even if its tick arrays were retired since)."""
        return day in self._paths or day in self._settled

    def build_session(self, day: date, open_: datetime, close: datetime) -> DayPath:
        """Build (once) the session ``day``; it opens where the latest earlier session closed."""
        existing = self._paths.get(day)
        if existing is not None:
            return existing
        pos = bisect_right(self._days, day)
        prev = self._paths[self._days[pos - 1]] if pos else None
        cfg = self.config
        path = generate_day(
            seed=cfg.seed,
            day=day,
            open_=open_,
            close=close,
            tick_seconds=cfg.tick_seconds,
            start_level=prev.spots[-1] if prev else cfg.spot,
            chained=prev is not None,
            atm_vol=cfg.atm_vol,
            scenario=cfg.scenario,
            vix=cfg.vix,
            prev_state=prev.vol_state if prev else None,
        )
        self._paths[day] = path
        self._days.insert(pos, day)
        self._opens.insert(pos, path.open)
        self._retire_old_days()
        self._at = None
        return path

    def _retire_old_days(self) -> None:
        """Keep the tick arrays of the latest :data:`KEEP_DAYS` sessions only (a simulated year
        would otherwise hold hundreds of them); older days keep their settlement level."""
        while len(self._days) > KEEP_DAYS:
            day = self._days.pop(0)
            self._opens.pop(0)
            self._settled[day] = self._paths.pop(day).spots[-1]
            self._ranges.pop(day, None)

    def path_at(self, ts: datetime) -> DayPath | None:
        """The session in force at ``ts``: that day's, else the latest earlier (else the first)."""
        at = self._at
        if at is not None and at[0] <= ts < at[1]:
            return at[2]
        if not self._days:
            return None
        day = ts.astimezone(ET).date()
        today = self._paths.get(day)
        if today is not None:
            start = datetime.combine(day, time(0), ET).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(0), ET).astimezone(UTC)
            self._at = (start, end, today)
            return today
        pos = bisect_right(self._opens, ts)
        return self._paths[self._days[max(pos - 1, 0)]]

    def scenario(self, day: date) -> str:
        """The preset the built session ``day`` was drawn from."""
        return self._require(day).regime.scenario

    def _require(self, day: date) -> DayPath:
        path = self._paths.get(day)
        if path is None:
            raise KeyError(f"session {day} has not been built")
        return path

    # -- the index ----------------------------------------------------------------------------

    def spot(self, ts: datetime) -> float:
        """SPX at ``ts``: the open level before the open, the settlement level after the close."""
        path = self.path_at(ts)
        return self.config.spot if path is None else path.spots[path.index(ts)]

    def settlement_price(self, day: date) -> Decimal:
        """The PM-settlement value of ``day``'s expiring SPXW: the path's close, to 0.01."""
        if day in self._settled:
            return to_decimal(self._settled[day])
        return to_decimal(self._require(day).spots[-1])

    def atm_iv(self, ts: datetime) -> float:
        """The at-the-money implied vol at ``ts``."""
        path = self.path_at(ts)
        return self.config.atm_vol if path is None else path.base_iv[path.index(ts)]

    def expected_move(self, ts: datetime) -> float:
        """One standard deviation of the move left to the close: spot * atm iv * sqrt(T)."""
        path = self.path_at(ts)
        if path is None:
            return 0.0
        i = path.index(ts)
        return path.spots[i] * path.base_iv[i] * path.sqrt_t[i]

    def implied_vol(self, strike: float, ts: datetime) -> float:
        """Implied vol of a same-day option at ``strike`` (the smile)."""
        path = self.path_at(ts)
        if path is None:
            return self.config.atm_vol
        return point_quote(path, path.index(ts), strike, False, self.smile)[2][4]

    def gap(self, points: float, ts: datetime) -> None:
        """Shift the session in force at ``ts`` by ``points`` from ``ts`` to its close."""
        path = self.path_at(ts)
        if path is None or ts >= path.close:
            raise ValueError(f"no session is open at {ts} to gap")
        path.shift(path.index(ts), points)

    # -- options ------------------------------------------------------------------------------

    def strike_range(self, day: date, around: float | None = None) -> tuple[int, int]:
        """Lowest and highest listed strike for ``day`` (see :meth:`strikes`)."""
        path = self._paths.get(day)
        if path is not None:
            kept = self._ranges.get(day)
            if kept is not None and kept[0] is path and kept[1] == path.version:
                return kept[2]
        center = path.spots[0] if path is not None else (around or self.config.spot)
        lo = math.ceil(center * (1 - STRIKE_RANGE) / STRIKE_STEP) * STRIKE_STEP
        hi = math.floor(center * (1 + STRIKE_RANGE) / STRIKE_STEP) * STRIKE_STEP
        if path is not None:
            self._ranges[day] = (path, path.version, (lo, hi))
        return lo, hi

    def strikes(self, day: date, around: float | None = None) -> list[Decimal]:
        """Listed SPXW strikes for ``day``: every 5 points within 10% of its opening level.

        For a session not built yet, strikes are listed around ``around`` (default: ``spot``).
        """
        lo, hi = self.strike_range(day, around)
        return [Decimal(k) for k in range(lo, hi + 1, STRIKE_STEP)]

    def quote(self, contract: OptionContract, ts: datetime) -> OptionQuote:
        """Model quote with greeks for ``contract`` at ``ts`` (``ts`` and ``greeks_ts``: ``ts``)."""
        path = self.path_at(ts)
        if path is None:
            raise KeyError("no session has been built yet")
        return self.quote_at(contract, path, path.index(ts), ts)

    def quote_at(
        self, contract: OptionContract, path: DayPath, i: int, ts: datetime
    ) -> OptionQuote:
        """:meth:`quote` at tick ``i`` of ``path`` (prices and greeks cached per tick)."""
        slot = self._quotes.get(contract)
        if slot is None:
            if self._quotes_day != path.day:
                self._quotes.clear()
                self._quotes_day = path.day
            slot = self._quotes[contract] = _QuoteSlot(contract)
        if slot.idx != i or slot.path is not path or slot.version != path.version:
            st = None if slot.expiry == path.day else self._other_sqrt_t(contract, path, i)
            bid, ask, g = point_quote(path, i, slot.strike, slot.is_call, self.smile, st)
            slot.path, slot.version, slot.idx = path, path.version, i
            slot.bid = _PRICES.get(bid) or _price(bid)
            slot.ask = _PRICES.get(ask) or _price(ask)
            slot.greeks = Greeks(*g)
        return OptionQuote(contract, slot.bid, slot.ask, slot.greeks, ts, ts)

    def leg_series(self, contract: OptionContract, path: DayPath) -> LegSeries:
        """The shared lazily computed bid/ask series of ``contract`` along ``path``."""
        if self._series_day != path.day:
            self._leg_series.clear()
            self._series_day = path.day
        series = self._leg_series.get(contract)
        if series is None:
            series = self._leg_series[contract] = LegSeries(self, contract)
        return series

    def cents(
        self, contract: OptionContract, path: DayPath, lo: int, hi: int
    ) -> tuple[list[int], list[int]]:
        """Bid and ask in cents of ``contract`` for ticks ``[lo, hi)`` of ``path``."""
        sqrt_t = self._sqrt_t_series(contract, path)
        is_call = contract.right is Right.CALL
        return leg_points(path, float(contract.strike), is_call, self.smile, lo, hi, sqrt_t)

    def _other_sqrt_t(self, contract: OptionContract, path: DayPath, i: int) -> float | None:
        """sqrt(years) at tick ``i`` for an option not expiring at ``path``'s close, else None."""
        if contract.expiry == path.day:
            return None
        return math.sqrt(path.sqrt_t[i] ** 2 + self._extra_years(contract, path))

    def _sqrt_t_series(self, contract: OptionContract, path: DayPath) -> list[float] | None:
        """sqrt(years) per tick for an option not expiring at ``path``'s close, else None."""
        if contract.expiry == path.day:
            return None
        extra = self._extra_years(contract, path)
        return [math.sqrt(st**2 + extra) for st in path.sqrt_t]

    def _extra_years(self, contract: OptionContract, path: DayPath) -> float:
        other = self._paths.get(contract.expiry)
        expires = (
            other.close
            if other is not None
            else datetime.combine(contract.expiry, _DEFAULT_EXPIRY_TIME, ET)
        )
        return (expires - path.close).total_seconds() / SECONDS_PER_YEAR
