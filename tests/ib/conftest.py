"""Fixtures of the IB adapter tests: the loopback gateway over a SimBroker (real event loop,
accelerated SimClock) and an IBBroker connected to it with the real ib_async client. The
pieces live in :mod:`tests.support`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest

from condordesk.broker.ib import IBBroker
from condordesk.broker.sim import SimBroker
from condordesk.gateway import Gateway
from condordesk.market.clock import SimClock
from tests.support import sim as _sim
from tests.support.gateway import ib_error_log, make_ib, running_gateway
from tests.support.sim import ACCOUNT, MONDAY, at, condor_around, weekday_sessions
from tests.support.waiting import REAL_TIMEOUT, Recorder, eventually

__all__ = [
    "ACCOUNT",
    "MONDAY",
    "REAL_TIMEOUT",
    "SPEED",
    "Recorder",
    "condor_around",
    "eventually",
    "make_ib",
    "make_sim",
    "weekday_sessions",
]

SPEED = 5.0  # simulated seconds per real second (ib_async throttles in real time)


def make_sim(start: datetime, **overrides: Any) -> tuple[SimClock, SimBroker]:
    """The shared simulated exchange at this suite's speed."""
    return _sim.make_sim(start, speed=SPEED, **overrides)


@pytest.fixture(autouse=True)
def no_decoder_errors() -> Iterator[None]:
    """Fail any test during which ib_async could not decode a message."""
    with ib_error_log() as handler:
        yield
    assert handler.decoder_errors() == []


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    clock, sim = make_sim(at(MONDAY, 10))
    async with running_gateway(clock, sim) as gw:
        yield gw


@pytest.fixture
async def broker(gateway: Gateway) -> AsyncIterator[IBBroker]:
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
