"""IBBroker's connection handling and event routing against a small fake ``ib_async.IB``."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eventkit import Event
from ib_async import Contract, Order, OrderStatus, Trade, TradeLogEntry

from condordesk.broker.base import BrokerMessage, ConnectionChanged, OrderUpdated
from condordesk.broker.ib import ClientIdInUse, IBBroker
from condordesk.broker.ib.pacing import Pacer
from condordesk.broker.ib.quotes import LineBudget
from condordesk.broker.ib.session import BACKOFF_S, backoff
from condordesk.domain.orders import OrderStatus as Status
from condordesk.errors import BrokerError, NotConnected
from condordesk.market.clock import Clock, SimClock
from condordesk.market.vtime import run_virtual

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


class StepClock(Clock):
    """A clock that jumps over every sleep at once, recording it."""

    def __init__(self) -> None:
        self.t = T0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)
        await asyncio.sleep(0)


class FakeIB:
    """Just what IBSession touches: connect, accounts, index qualification, events."""

    def __init__(self, accounts: tuple[str, ...] = ("DU1",), failures: int = 0) -> None:
        self.errorEvent = Event("errorEvent")
        self.disconnectedEvent = Event("disconnectedEvent")
        self.orderStatusEvent = Event("orderStatusEvent")
        self.openOrderEvent = Event("openOrderEvent")
        self.execDetailsEvent = Event("execDetailsEvent")
        self.commissionReportEvent = Event("commissionReportEvent")
        self.accounts = accounts
        self.failures = failures
        self.codes: list[int] = []
        self.attempts = 0
        self.up = False
        self.trade_list: list[Trade] = []

    async def connectAsync(self, host: str, port: int, **kwargs: Any) -> None:
        self.attempts += 1
        for code in self.codes:
            self.errorEvent.emit(-1, code, f"code {code}", None)
        if self.attempts <= self.failures:
            raise ConnectionRefusedError("refused")
        self.up = True

    def managedAccounts(self) -> list[str]:
        return list(self.accounts)

    async def qualifyContractsAsync(self, *contracts: Contract) -> list[Contract]:
        for c in contracts:
            c.conId = 416904
        return list(contracts)

    def isConnected(self) -> bool:
        return self.up

    def disconnect(self) -> None:
        if self.up:
            self.up = False
            self.disconnectedEvent.emit()

    def trades(self) -> list[Trade]:
        return self.trade_list


def make(ib: FakeIB, **kwargs: Any) -> tuple[IBBroker, StepClock]:
    clock = StepClock()
    values: dict[str, Any] = {"host": "h", "port": 1, "client_id": 5, "account": "DU1"}
    values.update(kwargs)
    return IBBroker(clock, ib=ib, **values), clock  # type: ignore[arg-type]


async def test_connect_publishes_and_checks_account() -> None:
    broker, _ = make(FakeIB())
    events = broker.events()
    await broker.connect()
    assert broker.connected
    assert await broker.account() == "DU1"
    assert events.drain() == [ConnectionChanged(True, "connected")]
    await broker.disconnect()
    assert events.drain() == [ConnectionChanged(False, "disconnected")]
    assert not broker.connected


async def test_account_mismatch_names_both() -> None:
    ib = FakeIB(accounts=("DU7", "DU8"))
    broker, _ = make(ib)
    with pytest.raises(BrokerError, match=r"DU1 .*DU7, DU8"):
        await broker.connect()
    assert not ib.up and not broker.connected


async def test_retries_with_backoff_on_the_clock() -> None:
    ib = FakeIB(failures=2)
    broker, clock = make(ib, connect_attempts=3)
    await broker.connect()
    assert ib.attempts == 3
    assert len(clock.sleeps) == 2
    for slept, base in zip(clock.sleeps, BACKOFF_S, strict=False):
        assert base <= slept <= base * 1.2


async def test_gives_up_with_not_connected() -> None:
    ib = FakeIB(failures=5)
    broker, _ = make(ib, connect_attempts=2)
    with pytest.raises(NotConnected, match="gave up after 2") as info:
        await broker.connect()
    assert isinstance(info.value.__cause__, NotConnected)
    assert ib.attempts == 2


async def test_client_id_in_use_is_named_and_not_retried() -> None:
    ib = FakeIB(failures=5)
    ib.codes = [326]
    broker, clock = make(ib, connect_attempts=3)
    with pytest.raises(ClientIdInUse, match="326"):
        await broker.connect()
    assert ib.attempts == 1
    assert clock.sleeps == []


async def test_connectivity_codes_and_messages() -> None:
    ib = FakeIB()
    broker, _ = make(ib, auto_reconnect=False)
    await broker.connect()
    events = broker.events()
    ib.errorEvent.emit(-1, 2104, "farm OK", None)  # informational: nothing
    ib.errorEvent.emit(-1, 1100, "lost", None)
    assert not broker.connected
    with pytest.raises(NotConnected, match="1100"):
        await broker.account()
    ib.errorEvent.emit(-1, 1100, "lost again", None)  # no duplicate change
    ib.errorEvent.emit(-1, 1102, "restored", None)
    ib.errorEvent.emit(12, 354, "not subscribed", None)
    assert events.drain() == [
        ConnectionChanged(False, "IB 1100: lost"),
        ConnectionChanged(True, "IB 1102: restored"),
        BrokerMessage(354, "not subscribed", None),
    ]
    assert broker.connected


async def test_dropped_socket_reconnects_in_background() -> None:
    ib = FakeIB()
    broker, clock = make(ib)
    await broker.connect()
    events = broker.events()
    ib.failures = ib.attempts + 1  # the first reconnect attempt fails
    ib.disconnect()  # as if the socket dropped
    assert not broker.connected
    for _ in range(20):
        if broker.connected:
            break
        await asyncio.sleep(0)
    assert broker.connected
    assert [e.connected for e in events.drain() if isinstance(e, ConnectionChanged)] == [
        False,
        True,
    ]
    assert len(clock.sleeps) == 2  # the initial pause, then one backoff
    await broker.close()


def _bag_trade(status: str, log: list[TradeLogEntry] | None = None) -> Trade:
    order = Order(orderId=3, clientId=5, action="BUY", totalQuantity=1, orderRef="cd:c:entry")
    return Trade(
        contract=Contract(secType="BAG", symbol="SPX"),
        order=order,
        orderStatus=OrderStatus(orderId=3, status=status, remaining=1),
        fills=[],
        log=log or [],
    )


async def test_order_events_are_deduplicated_and_rejections_mapped() -> None:
    ib = FakeIB()
    broker, _ = make(ib)
    await broker.connect()
    events = broker.events()
    ib.orderStatusEvent.emit(_bag_trade("Submitted"))
    ib.openOrderEvent.emit(_bag_trade("Submitted"))  # same state: no second event
    log = [TradeLogEntry(T0, "Cancelled", "Error 201: rejected", 201)]
    ib.orderStatusEvent.emit(_bag_trade("Cancelled", log))
    single = Trade(contract=Contract(secType="OPT", symbol="SPX"), order=Order(orderId=9))
    ib.orderStatusEvent.emit(single)  # not a combo: ignored
    statuses = [e.report.status for e in events.drain() if isinstance(e, OrderUpdated)]
    assert statuses == [Status.WORKING, Status.REJECTED]


async def test_a_refused_modification_is_no_status_change_and_the_real_status_follows() -> None:
    """ib_async marks a trade Cancelled on error 104 (and ValidationError on a warning such
    as 110) when IB refuses a modification; the order is unchanged at the broker, so no
    event goes out, and the status IB then sends (the fill that raced it) is reported."""
    ib = FakeIB()
    broker, _ = make(ib)
    await broker.connect()
    events = broker.events()
    trade = _bag_trade("Submitted")
    ib.orderStatusEvent.emit(trade)
    trade.log.append(TradeLogEntry(T0, "Submitted", "Modify"))
    trade.orderStatus.status = "Cancelled"
    trade.log.append(TradeLogEntry(T0, "Cancelled", "Error 104, reqId 3: Can't modify", 104))
    ib.orderStatusEvent.emit(trade)  # ib_async's own mark, not IB's
    assert trade.orderStatus.status == "Submitted"
    trade.log.append(TradeLogEntry(T0, "Submitted", "Modify"))
    trade.orderStatus.status = "ValidationError"
    trade.log.append(TradeLogEntry(T0, "ValidationError", "Warning 110: price", 110))
    ib.orderStatusEvent.emit(trade)
    assert trade.orderStatus.status == "Submitted"
    trade.orderStatus.status, trade.orderStatus.filled = "Filled", 1
    trade.log.append(TradeLogEntry(T0, "Filled", ""))
    ib.orderStatusEvent.emit(trade)
    statuses = [e.report.status for e in events.drain() if isinstance(e, OrderUpdated)]
    assert statuses == [Status.WORKING, Status.FILLED]


def test_backoff_is_capped() -> None:
    assert backoff(0) >= 1.0
    assert 15.0 <= backoff(10) <= 18.0


async def test_line_budget() -> None:
    budget = LineBudget(2)
    assert budget.try_acquire() and budget.try_acquire()
    assert not budget.try_acquire()
    waiter = asyncio.ensure_future(budget.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    budget.release()
    await asyncio.wait_for(waiter, 1.0)
    assert budget.in_use == 2
    with pytest.raises(ValueError, match="positive"):
        LineBudget(0)


class _Bar:
    def __init__(self, day: date, close: float) -> None:
        self.date = day
        self.close = close


async def test_settlement_price_from_the_daily_bar() -> None:
    ib = FakeIB()
    bars = [_Bar(date(2026, 11, 25), 6010.0), _Bar(date(2026, 11, 27), 6032.17)]

    async def history(*args: Any, **kwargs: Any) -> list[_Bar]:
        return bars

    ib.reqHistoricalDataAsync = history  # type: ignore[attr-defined]
    broker, clock = make(ib)
    await broker.connect()
    expiry = date(2026, 11, 27)
    assert await broker.settlement_price(expiry) is None  # 10:00 ET: not settled yet
    clock.t = datetime(2026, 11, 27, 21, 5, tzinfo=UTC)  # 16:05 ET
    assert await broker.settlement_price(expiry) == Decimal("6032.17")
    assert await broker.settlement_price(date(2026, 11, 26)) is None  # no bar that day


async def test_settlement_price_on_an_early_close_comes_after_the_13_00_cut_off() -> None:
    ib = FakeIB()

    async def history(*args: Any, **kwargs: Any) -> list[_Bar]:
        return [_Bar(date(2026, 11, 27), 6032.17)]

    ib.reqHistoricalDataAsync = history  # type: ignore[attr-defined]
    broker, clock = make(ib)
    await broker.connect()
    expiry = date(2026, 11, 27)  # the day after Thanksgiving: the equity close is 13:00 ET
    cutoff = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    clock.t = datetime(2026, 11, 27, 17, 59, tzinfo=UTC)  # 12:59 ET: the bar still moves
    assert await broker.settlement_price(expiry, cutoff) is None
    clock.t = datetime(2026, 11, 27, 18, 5, tzinfo=UTC)  # 13:05 ET
    assert await broker.settlement_price(expiry, cutoff) == Decimal("6032.17")
    assert await broker.settlement_price(expiry) is None  # without the calendar: 16:00 ET


def test_pacer_spreads_bursts_over_the_window() -> None:
    """Pacing counts event-loop seconds (a broker clock's date may jump when it syncs)."""

    async def main() -> None:
        clock = SimClock(T0)
        pacer = Pacer(clock, max_messages=3)
        loop = asyncio.get_running_loop()
        assert pacer.try_take(2)
        assert not pacer.try_take(2)
        started = loop.time()
        await pacer.take(2)  # waits one window: one loop second
        assert 1.0 <= loop.time() - started <= 1.01
        assert pacer.in_window == 2
        pacer.note(5)  # cancels go out at once, over the limit if need be
        assert pacer.in_window == 7

    run_virtual(main())
