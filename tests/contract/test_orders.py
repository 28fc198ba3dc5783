"""Broker contract, orders: a FOK iron-condor entry that fills (executions, commissions,
positions), one that cannot fill, a rejection, the OCA stop pair (cancel one; a gap fills
one and cancels its sibling), cancels that cannot apply, and what a new session finds."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from condordesk.broker.base import (
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
)
from condordesk.domain.combo import closing_legs, stop_orders
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderReport,
    OrderStatus,
    OrderType,
    parse_order_ref,
)
from condordesk.errors import NotConnected, OrderRejected
from tests.contract.conftest import Venue
from tests.contract.helpers import (
    ENTRY_REF,
    STOP_LIMIT_REF,
    STOP_MARKET_REF,
    entry_at_market,
    filled_condor,
    settled,
    signed_leg_sum,
    stop_pair,
)
from tests.support.gateway import IbErrors
from tests.support.sim import MONDAY
from tests.support.waiting import Recorder, eventually

NOT_FINAL = (OrderStatus.PENDING, OrderStatus.WORKING)


async def test_a_marketable_fok_condor_fills_every_leg(venue: Venue, recorder: Recorder) -> None:
    broker = venue.broker
    condor, request = await entry_at_market(broker)
    first = await broker.place_order(request)
    assert first.status in (*NOT_FINAL, OrderStatus.FILLED)  # ids assigned, not refused
    assert first.order_ref == ENTRY_REF and first.perm_id > 0
    final = await settled(recorder, first.order_id)
    assert (final.status, final.filled, final.remaining) == (OrderStatus.FILLED, 1, 0)
    await eventually(lambda: len(recorder.of(CommissionReceived)) == 4)

    executions = [e.execution for e in recorder.of(ExecutionReceived)]
    assert len({e.exec_id for e in executions}) == 4
    sides = {leg.contract: leg.action for leg in request.legs}
    assert {e.contract: e.side for e in executions} == sides
    assert {(e.order_id, e.perm_id, e.order_ref, e.quantity) for e in executions} == {
        (first.order_id, first.perm_id, ENTRY_REF, 1)
    }
    prices = {e.contract: e.price for e in executions}
    assert all(p >= 0 for p in prices.values())
    commissions = {c.report.exec_id: c.report for c in recorder.of(CommissionReceived)}
    assert set(commissions) == {e.exec_id for e in executions}
    assert all(c.commission > 0 and c.currency == "USD" for c in commissions.values())

    status = await broker.order_status(first.order_id)
    assert status is not None
    assert (status.status, status.perm_id, status.order_ref) == (
        OrderStatus.FILLED,
        first.perm_id,
        ENTRY_REF,
    )
    assert status.request == request
    assert status.avg_fill_price == signed_leg_sum(prices, request.legs)  # legs add up
    assert request.limit_price is not None and status.avg_fill_price <= request.limit_price

    held = {p.contract: p for p in await broker.positions()}
    assert {c: p.quantity for c, p in held.items()} == {
        c: condor.position_sign(c) for c in condor.contracts
    }
    assert {c: p.avg_cost for c, p in held.items()} == prices
    reported = await broker.executions()
    assert {e.exec_id: (e.contract, e.price) for e, _ in reported} == {
        e.exec_id: (e.contract, e.price) for e in executions
    }
    assert {e.exec_id: c for e, c in reported} == commissions
    exchange = {e.exec_id: e for e, _ in await venue.exchange.executions()}
    assert set(exchange) == set(commissions)
    for e in executions:  # as the exchange recorded them (IB numbers orders per client)
        truth = exchange[e.exec_id]
        assert (e.perm_id, e.order_ref, e.contract, e.side, e.price) == (
            truth.perm_id,
            truth.order_ref,
            truth.contract,
            truth.side,
            truth.price,
        )
        assert abs((e.ts - truth.ts).total_seconds()) < 1.0  # IB: whole seconds
    assert await broker.open_orders() == []
    assert await broker.order_status(first.order_id + 4242) is None


async def test_a_fok_that_cannot_fill_is_cancelled_and_leaves_nothing(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    _, request = await entry_at_market(broker, extra_credit=Decimal("3.00"))
    first = await broker.place_order(request)
    assert first.status in (*NOT_FINAL, OrderStatus.CANCELLED)
    final = await settled(recorder, first.order_id)
    assert (final.status, final.filled, final.order_ref) == (OrderStatus.CANCELLED, 0, ENTRY_REF)
    assert final.reason != ""
    status = await broker.order_status(first.order_id)
    assert status is not None and status.status is OrderStatus.CANCELLED
    assert recorder.of(ExecutionReceived) == []
    assert await broker.positions() == []
    assert await broker.executions() == []
    assert await broker.open_orders() == []


async def test_a_rejected_order_raises_with_the_reason_and_is_reported(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    _, request = await entry_at_market(broker, ref="cd:c2:entry")
    venue.exchange.reject_next("margin too low")
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(request)
    assert (info.value.order_ref, info.value.code) == ("cd:c2:entry", 201)
    assert "margin too low" in info.value.reason
    await eventually(lambda: any(e.report.status.is_done for e in recorder.of(OrderUpdated)))
    (rejected,) = [e.report for e in recorder.of(OrderUpdated) if e.report.status.is_done]
    assert (rejected.status, rejected.order_ref) == (OrderStatus.REJECTED, "cd:c2:entry")
    assert "margin too low" in rejected.reason
    status = await broker.order_status(rejected.order_id)
    assert status is not None and status.status is OrderStatus.REJECTED
    assert await broker.positions() == []
    assert await broker.open_orders() == []
    # the rejection was one order's fate, not the session's
    again = await broker.place_order(request)
    assert (await settled(recorder, again.order_id)).status is OrderStatus.FILLED


async def test_the_oca_stop_pair_works_and_cancelling_one_leaves_the_other(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder)
    primary, backup = await stop_pair(
        broker,
        condor,
        trigger_over=Decimal("3.00"),
        limit_over=Decimal("0.50"),
        backup_over=Decimal("1.00"),
    )
    r1 = await broker.place_order(primary)
    r2 = await broker.place_order(backup)
    assert r1.status in NOT_FINAL and r2.status in NOT_FINAL
    assert (r1.order_ref, r2.order_ref) == (STOP_LIMIT_REF, STOP_MARKET_REF)
    assert len({r1.order_id, r2.order_id}) == 2 and len({r1.perm_id, r2.perm_id}) == 2
    listed = await broker.open_orders()
    assert sorted(o.order_ref for o in listed) == [STOP_LIMIT_REF, STOP_MARKET_REF]
    working = {o.order_ref: o for o in listed}
    assert {ref: o.status for ref, o in working.items()} == {
        STOP_LIMIT_REF: OrderStatus.WORKING,
        STOP_MARKET_REF: OrderStatus.WORKING,
    }
    assert working[STOP_LIMIT_REF].request == primary
    assert working[STOP_MARKET_REF].request == backup
    assert working[STOP_LIMIT_REF].perm_id == r1.perm_id

    await broker.cancel_order(r1.order_id)
    cancelled = await settled(recorder, r1.order_id)
    assert (cancelled.status, cancelled.filled) == (OrderStatus.CANCELLED, 0)
    assert [o.order_ref for o in await broker.open_orders()] == [STOP_MARKET_REF]
    sibling = await broker.order_status(r2.order_id)
    assert sibling is not None and sibling.status is OrderStatus.WORKING
    assert len(await broker.positions()) == 4  # the condor is still held
    assert len(recorder.of(ExecutionReceived)) == 4  # the entry's only


async def test_a_gap_fills_one_stop_and_cancels_its_oca_sibling(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder, distance=25)
    primary, backup = await stop_pair(
        broker,
        condor,
        trigger_over=Decimal("0.50"),
        limit_over=Decimal("0.20"),
        backup_over=Decimal("0.30"),
    )
    r1 = await broker.place_order(primary)
    r2 = await broker.place_order(backup)
    spot = await venue.exchange.underlying_price()
    venue.exchange.gap(-float(spot - condor.short_put) - 3)  # through the short put
    market, limit = await settled(recorder, r2.order_id), await settled(recorder, r1.order_id)
    # past its limit the stop-limit cannot fill: the stop-market backup does
    assert (market.status, market.filled, market.order_ref) == (
        OrderStatus.FILLED,
        1,
        STOP_MARKET_REF,
    )
    assert (limit.status, limit.filled) == (OrderStatus.CANCELLED, 0)
    await eventually(lambda: len(recorder.of(CommissionReceived)) == 8)
    stop_fills = [
        e.execution for e in recorder.of(ExecutionReceived) if e.execution.order_id == r2.order_id
    ]
    assert {e.order_ref for e in stop_fills} == {STOP_MARKET_REF}
    legs = closing_legs(condor)
    assert {e.contract: e.side for e in stop_fills} == {leg.contract: leg.action for leg in legs}
    status = await broker.order_status(r2.order_id)
    assert status is not None and status.request is not None and status.avg_fill_price
    # the backup is a stop-limit capped at the wing width: within it, it fills like a market
    assert status.request.order_type is OrderType.STOP_LIMIT
    assert status.request.limit_price == condor.max_value
    assert status.avg_fill_price == signed_leg_sum({e.contract: e.price for e in stop_fills}, legs)
    assert status.avg_fill_price <= condor.max_value
    assert await broker.positions() == []
    assert await broker.open_orders() == []
    assert len(await broker.executions()) == 8


async def test_cancels_that_cannot_apply_are_broker_messages(
    venue: Venue, recorder: Recorder, ib_log: IbErrors
) -> None:
    ib_log.allow("cancelOrder: Unknown orderId")  # ib_async's own note, before IB's 10147
    broker = venue.broker
    _, request = await entry_at_market(broker)
    entry = await broker.place_order(request)
    assert (await settled(recorder, entry.order_id)).status is OrderStatus.FILLED
    await broker.cancel_order(entry.order_id)
    unknown = entry.order_id + 4242
    await broker.cancel_order(unknown)
    await eventually(lambda: {m.code for m in recorder.of(BrokerMessage)} >= {161, 10147})
    codes = {(m.code, m.order_id) for m in recorder.of(BrokerMessage)}
    assert (161, entry.order_id) in codes
    assert any(code == 10147 for code, _ in codes)
    status = await broker.order_status(entry.order_id)
    assert status is not None and status.status is OrderStatus.FILLED
    assert len(await broker.positions()) == 4


async def test_a_new_session_recognises_its_orders_and_fills_by_ref(
    venue: Venue, recorder: Recorder
) -> None:
    condor = await filled_condor(venue.broker, recorder)
    primary, backup = await stop_pair(
        venue.broker,
        condor,
        trigger_over=Decimal("3.00"),
        limit_over=Decimal("0.50"),
        backup_over=Decimal("1.00"),
    )
    placed: dict[str, OrderReport] = {}
    for req in (primary, backup):
        placed[req.order_ref] = await venue.broker.place_order(req)
    before = await venue.broker.executions()

    async with venue.reconnected() as broker:
        fresh = Recorder(broker.events())
        try:
            listed = await broker.open_orders()
            assert sorted(o.order_ref for o in listed) == [STOP_LIMIT_REF, STOP_MARKET_REF]
            working = {o.order_ref: o for o in listed}
            assert working[STOP_LIMIT_REF].request == primary
            assert working[STOP_MARKET_REF].request == backup
            assert {ref: o.perm_id for ref, o in working.items()} == {
                ref: r.perm_id for ref, r in placed.items()
            }
            assert {parse_order_ref(ref) for ref in working} == {
                ("c1", role, 1) for role in ("stop-limit", "stop-market")
            }
            after = await broker.executions()
            assert {e.exec_id for e, _ in after} == {e.exec_id for e, _ in before}
            assert {e.order_ref for e, _ in after} == {ENTRY_REF}
            assert all(c is not None and c.commission > 0 for _, c in after)
            assert {p.contract: p.quantity for p in await broker.positions()} == {
                c: condor.position_sign(c) for c in condor.contracts
            }
            # the new session can manage what the old one left working
            order_id = working[STOP_LIMIT_REF].order_id
            await broker.cancel_order(order_id)
            assert (await settled(fresh, order_id)).status is OrderStatus.CANCELLED
            assert [o.order_ref for o in await broker.open_orders()] == [STOP_MARKET_REF]
        finally:
            await fresh.stop()


async def stops_fill_while_the_link_is_down(venue: Venue, recorder: Recorder) -> OrderReport:
    """Open a condor with its stops, lose the link, gap through the short put (the
    stop-market fills at the exchange meanwhile), restore the link; the stop's report."""
    broker = venue.broker
    condor = await filled_condor(broker, recorder, distance=25)
    primary, backup = await stop_pair(
        broker,
        condor,
        trigger_over=Decimal("0.50"),
        limit_over=Decimal("0.20"),
        backup_over=Decimal("0.30"),
    )
    await broker.place_order(primary)
    stop = await broker.place_order(backup)
    through_the_put = -float(await venue.exchange.underlying_price() - condor.short_put) - 3
    venue.exchange.drop_connection()
    await eventually(lambda: any(not e.connected for e in recorder.of(ConnectionChanged)))
    assert not broker.connected
    with pytest.raises(NotConnected):
        await broker.positions()
    venue.exchange.gap(through_the_put)
    venue.exchange.restore_connection()
    await eventually(lambda: len(recorder.of(ConnectionChanged)) == 2)
    assert broker.connected
    return stop


