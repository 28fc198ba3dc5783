"""IB (TWS API) error and message codes, sorted once into named sets.

IB sends warnings, information and real errors through the same ``error`` message; the
adapter decides what each code means here and nowhere else. Sources: the TWS API message
code list and ib_async 2.1.0's ``wrapper.error``.
"""

from __future__ import annotations

from enum import StrEnum

CONNECTIVITY_LOST = frozenset({1100})
"""Connectivity between TWS/Gateway and IB servers is lost (the socket may stay up)."""

CONNECTIVITY_RESTORED = frozenset({1101, 1102})
"""Connectivity restored: 1101 with market data lost (resubscribe), 1102 with data kept."""

DATA_LOST_ON_RESTORE = frozenset({1101})
"""Connectivity came back but market-data subscriptions were dropped."""

ORDER_REJECTED = frozenset(
    {
        103,  # duplicate order id
        110,  # price does not conform to the minimum price variation (on a new order)
        200,  # no security definition found
        201,  # order rejected (reason in the text)
        203,  # security not available or allowed for this account
        321,  # validation error (on a new order; on a modification the order stays live)
        10058,  # combo with per-leg prices rejected
    }
)
"""Codes that, arriving for a new order's id, mean the broker refused it."""

MODIFY_REFUSED = frozenset({104})
"""A modification of an order that is no longer working (filled or cancelled): the order's
own final status comes from IB apart, so it never makes the order rejected."""

ORDER_CANCELLED = frozenset({202})
"""The order was cancelled (by request, OCA sibling fill, or the broker)."""

CANCEL_FAILED = frozenset({161, 10147, 10148})
"""A cancel could not be applied: 161/10148 not in a cancellable state, 10147 not found."""

PACING = frozenset({100})
"""Max rate of messages per second exceeded."""

TOO_MANY_TICKERS = frozenset({101})
"""Max number of simultaneous market-data lines exceeded."""

CLIENT_ID_IN_USE = frozenset({326})
"""The client id is already used by another API connection."""

COMPETING_SESSION = frozenset({10197})
"""Another (live) session of the same user took the market data."""

MARKET_DATA_NOT_SUBSCRIBED = frozenset({354, 10089, 10090, 10167, 10168})
"""No market-data subscription (or delayed data only) for the contract."""

FARM_OK = frozenset({2104, 2106, 2107, 2108, 2158})
"""Data farm connection is OK / inactive but available: informational."""

FARM_CONNECTING = frozenset({2119})
"""A data farm is connecting: informational."""

FARM_BROKEN = frozenset({2103, 2105, 2157})
"""A data farm connection is broken: market data or history may stall."""

INFO = FARM_OK | FARM_CONNECTING
"""Codes worth a debug log line and nothing else."""


class ErrorKind(StrEnum):
    """What an IB code means to the adapter."""

    CONNECTIVITY_LOST = "connectivity-lost"
    CONNECTIVITY_RESTORED = "connectivity-restored"
    ORDER_REJECTED = "order-rejected"
    ORDER_CANCELLED = "order-cancelled"
    CANCEL_FAILED = "cancel-failed"
    PACING = "pacing"
    TOO_MANY_TICKERS = "too-many-tickers"
    CLIENT_ID_IN_USE = "client-id-in-use"
    COMPETING_SESSION = "competing-session"
    MARKET_DATA = "market-data"
    FARM_BROKEN = "farm-broken"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_TABLE: tuple[tuple[frozenset[int], ErrorKind], ...] = (
    (CONNECTIVITY_LOST, ErrorKind.CONNECTIVITY_LOST),
    (CONNECTIVITY_RESTORED, ErrorKind.CONNECTIVITY_RESTORED),
    (ORDER_REJECTED, ErrorKind.ORDER_REJECTED),
    (ORDER_CANCELLED, ErrorKind.ORDER_CANCELLED),
    (CANCEL_FAILED, ErrorKind.CANCEL_FAILED),
    (PACING, ErrorKind.PACING),
    (TOO_MANY_TICKERS, ErrorKind.TOO_MANY_TICKERS),
    (CLIENT_ID_IN_USE, ErrorKind.CLIENT_ID_IN_USE),
    (COMPETING_SESSION, ErrorKind.COMPETING_SESSION),
    (MARKET_DATA_NOT_SUBSCRIBED, ErrorKind.MARKET_DATA),
    (FARM_BROKEN, ErrorKind.FARM_BROKEN),
    (INFO, ErrorKind.INFO),
)


def classify(code: int) -> ErrorKind:
    """The kind of an IB error/message code (2100-2199 not named otherwise are warnings)."""
    for codes, kind in _TABLE:
        if code in codes:
            return kind
    if 2100 <= code < 2200:
        return ErrorKind.WARNING
    return ErrorKind.ERROR


def is_quiet(code: int) -> bool:
    """True for purely informational codes (farm status) that need no BrokerMessage."""
    return classify(code) is ErrorKind.INFO
