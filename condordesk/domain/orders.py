"""Orders as the engine sends them and as the broker reports them back.

Every order carries an ``order_ref`` of the form ``cd:<condor_id>:<role>`` so that a restarted
engine recognises its own orders, fills and positions at the broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from condordesk.domain.options import OptionContract

REF_PREFIX = "cd"


class OrderAction(StrEnum):
    """Side of an order, a combo leg or an execution."""

    BUY = "BUY"
    SELL = "SELL"

    def opposite(self) -> OrderAction:
        """The other side."""
        return OrderAction.SELL if self is OrderAction.BUY else OrderAction.BUY


class OrderType(StrEnum):
    """Order types the engine uses."""

    LIMIT = "LMT"
    STOP = "STP"  # stop-market
    STOP_LIMIT = "STP LMT"


class TimeInForce(StrEnum):
    """Time in force."""

    DAY = "DAY"
    FOK = "FOK"
    IOC = "IOC"
    GTC = "GTC"


class OrderRole(StrEnum):
    """Why an order exists in a condor's life."""

    ENTRY = "entry"
    STOP_LIMIT = "stop-limit"
    STOP_MARKET = "stop-market"
    """The backup stop: a stop-limit capped at the wing width since issue 12 (the name stays,
    it is part of every order ref in journals and at the broker)."""
    CLOSE = "close"


class OrderStatus(StrEnum):
    """Broker-side order status, normalised."""

    PENDING = "pending"  # sent, not yet acknowledged
    WORKING = "working"  # live at the broker (includes stops waiting for their trigger)
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_done(self) -> bool:
        """True for final states."""
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


def order_ref(condor_id: str, role: OrderRole, generation: int = 1) -> str:
    """Build the ``orderRef`` tag ``cd:<condor_id>:<role>`` (``<role>.<n>`` from the 2nd on)."""
    suffix = role.value if generation <= 1 else f"{role.value}.{generation}"
    return f"{REF_PREFIX}:{condor_id}:{suffix}"


def parse_order_ref(ref: str) -> tuple[str, OrderRole, int] | None:
    """Inverse of :func:`order_ref`; None for refs that are not ours."""
    parts = ref.split(":")
    if len(parts) != 3 or parts[0] != REF_PREFIX or not parts[1]:
        return None
    role_text, _, gen_text = parts[2].partition(".")
    try:
        role = OrderRole(role_text)
        generation = int(gen_text) if gen_text else 1
    except ValueError:
        return None
    return parts[1], role, generation


@dataclass(frozen=True, slots=True)
class ComboLeg:
    """One leg of a BAG order: buy or sell ``ratio`` of ``contract`` per combo unit."""

    contract: OptionContract
    action: OrderAction
    ratio: int = 1


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order the engine wants at the broker.

    Attributes:
        order_ref: ``cd:<condor_id>:<role>``.
        legs: the combo legs (a BAG); the combo price is sum(+price for BUY legs, -price for
            SELL legs), so a credit is a negative price.
        action: BUY or SELL the combo.
        order_type: limit, stop-market or stop-limit.
        quantity: combo units.
        limit_price: limit for LMT and STP LMT (combo price, may be negative).
        stop_price: trigger for STP and STP LMT (combo price).
        tif: time in force.
        oca_group: one-cancels-all group name, or "".
    """

    order_ref: str
    legs: tuple[ComboLeg, ...]
    action: OrderAction
    order_type: OrderType
    quantity: int
    tif: TimeInForce
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    oca_group: str = ""


@dataclass(frozen=True, slots=True)
class OrderReport:
    """The broker's view of one order."""

    order_id: int
    perm_id: int
    order_ref: str
    status: OrderStatus
    filled: int
    remaining: int
    avg_fill_price: Decimal | None
    request: OrderRequest | None = None
    reason: str = ""
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill of one leg, keyed by the broker's ``exec_id`` (replays must be no-ops)."""

    exec_id: str
    order_id: int
    perm_id: int
    order_ref: str
    contract: OptionContract
    side: OrderAction
    quantity: int
    price: Decimal
    ts: datetime


@dataclass(frozen=True, slots=True)
class CommissionReport:
    """Commission and fees the broker charged for one execution."""

    exec_id: str
    commission: Decimal
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class Position:
    """A position the broker holds: signed quantity (negative = short)."""

    contract: OptionContract
    quantity: int
    avg_cost: Decimal = field(default=Decimal(0))
