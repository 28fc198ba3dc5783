"""The short iron condor and its life cycle.

States and legal transitions::

    working --filled--> open --close sent--> closing --filled--> closed
       |                 |  ^                   |
       |                 |  +---close failed----+
       +--not filled--> cancelled    open --stop filled / settled--> closed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import ComboLeg, OrderAction


class CondorState(StrEnum):
    """Where a condor is in its life."""

    WORKING = "working"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_live(self) -> bool:
        """True while the condor holds (or may hold) positions."""
        return self in (CondorState.WORKING, CondorState.OPEN, CondorState.CLOSING)


class ExitReason(StrEnum):
    """Why a condor closed."""

    PROFIT_TARGET = "profit_target"
    FIRST_TRADE_TARGET = "first_trade_target"
    STOP_LIMIT = "stop_limit"
    STOP_MARKET = "stop_market"
    EXPIRY_SAFETY = "expiry_safety"
    EXPIRED = "expired"
    MANUAL = "manual"
    FLATTEN = "flatten"
    PROTECTION_FAILED = "protection_failed"
    NOT_FILLED = "not_filled"


_LEGAL: dict[CondorState, frozenset[CondorState]] = {
    CondorState.WORKING: frozenset({CondorState.OPEN, CondorState.CANCELLED}),
    CondorState.OPEN: frozenset({CondorState.CLOSING, CondorState.CLOSED}),
    CondorState.CLOSING: frozenset({CondorState.OPEN, CondorState.CLOSED}),
    CondorState.CLOSED: frozenset(),
    CondorState.CANCELLED: frozenset(),
}


class IllegalTransition(ValueError):
    """A condor was asked to move to a state it cannot reach from where it is."""


def check_transition(current: CondorState, new: CondorState) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> new`` is legal."""
    if new not in _LEGAL[current]:
        raise IllegalTransition(f"condor cannot go from {current} to {new}")


@dataclass(frozen=True, slots=True)
class IronCondor:
    """The four strikes of a short iron condor: long put < short put < short call < long call.

    Attributes:
        expiry: SPXW expiry (today for 0DTE).
        long_put, short_put, short_call, long_call: strikes in points.
        quantity: condor units (each unit is 4 contracts).
    """

    expiry: date
    long_put: Decimal
    short_put: Decimal
    short_call: Decimal
    long_call: Decimal
    quantity: int = 1

    def __post_init__(self) -> None:
        if not self.long_put < self.short_put < self.short_call < self.long_call:
            raise ValueError(
                "iron condor strikes must satisfy long put < short put < short call < long call, "
                f"got {self.long_put}/{self.short_put}/{self.short_call}/{self.long_call}"
            )
        if self.quantity < 1:
            raise ValueError(f"quantity must be at least 1, got {self.quantity}")

    @property
    def put_width(self) -> Decimal:
        """Width of the put spread in points."""
        return self.short_put - self.long_put

    @property
    def call_width(self) -> Decimal:
        """Width of the call spread in points."""
        return self.long_call - self.short_call

    @property
    def contracts(self) -> tuple[OptionContract, OptionContract, OptionContract, OptionContract]:
        """Long put, short put, short call, long call."""
        return (
            OptionContract(self.expiry, self.long_put, Right.PUT),
            OptionContract(self.expiry, self.short_put, Right.PUT),
            OptionContract(self.expiry, self.short_call, Right.CALL),
            OptionContract(self.expiry, self.long_call, Right.CALL),
        )

    def short_legs(self) -> tuple[ComboLeg, ...]:
        """The legs of the short condor as held: buy the wings, sell the body."""
        lp, sp, sc, lc = self.contracts
        return (
            ComboLeg(lp, OrderAction.BUY),
            ComboLeg(sp, OrderAction.SELL),
            ComboLeg(sc, OrderAction.SELL),
            ComboLeg(lc, OrderAction.BUY),
        )

    def position_sign(self, contract: OptionContract) -> int:
        """+1 for a long leg, -1 for a short leg, 0 if the contract is not part of the condor."""
        for leg in self.short_legs():
            if leg.contract == contract:
                return 1 if leg.action is OrderAction.BUY else -1
        return 0

    @property
    def max_value(self) -> Decimal:
        """The most one unit can be worth, in points: its wider wing (at expiry at most one
        spread is in the money, and that one is worth at most its width). No price sent to
        buy the condor back may be above it."""
        return max(self.put_width, self.call_width)

    def max_loss_points(self, credit: Decimal) -> Decimal:
        """Worst case at expiry per unit, in points: the wider wing minus the credit."""
        return self.max_value - credit

    def value_at_expiry(self, spot: Decimal) -> Decimal:
        """What buying the condor back costs at settlement ``spot``, per unit, in points."""
        put_part = min(max(self.short_put - spot, Decimal(0)), self.put_width)
        call_part = min(max(spot - self.short_call, Decimal(0)), self.call_width)
        return put_part + call_part

    def label(self) -> str:
        """e.g. ``5950/5960P 6040/6050C``."""
        return f"{self.long_put:f}/{self.short_put:f}P {self.short_call:f}/{self.long_call:f}C"
