"""Fixtures for the gateway tests: a SimBroker on a SimClock (real event loop, accelerated),
the gateway on a free loopback port, and the real ib_async client connected to it.

Every test fails if ib_async logs an ERROR that is not a broker error code we meant to send
(a decoder error means a malformed message)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime, time
from typing import Any

import pytest
from ib_async import IB

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.gateway import Gateway
from condordesk.market.clock import ET, SimClock

MONDAY = date(2025, 3, 3)
ACCOUNT = "DU1234567"
SPEED = 20.0  # simulated seconds per real second
TIMEOUT = 5.0
_EXPECTED = re.compile(r"^(Error|Warning) \d+, reqId")


def weekday_sessions(day: date) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5:
        return None
    return datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16, 0), ET)


class IbErrors(logging.Handler):
    """Collects ERROR records of the ``ib_async`` loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.allowed: list[re.Pattern[str]] = [_EXPECTED]

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        out = []
        for rec in self.records:
            msg = rec.getMessage()
            decoder = rec.name == "ib_async.Decoder"
            if decoder or not any(p.search(msg) for p in self.allowed):
                out.append(f"{rec.name}: {msg}")
        return out


@pytest.fixture
def ib_errors() -> Iterator[IbErrors]:
    handler = IbErrors()
    root = logging.getLogger("ib_async")
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    assert handler.unexpected() == []


def make_sim(start: datetime, **overrides: Any) -> tuple[SimClock, SimBroker]:
    values: dict[str, Any] = {
        "seed": 7,
        "scenario": "calm",
        "greeks_latency_s": 0.5,
        "greeks_missing_prob": 0.0,
    }
    values.update(overrides)
    clock = SimClock(start, speed=SPEED)
    market = SimMarket(SimulatorConfig(**values))
    return clock, SimBroker(clock, market, weekday_sessions, account=ACCOUNT)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    clock, broker = make_sim(datetime.combine(MONDAY, time(10, 0), ET))
    gw = Gateway(broker, clock, account=ACCOUNT, quote_interval_s=1.0)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def ib(gateway: Gateway, ib_errors: IbErrors) -> AsyncIterator[IB]:
    client = IB()
    await client.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=TIMEOUT)
    try:
        yield client
    finally:
        client.disconnect()


async def wait_for(ib: IB, cond: Callable[[], bool], within: float = TIMEOUT) -> None:
    """Await ``cond()`` becoming true, re-checked after every packet ib_async handles."""
    if cond():
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check(*_: object) -> None:
        if not done.done() and cond():
            done.set_result(None)

    ib.updateEvent += check
    try:
        await asyncio.wait_for(done, within)
    finally:
        ib.updateEvent -= check
