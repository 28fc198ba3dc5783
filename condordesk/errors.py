"""The one error tree of condordesk.

::

    CondordeskError
    ├── ConfigError            a profile is missing, unreadable or invalid (exit code 2)
    ├── BrokerError            anything the broker port raises
    │   ├── NotConnected       no session with the broker
    │   ├── BrokerTimeout      the broker did not answer in time
    │   └── OrderRejected      the broker refused an order (carries the reason)
    ├── JournalError           the SQLite journal cannot be read or written
    └── CalendarError          the trading calendar cannot be built

Foreign exceptions are translated at the boundary with ``raise Mapped(...) from exc`` and
rendered once, at the edge (the CLI).
"""

from __future__ import annotations


class CondordeskError(Exception):
    """Root of every error condordesk raises on purpose."""


class ConfigError(CondordeskError):
    """A profile is missing, unreadable or invalid."""


class BrokerError(CondordeskError):
    """Something went wrong talking to the broker."""


class NotConnected(BrokerError):
    """There is no session with the broker."""


class BrokerTimeout(BrokerError):
    """The broker did not answer in time."""


class OrderRejected(BrokerError):
    """The broker refused an order."""

    def __init__(self, order_ref: str, reason: str, code: int | None = None) -> None:
        super().__init__(
            f"order {order_ref} rejected: {reason}" + (f" (code {code})" if code else "")
        )
        self.order_ref = order_ref
        self.reason = reason
        self.code = code


class JournalError(CondordeskError):
    """The journal cannot be read or written."""


class CalendarError(CondordeskError):
    """The trading calendar cannot be built."""
