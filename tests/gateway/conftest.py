"""Fixtures for the gateway tests: a SimBroker on a SimClock (real event loop, accelerated),
the gateway on a free loopback port, and the real ib_async client connected to it.

Every test fails if ib_async logs an ERROR that is not a broker error code we meant to send
(a decoder error means a malformed message). The pieces live in :mod:`tests.support`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest
from ib_async import IB

from condordesk.broker.sim import SimBroker
from condordesk.gateway import Gateway
from condordesk.market.clock import SimClock
from tests.support import sim as _sim
from tests.support.gateway import IbErrors, ib_error_log, running_gateway
from tests.support.sim import ACCOUNT, MONDAY, at, weekday_sessions
from tests.support.waiting import wait_for

__all__ = [
    "ACCOUNT",
    "MONDAY",
    "SPEED",
    "TIMEOUT",
    "IbErrors",
    "make_sim",
    "wait_for",
    "weekday_sessions",
]

SPEED = 20.0  # simulated seconds per real second
TIMEOUT = 5.0


def make_sim(start: datetime, **overrides: Any) -> tuple[SimClock, SimBroker]:
    """The shared simulated exchange at this suite's speed."""
    return _sim.make_sim(start, speed=SPEED, **overrides)


@pytest.fixture
def ib_errors() -> Iterator[IbErrors]:
    with ib_error_log(logging.INFO) as handler:
        yield handler
    assert handler.unexpected() == []


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    clock, broker = make_sim(at(MONDAY, 10))
    async with running_gateway(clock, broker) as gw:
        yield gw


@pytest.fixture
async def ib(gateway: Gateway, ib_errors: IbErrors) -> AsyncIterator[IB]:
    client = IB()
    await client.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=TIMEOUT)
    try:
        yield client
    finally:
        client.disconnect()
