"""What the request handlers need of the gateway and of a client's session, as Protocols.

The handler modules (``accounts``, ``marketdata``, ``history``, ``orders``, ``staging``,
``translate``, ``funds``, ``whatif``, ``faults``) are given a :class:`Client` (one connected
session) and reach the gateway through :class:`Host`. They import this module, never
``session`` or ``server``: :class:`~condordesk.gateway.server.Gateway` and
:class:`~condordesk.gateway.session.Session` satisfy these Protocols structurally, and only
the server imports the handlers. Each member is one a handler uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from condordesk.gateway.codec import Field, FieldReader

if TYPE_CHECKING:
    from condordesk.broker.sim import SimBroker, SimMarket
    from condordesk.market.clock import Clock


class Client(Protocol):
    """One connected API client, as the handlers see it."""

    @property
    def gateway(self) -> Host:
        """The gateway the client is connected to."""
        ...

    @property
    def client_id(self) -> int | None:
        """The client id claimed at startApi (None before the handshake ends)."""
        ...

    @property
    def version(self) -> int:
        """The server version agreed at the handshake."""
        ...

    current_req: int
    """The request being handled (error replies carry it)."""
    market_data_type: int
    """1 live, 2 frozen, 3 delayed, 4 delayed frozen (reqMarketDataType)."""
    positions_subscribed: bool
    """Asked reqPositions: hears every position change."""
    account_subscribed: bool
    """Asked reqAccountUpdates: hears the account's figures move."""
    sees_all_orders: bool
    """Asked reqAllOpenOrders: hears of orders adopted from the simulator."""

    @property
    def md_lines(self) -> dict[int, asyncio.Task[None]]:
        """The streaming market-data lines, by request id."""
        ...

    @property
    def index_close(self) -> dict[int, Decimal]:
        """Per index line: the prior close it reports."""
        ...

    def send(self, fields: list[Field]) -> None:
        """Send one message (built as at v178, encoded for the agreed version)."""
        ...

    def error(self, req_id: int, code: int, text: str) -> None:
        """Send an error message for ``req_id`` (-1: not about a request)."""
        ...

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``coro`` for as long as the client stays connected."""
        ...

    def abort(self) -> None:
        """Drop the socket at once."""
        ...

    def drop_market_data(self) -> None:
        """Forget every streaming line."""
        ...


Handler = Callable[[Client, FieldReader], Awaitable[None]]
"""A request handler: the client that sent the request and the request's fields after its
message id."""


class Faults(Protocol):
    """The fault knobs the sessions and the handlers consult."""

    def take_pacing_violation(self) -> bool:
        """True (once per armed violation) when the next request is to get error 100."""
        ...

    def greeks_delay(self) -> float:
        """Clock seconds to delay an option line's first greeks."""
        ...

    def take_fills_first(self) -> bool:
        """True (once per armed fault) when executions go out before the first openOrder."""
        ...


class Clients(Protocol):
    """The gateway as the fault knobs see it: the simulator and the clients ready now."""

    @property
    def broker(self) -> SimBroker:
        """The simulated broker behind the gateway."""
        ...

    def sessions(self) -> Sequence[Client]:
        """The clients past their handshake and still connected."""
        ...


class Host(Clients, Protocol):
    """The gateway as the request handlers see it."""

    @property
    def clock(self) -> Clock:
        """The injected clock."""
        ...

    @property
    def account(self) -> str:
        """The account id reported everywhere."""
        ...

    @property
    def funds(self) -> Decimal:
        """The account's cash before any trade."""
        ...

    @property
    def market(self) -> SimMarket | None:
        """The simulated market (intraday bars, the prior close), if given."""
        ...

    @property
    def quote_interval_s(self) -> float:
        """Clock seconds between streaming market-data updates."""
        ...

    @property
    def max_lines(self) -> int:
        """Streaming lines the account may hold, every client together."""
        ...

    @property
    def bag_executions(self) -> bool:
        """Whether a combo's fill also gets its BAG-level execution."""
        ...

    @property
    def faults(self) -> Faults:
        """The fault knobs."""
        ...

    def session_for(self, client_id: int) -> Client | None:
        """The ready client of ``client_id``, if connected."""
        ...

    def next_valid_id(self, client_id: int) -> int:
        """The next order id a client may use."""
        ...

    def note_order_id(self, order_id: int) -> None:
        """Keep the next valid id above ``order_id``."""
        ...

    def market_data_lines(self) -> int:
        """Streaming lines open across every client of the account."""
        ...
