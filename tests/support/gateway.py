"""The loopback TWS gateway over a SimBroker, IBBrokers connected to it, and a capture of
ib_async's error log (a decoder error means the gateway sent a malformed message, which
ib_async would otherwise drop silently)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from condordesk.broker.ib import IBBroker
from condordesk.broker.sim import SimBroker
from condordesk.gateway import Gateway
from condordesk.market.clock import Clock
from tests.support.sim import ACCOUNT

_BROKER_CODES = re.compile(r"^(Error|Warning) \d+, reqId")
"""ib_async's log line for an error code the gateway sent on purpose."""


class IbErrors(logging.Handler):
    """Collects ERROR records of the ``ib_async`` loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.allowed: list[re.Pattern[str]] = [_BROKER_CODES]

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def allow(self, pattern: str) -> None:
        """Also accept errors matching ``pattern``."""
        self.allowed.append(re.compile(pattern))

    def decoder_errors(self) -> list[str]:
        """Messages ib_async could not decode."""
        return [r.getMessage() for r in self.records if r.name == "ib_async.Decoder"]

    def unexpected(self) -> list[str]:
        """Decoder errors, and errors that are not a broker code nor allowed."""
        out = []
        for rec in self.records:
            msg = rec.getMessage()
            decoder = rec.name == "ib_async.Decoder"
            if decoder or not any(p.search(msg) for p in self.allowed):
                out.append(f"{rec.name}: {msg}")
        return out


@contextmanager
def ib_error_log(level: int | None = None) -> Iterator[IbErrors]:
    """Capture ib_async's ERROR records while in the block (``level``: the ``ib_async``
    logger's level meanwhile, if given)."""
    handler = IbErrors()
    root = logging.getLogger("ib_async")
    root.addHandler(handler)
    old = root.level
    if level is not None:
        root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def make_ib(clock: Clock, port: int, **kwargs: Any) -> IBBroker:
    """An IBBroker for :data:`ACCOUNT` on the loopback gateway at ``port`` (one connect
    attempt, client id 7 unless overridden)."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "client_id": 7,
        "account": ACCOUNT,
        "connect_timeout_s": 5.0,
        "connect_attempts": 1,
    }
    values.update(kwargs)
    return IBBroker(clock, **values)


@asynccontextmanager
async def running_gateway(clock: Clock, broker: SimBroker, **kwargs: Any) -> AsyncIterator[Gateway]:
    """A Gateway over ``broker`` listening on a free loopback port while in the block."""
    values: dict[str, Any] = {"account": ACCOUNT, "quote_interval_s": 1.0}
    values.update(kwargs)
    gateway = Gateway(broker, clock, **values)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()
