"""IBBroker end to end: the real ib_async client against the loopback TWS gateway."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from condordesk.broker.base import (
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
)
from condordesk.broker.ib import IBBroker
from condordesk.domain.combo import entry_order, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, OptionQuote, Right
from condordesk.domain.orders import OrderReport, OrderStatus, OrderType
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.errors import BrokerError, NotConnected, OrderRejected
from tests.ib.conftest import (
    ACCOUNT,
    MONDAY,
    Recorder,
    condor_around,
    eventually,
    make_ib,
)


def natural_credit(quotes: dict[OptionContract, OptionQuote], condor: IronCondor) -> Decimal:
    """The credit of selling ``condor`` at the natural prices (a marketable FOK limit)."""
    price = Decimal(0)
    for leg in condor.short_legs():
        q = quotes[leg.contract]
        assert q.bid is not None and q.ask is not None
        price += q.ask if leg.action.value == "BUY" else -q.bid
    return round_to_tick(-price, COMBO_TICK, "down")


async def open_condor(broker: IBBroker, ref: str = "cd:c1:entry") -> tuple[IronCondor, OrderReport]:
    condor = condor_around(await broker.underlying_price())
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    report = await broker.place_order(entry_order(condor, natural_credit(quotes, condor), ref))
    return condor, report


# -- connection -----------------------------------------------------------------------------


async def test_connect_checks_the_account(gateway: Any) -> None:
    broker = make_ib(gateway.clock, gateway.port)
    events = broker.events()
    await broker.connect()
    try:
        assert broker.connected
        assert await broker.account() == ACCOUNT
        assert events.drain() == [ConnectionChanged(True, "connected")]
    finally:
        await broker.close()
    assert not broker.connected
    with pytest.raises(NotConnected):
        await broker.positions()


async def test_wrong_account_is_refused_naming_both(gateway: Any) -> None:
    broker = make_ib(gateway.clock, gateway.port, account="U999")
    with pytest.raises(BrokerError, match="U999") as info:
        await broker.connect()
    assert ACCOUNT in str(info.value)
    assert not broker.connected
    await broker.close()


async def test_unreachable_gateway_raises_not_connected(gateway: Any) -> None:
    broker = make_ib(gateway.clock, 1, connect_attempts=2)  # port 1: refused
    with pytest.raises(NotConnected, match="2 attempt"):
        await broker.connect()
    await broker.close()


# -- market data ----------------------------------------------------------------------------


async def test_strikes_and_quotes_with_greeks(broker: IBBroker) -> None:
    spot = await broker.underlying_price()
    assert Decimal(5000) < spot < Decimal(7000)
    strikes = await broker.option_strikes(MONDAY)
    assert strikes == sorted(strikes)
    assert strikes[0] < spot < strikes[-1]
    assert await broker.option_strikes(MONDAY.replace(day=1)) == []  # a Saturday
    condor = condor_around(spot)
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    assert set(quotes) == set(condor.contracts)
    for contract, quote in quotes.items():
        assert quote.contract == contract
        assert quote.bid is not None and quote.ask is not None
        assert Decimal(0) < quote.bid < quote.ask
        assert quote.greeks is not None and quote.greeks.is_finite()
        assert (quote.greeks.delta < 0) == (contract.right is Right.PUT)
        assert quote.greeks_ts is not None
    assert broker._md._budget.in_use == 0  # every line released


async def test_second_quote_is_fresh_not_the_reused_ticker(broker: IBBroker) -> None:
    condor = condor_around(await broker.underlying_price())
    first = await broker.option_quotes(condor.contracts, timeout=5.0)
    for ticker in broker._ib.tickers():  # ib_async hands these objects back on reqMktData
        ticker.bid, ticker.ask = 999.0, 999.5
    second = await broker.option_quotes(condor.contracts, timeout=5.0)
    assert set(second) == set(first)
    assert all(q.bid is not None and q.bid < 999 for q in second.values())
    assert all(q.ts > first[c].ts for c, q in second.items())


async def test_concurrent_requests_share_lines(gateway: Any, broker: IBBroker) -> None:
    condor = condor_around(await broker.underlying_price())
    one, two = await asyncio.gather(
        broker.option_quotes(condor.contracts, timeout=5.0),
        broker.option_quotes(condor.contracts[:2], timeout=5.0),
    )
    assert set(one) == set(condor.contracts)
    assert set(two) == set(condor.contracts[:2])
    assert broker._md.open_lines == 0
    assert broker._md._budget.in_use == 0
    assert not broker._ib.wrapper.ticker2ReqId["mktData"]  # ib_async holds no request
    await eventually(lambda: all(not s.md_lines for s in gateway.sessions()))


async def test_unknown_strike_is_missing_from_quotes(broker: IBBroker) -> None:
    listed = OptionContract(MONDAY, (await broker.option_strikes(MONDAY))[100], Right.CALL)
    bogus = OptionContract(MONDAY, Decimal("1234.5"), Right.CALL)
    quotes = await broker.option_quotes([listed, bogus], timeout=5.0)
    assert list(quotes) == [listed]


async def test_many_quotes_stay_within_the_line_budget(gateway: Any) -> None:
    gateway.max_lines = 10  # the gateway answers error 101 beyond this
    broker = make_ib(gateway.clock, gateway.port, max_lines=10, greeks_timeout_s=60.0)
    recorder = Recorder(broker.events())
    await broker.connect()
    try:
        strikes = await broker.option_strikes(MONDAY)
        mid = len(strikes) // 2
        contracts = [OptionContract(MONDAY, k, Right.PUT) for k in strikes[mid - 12 : mid + 13]]
        quotes = await broker.option_quotes(contracts, timeout=60.0)
        assert set(quotes) == set(contracts)
        assert all(q.greeks is not None for q in quotes.values())
        assert broker._md._budget.in_use == 0
        assert not [m for m in recorder.of(BrokerMessage) if m.code == 101]
    finally:
        await recorder.stop()
        await broker.close()


# -- orders ---------------------------------------------------------------------------------


async def test_fok_condor_fills_with_four_executions(broker: IBBroker, recorder: Recorder) -> None:
    condor, report = await open_condor(broker)
    assert report.status is OrderStatus.FILLED
    assert (report.filled, report.remaining, report.order_ref) == (1, 0, "cd:c1:entry")
    assert report.perm_id > 0
    assert report.avg_fill_price is not None and report.avg_fill_price < 0  # a credit
    assert report.request is not None and report.request.legs == condor.short_legs()
    await eventually(lambda: len(recorder.of(CommissionReceived)) == 4)
    executions = [e.execution for e in recorder.of(ExecutionReceived)]
    assert len(executions) == 4
    assert {e.contract for e in executions} == set(condor.contracts)
    assert all(e.order_ref == "cd:c1:entry" and e.perm_id == report.perm_id for e in executions)
    legs = {leg.contract: leg.action for leg in condor.short_legs()}
    assert all(legs[e.contract] is e.side for e in executions)
    assert {c.report.exec_id for c in recorder.of(CommissionReceived)} == {
        e.exec_id for e in executions
    }
    statuses = [e.report.status for e in recorder.of(OrderUpdated)]
    assert statuses[-1] is OrderStatus.FILLED
    positions = {p.contract: p.quantity for p in await broker.positions()}
    assert positions == {
        leg.contract: (1 if leg.action.value == "BUY" else -1) for leg in condor.short_legs()
    }
    replay = await broker.executions()
    assert {e.exec_id for e, _ in replay} == {e.exec_id for e in executions}
    assert all(c is not None and c.commission > 0 for _, c in replay)
    assert len(recorder.of(CommissionReceived)) == 4  # not re-emitted by reqExecutions
    status = await broker.order_status(report.order_id)
    assert status is not None
    assert (status.status, status.perm_id, status.request) == (
        OrderStatus.FILLED,
        report.perm_id,
        report.request,
    )
    assert await broker.order_status(424242) is None


async def test_oca_stop_pair_then_cancel(broker: IBBroker, recorder: Recorder) -> None:
    condor, entry = await open_condor(broker)
    assert entry.status is OrderStatus.FILLED
    primary, backup = stop_orders(
        condor,
        trigger=Decimal("8.00"),
        limit=Decimal("8.50"),
        backup_trigger=Decimal("9.00"),
        limit_ref="cd:c1:stop-limit",
        market_ref="cd:c1:stop-market",
        oca_group="cd:c1:oca",
    )
    r1 = await broker.place_order(primary)
    r2 = await broker.place_order(backup)
    assert r1.status is OrderStatus.WORKING and r2.status is OrderStatus.WORKING
    working = {o.order_ref: o for o in await broker.open_orders()}
    assert set(working) == {"cd:c1:stop-limit", "cd:c1:stop-market"}
    assert working["cd:c1:stop-limit"].request == primary
    assert working["cd:c1:stop-market"].request == backup
    sent = working["cd:c1:stop-market"].request  # as the gateway got it over the wire
    assert sent is not None and sent.order_type is OrderType.STOP_LIMIT
    assert sent.limit_price == condor.max_value  # the backup never pays above the wing width
    await broker.cancel_order(r1.order_id)
    await eventually(
        lambda: any(
            e.report.order_id == r1.order_id and e.report.status is OrderStatus.CANCELLED
            for e in recorder.of(OrderUpdated)
        )
    )
    assert [o.order_ref for o in await broker.open_orders()] == ["cd:c1:stop-market"]
    status = await broker.order_status(r1.order_id)
    assert status is not None and status.status is OrderStatus.CANCELLED


async def test_cancel_unknown_order_is_a_broker_message(
    broker: IBBroker, recorder: Recorder
) -> None:
    await broker.cancel_order(987654)
    await eventually(lambda: any(m.code == 10147 for m in recorder.of(BrokerMessage)))


async def test_rejection_raises_and_emits(
    gateway: Any, broker: IBBroker, recorder: Recorder
) -> None:
    gateway.faults.reject_next("margin too low")
    with pytest.raises(OrderRejected, match="margin too low") as info:
        await open_condor(broker, "cd:c2:entry")
    assert info.value.code == 201
    assert info.value.order_ref == "cd:c2:entry"
    rejected = [e for e in recorder.of(OrderUpdated) if e.report.status is OrderStatus.REJECTED]
    assert [e.report.order_ref for e in rejected] == ["cd:c2:entry"]
    assert await broker.positions() == []


# -- reconnects ---------------------------------------------------------------------------


async def test_executions_replayed_after_reconnect(gateway: Any) -> None:
    broker = make_ib(gateway.clock, gateway.port)
    await broker.connect()
    try:
        _, report = await open_condor(broker)
        assert report.status is OrderStatus.FILLED
        before = await broker.executions()
        await broker.disconnect()
        second = make_ib(gateway.clock, gateway.port)
        await second.connect()
        try:
            after = await second.executions()
            assert sorted(e.exec_id for e, _ in after) == sorted(e.exec_id for e, _ in before)
            assert all(c is not None for _, c in after)
            assert len(await second.positions()) == 4
        finally:
            await second.close()
    finally:
        await broker.close()


async def test_connectivity_codes(gateway: Any, broker: IBBroker, recorder: Recorder) -> None:
    gateway.faults.send_connectivity(1100)
    await eventually(lambda: not broker.connected)
    with pytest.raises(NotConnected, match="1100"):
        await broker.positions()
    gateway.faults.send_connectivity(1102)
    await eventually(lambda: broker.connected)
    changes = [(e.connected, e.reason[:7]) for e in recorder.of(ConnectionChanged)]
    assert changes == [(False, "IB 1100"), (True, "IB 1102")]


async def test_reconnects_after_the_socket_drops(
    gateway: Any, broker: IBBroker, recorder: Recorder
) -> None:
    gateway.faults.drop_socket()
    await eventually(lambda: any(not e.connected for e in recorder.of(ConnectionChanged)))
    await eventually(lambda: broker.connected)
    assert [e.connected for e in recorder.of(ConnectionChanged)] == [False, True]
    assert recorder.of(ConnectionChanged)[-1].reason == "reconnected"
    assert await broker.account() == ACCOUNT


async def test_fills_before_open_order_are_not_lost(
    gateway: Any, broker: IBBroker, recorder: Recorder
) -> None:
    gateway.faults.fills_before_open_order()
    _, report = await open_condor(broker, "cd:c3:entry")
    await eventually(lambda: len(recorder.of(CommissionReceived)) == 4)
    assert len(recorder.of(ExecutionReceived)) == 4
    await eventually(
        lambda: any(e.report.status is OrderStatus.FILLED for e in recorder.of(OrderUpdated))
    )
    status = await broker.order_status(report.order_id)
    assert status is not None and status.status is OrderStatus.FILLED


async def test_killed_fok_is_cancelled_not_rejected(
    gateway: Any, broker: IBBroker, recorder: Recorder
) -> None:
    gateway.faults.kill_next_fok()
    _, report = await open_condor(broker, "cd:c4:entry")
    await eventually(lambda: any(e.report.status.is_done for e in recorder.of(OrderUpdated)))
    final = [e.report for e in recorder.of(OrderUpdated) if e.report.status.is_done]
    assert [r.status for r in final] == [OrderStatus.CANCELLED]
    assert report.status in (OrderStatus.CANCELLED, OrderStatus.WORKING, OrderStatus.PENDING)
    assert recorder.of(ExecutionReceived) == []
    assert await broker.positions() == []