async def test_a_lost_link_refuses_calls_and_what_happened_meanwhile_is_learnt_by_asking(
    venue: Venue, recorder: Recorder
) -> None:
    await stops_fill_while_the_link_is_down(venue, recorder)
    assert [e.connected for e in recorder.of(ConnectionChanged)] == [False, True]
    broker = venue.broker
    assert await broker.positions() == []
    assert await broker.open_orders() == []
    done = await broker.executions()
    assert len(done) == 8
    assert {e.order_ref for e, _ in done} == {ENTRY_REF, STOP_MARKET_REF}
    assert all(c is not None for _, c in done)


async def test_after_a_lost_link_order_status_tells_what_happened_meanwhile(
    venue: Venue, recorder: Recorder
) -> None:
    stop = await stops_fill_while_the_link_is_down(venue, recorder)
    status = await venue.broker.order_status(stop.order_id)
    assert status is not None
    assert (status.status, status.filled) == (OrderStatus.FILLED, 1)


async def test_orders_and_trades_of_other_clients_are_seen_and_can_be_managed(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    condor, _ = await entry_at_market(broker)
    _, backup = stop_orders(
        condor,
        trigger=Decimal("9.00"),
        limit=Decimal("9.50"),
        backup_trigger=Decimal("10.00"),
        limit_ref="cd:c9:stop-limit",
        market_ref="cd:c9:stop-market",
        oca_group="",
    )
    elsewhere = await venue.exchange.place_order(backup)  # TWS, or another API client
    (seen,) = await broker.open_orders()
    assert (seen.order_ref, seen.perm_id, seen.status) == (
        "cd:c9:stop-market",
        elsewhere.perm_id,
        OrderStatus.WORKING,
    )
    assert seen.request == backup
    await broker.cancel_order(seen.order_id)
    assert (await settled(recorder, seen.order_id)).status is OrderStatus.CANCELLED
    assert await broker.open_orders() == []

    # a trade by hand in TWS: learnt by asking (over IB no live event comes for a trade
    # without an order of this session; ib_async drops it)
    wing = condor.contracts[0]
    (by_hand,) = venue.exchange.trade_by_hand(wing, OrderAction.BUY, 2)
    assert [(p.contract, p.quantity) for p in await broker.positions()] == [(wing, 2)]
    ((heard, commission),) = await broker.executions()
    assert (heard.exec_id, heard.order_ref, heard.contract, heard.side, heard.quantity) == (
        by_hand.exec_id,
        "",
        wing,
        OrderAction.BUY,
        2,
    )
    assert commission is not None and commission.commission > 0


REFUSALS = {
    "the exchange says no": (201, "margin too low"),
    "a leg that is not listed": (200, "1234.5"),
    "a price off the 0.05 combo tick": (110, "0.05"),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_orders_the_exchange_cannot_take_are_rejected_with_its_code(
    venue: Venue, recorder: Recorder, refusal: str
) -> None:
    _, request = await entry_at_market(venue.broker, ref="cd:c3:entry")
    if refusal == "the exchange says no":
        venue.exchange.reject_next("margin too low")
    elif refusal == "a leg that is not listed":
        bogus = OptionContract(MONDAY, Decimal("1234.5"), Right.PUT)
        legs = (ComboLeg(bogus, OrderAction.BUY), *request.legs[1:])
        request = replace(request, legs=legs)
    else:
        assert request.limit_price is not None
        request = replace(request, limit_price=request.limit_price - Decimal("0.03"))
    code, text = REFUSALS[refusal]
    with pytest.raises(OrderRejected) as info:
        await venue.broker.place_order(request)
    assert (info.value.order_ref, info.value.code) == ("cd:c3:entry", code)
    assert text in info.value.reason
    assert await venue.broker.open_orders() == []
    assert await venue.broker.positions() == []


async def test_a_stop_limit_triggered_beyond_its_limit_keeps_working_and_is_listed_once(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder, distance=25)
    primary, _ = await stop_pair(
        broker,
        condor,
        trigger_over=Decimal("0.50"),
        limit_over=Decimal("0.20"),
        backup_over=Decimal("0.30"),
    )
    stop = await broker.place_order(primary)
    spot = await venue.exchange.underlying_price()
    venue.exchange.gap(-float(spot - condor.short_put) - 3)  # triggers; the limit is too low
    working = await broker.open_orders()  # asked while the trigger is being reported
    assert [(o.order_id, o.status, o.filled) for o in working] == [
        (stop.order_id, OrderStatus.WORKING, 0)
    ]
    status = await broker.order_status(stop.order_id)
    assert status is not None and status.status is OrderStatus.WORKING
    assert len(await broker.positions()) == 4  # still held: the stop did not fill
