"""Option contracts, greeks and quotes."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Right(StrEnum):
    """Put or call."""

    PUT = "P"
    CALL = "C"


@dataclass(frozen=True, order=True)
class OptionContract:
    """One SPXW option: the only option the engine trades.

    Contracts key the simulator's, the desk's and the reconciliation's dicts, so the hash
    is worked out once (the value the dataclass's own hash gives) and kept in a slot that is
    not a field: equality, order, ``dataclasses.fields``/``replace`` and the wire form see
    the three fields only, and a pickle or copy carries them alone (the hash of a string is
    not the same in another process).

    Attributes:
        expiry: the expiry date (a 0DTE condor expires the day it is opened).
        strike: the strike in index points.
        right: put or call.
    """

    __slots__ = ("_hash", "expiry", "right", "strike")

    expiry: date
    strike: Decimal
    right: Right

    def __hash__(self) -> int:
        try:
            return self._hash  # type: ignore[attr-defined,no-any-return]
        except AttributeError:
            value = hash((self.expiry, self.strike, self.right))
            object.__setattr__(self, "_hash", value)
            return value

    def __eq__(self, other: object) -> bool:
        # the dataclass's tuple comparison, field by field without building the tuples
        if other.__class__ is not self.__class__:
            return NotImplemented
        o: OptionContract = other
        return (
            (self.expiry is o.expiry or self.expiry == o.expiry)
            and (self.strike is o.strike or self.strike == o.strike)
            and (self.right is o.right or self.right == o.right)
        )

    def __reduce__(self) -> tuple[type[OptionContract], tuple[date, Decimal, Right]]:
        return (self.__class__, (self.expiry, self.strike, self.right))

    @property
    def symbol(self) -> str:
        """A short human label, e.g. ``SPXW 20261127 6000P``."""
        return f"SPXW {self.expiry:%Y%m%d} {self.strike:f}{self.right.value}"

    def to_json(self) -> dict[str, str]:
        """Plain-data form for journals and sockets."""
        return {
            "expiry": self.expiry.isoformat(),
            "strike": str(self.strike),
            "right": self.right.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> OptionContract:
        """Inverse of :meth:`to_json`."""
        return cls(
            date.fromisoformat(data["expiry"]), Decimal(data["strike"]), Right(data["right"])
        )


@dataclass(frozen=True, slots=True, init=False)
class Greeks:
    """Option greeks as reported by the broker (per contract, per 1.00 of the underlying).

    The simulator makes one per option per tick it is asked about, so ``__init__`` fills the
    slots directly (a frozen dataclass's own goes through ``object.__setattr__`` per field);
    everything else (fields, equality, hash, repr, ``replace``, pickle) is the dataclass's.
    """

    delta: float
    gamma: float
    theta: float
    vega: float
    iv: float

    def __init__(self, delta: float, gamma: float, theta: float, vega: float, iv: float) -> None:
        _set_delta(self, delta)
        _set_gamma(self, gamma)
        _set_theta(self, theta)
        _set_vega(self, vega)
        _set_iv(self, iv)

    def is_finite(self) -> bool:
        """True when every greek is a finite number (no NaN, no infinity)."""
        return all(
            math.isfinite(v) for v in (self.delta, self.gamma, self.theta, self.vega, self.iv)
        )


@dataclass(frozen=True, slots=True, init=False)
class OptionQuote:
    """A quote for one option: bid/ask and the greeks with the time they were computed.

    ``greeks`` is None when the broker has not (yet) sent them; ``greeks_ts`` says how fresh
    they are. Bid and ask are None when the side is empty. ``__init__`` fills the slots
    directly, as :class:`Greeks` does (one quote per leg per monitoring cycle).
    """

    contract: OptionContract
    bid: Decimal | None
    ask: Decimal | None
    greeks: Greeks | None
    ts: datetime
    greeks_ts: datetime | None = None

    def __init__(
        self,
        contract: OptionContract,
        bid: Decimal | None,
        ask: Decimal | None,
        greeks: Greeks | None,
        ts: datetime,
        greeks_ts: datetime | None = None,
    ) -> None:
        _set_contract(self, contract)
        _set_bid(self, bid)
        _set_ask(self, ask)
        _set_greeks(self, greeks)
        _set_ts(self, ts)
        _set_greeks_ts(self, greeks_ts)

    @property
    def mid(self) -> Decimal | None:
        """Midpoint of bid and ask, or None when a side is missing."""
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """The raw setter of slot ``name`` of ``cls`` (bypasses the frozen ``__setattr__``)."""
    setter: Callable[[object, object], None] = cls.__dict__[name].__set__
    return setter


_set_delta, _set_gamma, _set_theta, _set_vega, _set_iv = (
    _slot_setter(Greeks, name) for name in ("delta", "gamma", "theta", "vega", "iv")
)
_set_contract, _set_bid, _set_ask, _set_greeks, _set_ts, _set_greeks_ts = (
    _slot_setter(OptionQuote, name)
    for name in ("contract", "bid", "ask", "greeks", "ts", "greeks_ts")
)
