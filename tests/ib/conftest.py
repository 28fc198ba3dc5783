"""Fixtures of the IB adapter tests: the loopback gateway over a SimBroker (real event loop,
accelerated SimClock) and an IBBroker connected to it with the real ib_async client."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from condordesk.broker.base import BrokerEvent
from condordesk.broker.ib import IBBroker
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.broker.stream import EventStream
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.condor import IronCondor
from condordesk.market.clock import ET, SimClock

MONDAY = date(2025, 3, 3)
ACCOUNT = "DU1234567"
SPEED = 5.0  # simulated seconds per real second (ib_async throttles in real time)
REAL_TIMEOUT = 10.0


def weekday_sessions(day: date) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5:
        return None
    return datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16, 0), ET)


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


def make_ib(clock: SimClock, port: int, **kwargs: Any) -> IBBroker:
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


def condor_around(spot: Decimal, day: date = MONDAY, distance: int = 30) -> IronCondor:
    sp = math.floor((float(spot) - distance) / 5) * 5
    sc = math.ceil((float(spot) + distance) / 5) * 5
    return IronCondor(day, Decimal(sp - 10), Decimal(sp), Decimal(sc), Decimal(sc + 10))


async def eventually(cond: Callable[[], bool], within: float = REAL_TIMEOUT) -> None:
    """Await ``cond()`` becoming true (no fixed sleeps; bounded in real seconds)."""
    async with asyncio.timeout(within):
        while not cond():  # noqa: ASYNC110 - polling a plain predicate, nothing to wait on
            await asyncio.sleep(0.005)


class Recorder:
    """Collects one event stream in the background."""

    def __init__(self, stream: EventStream) -> None:
        self.events: list[BrokerEvent] = []
        self._task = asyncio.ensure_future(self._run(stream))

    async def _run(self, stream: EventStream) -> None:
        async for event in stream:
            self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class _DecoderErrors(logging.Handler):
    """Collects ib_async decoder errors: a malformed message is silently dropped otherwise."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "ib_async.Decoder":
            self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_decoder_errors() -> Iterator[None]:
    """Fail any test during which ib_async could not decode a message."""
    handler = _DecoderErrors()
    ib_logger = logging.getLogger("ib_async")
    ib_logger.addHandler(handler)
    try:
        yield
    finally:
        ib_logger.removeHandler(handler)
    assert handler.messages == []


@pytest.fixture
async def gateway() -> AsyncIterator[Any]:
    from condordesk.gateway import Gateway

    clock, sim = make_sim(datetime.combine(MONDAY, time(10, 0), ET))
    gw = Gateway(sim, clock, account=ACCOUNT, quote_interval_s=1.0)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def broker(gateway: Any) -> AsyncIterator[IBBroker]:
    ib = make_ib(gateway.clock, gateway.port)
    await ib.connect()
    try:
        yield ib
    finally:
        await ib.close()


@pytest.fixture
async def recorder(broker: IBBroker) -> AsyncIterator[Recorder]:
    rec = Recorder(broker.events())
    try:
        yield rec
    finally:
        await rec.stop()
