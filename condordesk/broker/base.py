"""The Broker port: what the engine needs from a broker, and the events a broker emits.

Every adapter (the in-process simulator, the ib_async adapter) implements :class:`Broker`.
All prices are ``Decimal`` combo or option prices; all times are UTC-aware datetimes.

Errors raised by every method (from :mod:`condordesk.errors`):
    NotConnected: the adapter has no session with the broker.
    BrokerTimeout: the broker did not answer within the adapter's timeout.
    OrderRejected: ``place_order`` and ``modify_order`` only, when the broker refuses the
        order or the change outright.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import (
    CommissionReport,
    Execution,
    OrderReport,
    OrderRequest,
    Position,
)


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """An order changed status (acknowledged, triggered, filled, cancelled, rejected)."""

    report: OrderReport


@dataclass(frozen=True, slots=True)
class ExecutionReceived:
    """A leg was filled. The same ``exec_id`` may be delivered again (replays)."""

    execution: Execution


@dataclass(frozen=True, slots=True)
class CommissionReceived:
    """The broker reported the commission of an execution."""

    report: CommissionReport


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The broker link went down or came back."""

    connected: bool
    reason: str


@dataclass(frozen=True, slots=True)
class PositionsSettled:
    """Expiring options were cash-settled at ``settlement_price`` and left the account."""

    expiry: date
    settlement_price: Decimal
    positions: tuple[tuple[OptionContract, int], ...]
    ts: datetime


@dataclass(frozen=True, slots=True)
class BrokerMessage:
    """A warning or error from the broker not tied to a status change."""

    code: int
    text: str
    order_id: int | None = None


BrokerEvent = (
    OrderUpdated
    | ExecutionReceived
    | CommissionReceived
    | ConnectionChanged
    | PositionsSettled
    | BrokerMessage
)


class Broker(ABC):
    """The port every broker adapter implements.

    The engine owns the life cycle: ``connect()``, then any calls, then ``disconnect()``.
    Events (fills, status changes, connection changes) are delivered through
    :meth:`events`; they may arrive in any order relative to call results (a fill may
    arrive before ``place_order`` returns).
    """

    @abstractmethod
    async def connect(self) -> None:
        """Open the session. Raises BrokerError if the broker cannot be reached."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Close the session. Working orders stay at the broker."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """True while the session is up."""

    @abstractmethod
    async def account(self) -> str:
        """The account id the broker reports (e.g. ``DU1234567``)."""

    @abstractmethod
    async def underlying_price(self) -> Decimal:
        """The SPX index value now."""

    @abstractmethod
    async def option_strikes(self, expiry: date) -> list[Decimal]:
        """Listed SPXW strikes for ``expiry``, ascending. Empty if none expire that day."""

    @abstractmethod
    async def option_quotes(
        self,
        contracts: Sequence[OptionContract],
        *,
        timeout: float,  # noqa: ASYNC109 (a budget for data to arrive, not a call timeout)
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes with greeks for ``contracts``, waiting at most ``timeout`` clock seconds.

        Contracts whose data did not arrive in time are missing from the result; a quote
        whose greeks did not arrive has ``greeks=None``. Never raises BrokerTimeout.
        """

    @abstractmethod
    async def place_order(self, request: OrderRequest) -> OrderReport:
        """Send an order; returns the first report (ids assigned). May raise OrderRejected."""

    @abstractmethod
    async def modify_order(self, order_id: int, request: OrderRequest) -> OrderReport:
        """Change the prices of a working order in place; returns its report once the broker
        has taken the change (same ``order_id``, ``perm_id``, ``order_ref`` and OCA group).

        Only the prices (``stop_price``, ``limit_price``) and the quantity may differ from
        the order as placed; ``request`` carries the order whole, as IB's ``placeOrder`` with
        an existing order id does. A stop whose new trigger is already through the market
        triggers at once (and may fill before this returns).

        Raises:
            OrderRejected: the order is filled (code 104, "Can't modify a filled order"),
                cancelled or unknown (104 / 10147), or the new price is invalid (e.g. 110,
                off the tick grid); the order then keeps working as it was, if it still works.
        """

    @abstractmethod
    async def cancel_order(self, order_id: int) -> None:
        """Ask the broker to cancel; the outcome arrives as an OrderUpdated event."""

    @abstractmethod
    async def open_orders(self) -> list[OrderReport]:
        """Every working order of this account (all client ids)."""

    @abstractmethod
    async def order_status(self, order_id: int) -> OrderReport | None:
        """The latest report for an order placed in this session, or None if unknown."""

    @abstractmethod
    async def positions(self) -> list[Position]:
        """Every option position of the account (non-zero quantities)."""

    @abstractmethod
    async def executions(self) -> list[tuple[Execution, CommissionReport | None]]:
        """Today's executions with their commissions where known."""

    @abstractmethod
    async def server_time(self) -> datetime:
        """The broker's clock (UTC). The loopback gateway reports its simulated time."""

    @abstractmethod
    async def settlement_price(
        self, expiry: date, cutoff: datetime | None = None
    ) -> Decimal | None:
        """The SPX value options expiring ``expiry`` cash-settled at (PM settlement), or None
        if the broker cannot tell (yet).

        ``cutoff`` is when those options stopped trading, from the caller's calendar (13:00 ET
        on an early-close day); an adapter that cannot tell the day's close itself answers
        None before it (16:00 ET when not given)."""

    @abstractmethod
    def events(self) -> AsyncIterator[BrokerEvent]:
        """A new stream of broker events from now on (each caller gets its own)."""
