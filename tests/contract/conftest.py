"""The Broker contract: one suite, run against every adapter of the port.

Each test gets a :class:`Venue` of one kind:

* ``sim``: the embedded simulator; the SimBroker *is* the broker under test;
* ``ib``: an IBBroker (real ib_async client) connected over 127.0.0.1 to the loopback TWS
  gateway, which trades a SimBroker.

In both, the SimBroker is the exchange: same seeded calm market, same accelerated SimClock
on the real event loop. Tests turn its fault knobs (``reject_next``, ``gap``,
``set_greeks_missing``) and may read the truth from it; they talk to the broker under test
through the :class:`~condordesk.broker.base.Broker` port only, and wait on conditions.

Where the adapters legitimately differ the tests assert the contract, not the accident:
``place_order`` over IB returns once IB acknowledged the order, so its first report may
still be PENDING/WORKING where the simulator's is already final (the outcome is awaited as
an event); IB has no separate "triggered" update for a stop; IB announces no
:class:`~condordesk.broker.base.PositionsSettled` and, through ib_async, no live execution
of a trade that has no order in the session (both are learnt by asking).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from condordesk.broker.base import Broker
from condordesk.broker.ib import IBBroker
from condordesk.broker.sim import SimBroker
from condordesk.gateway import Gateway
from condordesk.market.clock import SimClock
from tests.contract.helpers import QUOTES_TIMEOUT_S
from tests.support.gateway import IbErrors, ib_error_log, make_ib, running_gateway
from tests.support.sim import MONDAY, at, make_sim
from tests.support.waiting import Recorder

KINDS = ("sim", "ib")
SPEED = 5.0
"""Simulated seconds per real second (ib_async paces itself in real time)."""
REQUEST_BUDGET_REAL_S = 4.0
"""How long, in real seconds, the IB adapter waits for any one answer of the gateway."""
ACK_BUDGET_REAL_S = 2.0
"""How long, in real seconds, IB ``place_order`` waits for an acknowledgement or rejection
(only waits while neither came: a loaded machine must not turn a rejection into a report)."""


@dataclass
class Venue:
    """A broker under test and the simulated exchange behind it."""

    kind: str
    clock: SimClock
    exchange: SimBroker
    broker: Broker
    gateway: Gateway | None = None

    @asynccontextmanager
    async def reconnected(self) -> AsyncIterator[Broker]:
        """The broker as a restarted engine finds it: this session is closed and a new one
        opened (the same SimBroker reconnected; a fresh IBBroker with the same client id on
        the same gateway)."""
        if self.gateway is None:
            await self.exchange.disconnect()
            await self.exchange.connect()
            yield self.exchange
            return
        await self.broker.disconnect()
        fresh = _ib_for(self.clock, self.gateway)
        await fresh.connect()
        try:
            yield fresh
        finally:
            await fresh.close()

    async def make_unreachable(self) -> None:
        """Take the broker out of reach: the simulator's link drops; the gateway stops."""
        if self.gateway is None:
            self.exchange.drop_connection()
        else:
            await self.gateway.stop()


def _ib_for(clock: SimClock, gateway: Gateway) -> IBBroker:
    return make_ib(
        clock,
        gateway.port,
        request_timeout_s=REQUEST_BUDGET_REAL_S * clock.speed,
        ack_wait_s=ACK_BUDGET_REAL_S * clock.speed,
        greeks_timeout_s=QUOTES_TIMEOUT_S,
    )


@asynccontextmanager
async def open_venue(
    kind: str,
    start: datetime | None = None,
    *,
    connect: bool = True,
    speed: float = SPEED,
    **market: Any,
) -> AsyncIterator[Venue]:
    """A venue of ``kind`` whose clock starts at ``start`` (default Monday 10:00 ET); the
    broker under test is connected unless ``connect`` is False. ``market`` overrides the
    simulator config."""
    clock, exchange = make_sim(start or at(MONDAY, 10), speed=speed, **market)
    if kind == "sim":
        if connect:
            await exchange.connect()
        try:
            yield Venue(kind, clock, exchange, exchange)
        finally:
            await exchange.close()
        return
    async with running_gateway(clock, exchange) as gateway:
        broker = _ib_for(clock, gateway)
        if connect:
            await broker.connect()
        try:
            yield Venue(kind, clock, exchange, broker, gateway)
        finally:
            await broker.close()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Which adapter of the Broker port the test runs against."""
    return str(request.param)


@pytest.fixture(autouse=True)
def ib_log() -> Iterator[IbErrors]:
    """Fail a test during which ib_async logged a decoder error or an error that is not a
    broker code the gateway sent on purpose (a test may ``allow`` more)."""
    with ib_error_log() as handler:
        yield handler
    assert handler.unexpected() == []


@pytest.fixture
async def venue(kind: str) -> AsyncIterator[Venue]:
    """A connected broker of ``kind`` on Monday 10:00 ET."""
    async with open_venue(kind) as v:
        yield v


@pytest.fixture
async def recorder(venue: Venue) -> AsyncIterator[Recorder]:
    """The events of the venue's broker from the start of the test."""
    rec = Recorder(venue.broker.events())
    try:
        yield rec
    finally:
        await rec.stop()
