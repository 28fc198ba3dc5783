"""Broker contract, modifications: a working stop pair is modified in place (same ids, same
OCA group), a filled or cancelled order cannot be modified (104), an off-tick price is refused
and leaves the order as it was, and a stop modified through the market fires once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from condordesk.broker.base import ExecutionReceived
from condordesk.domain.orders import OrderReport, OrderStatus
from condordesk.errors import OrderRejected
from tests.contract.conftest import Venue
from tests.contract.helpers import (
    OCA_GROUP,
    STOP_LIMIT_REF,
    STOP_MARKET_REF,
    entry_at_market,
    filled_condor,
    settled,
    stop_pair,
)
from tests.support.waiting import Recorder, eventually

FAR = {
    "trigger_over": Decimal("3.00"),
    "limit_over": Decimal("0.50"),
    "backup_over": Decimal("1.00"),
}


def _working(listed: list[OrderReport]) -> dict[str, OrderReport]:
    return {o.order_ref: o for o in listed if o.status is OrderStatus.WORKING}


async def test_a_working_stop_pair_is_modified_in_place(venue: Venue, recorder: Recorder) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder)
    primary, backup = await stop_pair(broker, condor, **FAR)
    r1, r2 = await broker.place_order(primary), await broker.place_order(backup)
    assert primary.stop_price is not None and backup.stop_price is not None
    up = Decimal("0.50")
    new_primary = replace(
        primary,
        stop_price=primary.stop_price + up,
        limit_price=(primary.limit_price or Decimal(0)) + up,
    )
    new_backup = replace(backup, stop_price=backup.stop_price + up)

    m1 = await broker.modify_order(r1.order_id, new_primary)
    m2 = await broker.modify_order(r2.order_id, new_backup)

    assert (m1.order_id, m1.perm_id, m1.order_ref) == (r1.order_id, r1.perm_id, STOP_LIMIT_REF)
    assert (m2.order_id, m2.perm_id, m2.order_ref) == (r2.order_id, r2.perm_id, STOP_MARKET_REF)
    listed = await broker.open_orders()
    assert len(listed) == 2  # modified, not added
    working = _working(listed)
    assert {ref: o.order_id for ref, o in working.items()} == {
        STOP_LIMIT_REF: r1.order_id,
        STOP_MARKET_REF: r2.order_id,
    }
    assert working[STOP_LIMIT_REF].request == new_primary
    assert working[STOP_MARKET_REF].request == new_backup
    assert {o.request.oca_group for o in working.values() if o.request} == {OCA_GROUP}
    # the exchange holds the same two orders at the new prices
    truth = {o.order_ref: o for o in await venue.exchange.open_orders()}
    assert truth[STOP_LIMIT_REF].request is not None
    assert truth[STOP_LIMIT_REF].request.stop_price == new_primary.stop_price
    assert len(await broker.positions()) == 4


async def test_a_filled_order_cannot_be_modified(venue: Venue, recorder: Recorder) -> None:
    broker = venue.broker
    _, request = await entry_at_market(broker)
    entry = await broker.place_order(request)
    assert (await settled(recorder, entry.order_id)).status is OrderStatus.FILLED
    assert request.limit_price is not None
    with pytest.raises(OrderRejected) as refused:
        await broker.modify_order(
            entry.order_id, replace(request, limit_price=request.limit_price + Decimal("0.05"))
        )
    assert refused.value.code == 104
    status = await broker.order_status(entry.order_id)
    assert status is not None and status.status is OrderStatus.FILLED
    assert len(await broker.positions()) == 4


async def test_a_cancelled_order_cannot_be_modified(venue: Venue, recorder: Recorder) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder)
    primary, backup = await stop_pair(broker, condor, **FAR)
    r1, r2 = await broker.place_order(primary), await broker.place_order(backup)
    await broker.cancel_order(r1.order_id)
    assert (await settled(recorder, r1.order_id)).status is OrderStatus.CANCELLED
    assert primary.stop_price is not None and primary.limit_price is not None
    moved = replace(
        primary,
        stop_price=primary.stop_price + Decimal("0.10"),
        limit_price=primary.limit_price + Decimal("0.10"),
    )
    with pytest.raises(OrderRejected) as refused:
        await broker.modify_order(r1.order_id, moved)
    assert refused.value.code == 104
    assert list(_working(await broker.open_orders())) == [STOP_MARKET_REF]
    status = await broker.order_status(r1.order_id)
    assert status is not None and status.status is OrderStatus.CANCELLED
    assert r2.order_id != r1.order_id


async def test_an_off_tick_modification_is_refused_and_the_order_keeps_working(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder)
    primary, backup = await stop_pair(broker, condor, **FAR)
    r1 = await broker.place_order(primary)
    await broker.place_order(backup)
    assert primary.stop_price is not None and primary.limit_price is not None
    off_tick = replace(
        primary,
        stop_price=primary.stop_price + Decimal("0.02"),
        limit_price=primary.limit_price + Decimal("0.02"),
    )
    with pytest.raises(OrderRejected) as refused:
        await broker.modify_order(r1.order_id, off_tick)
    assert refused.value.code == 110
    working = _working(await broker.open_orders())
    assert set(working) == {STOP_LIMIT_REF, STOP_MARKET_REF}
    assert working[STOP_LIMIT_REF].request == primary  # still at its old prices
    status = await broker.order_status(r1.order_id)
    assert status is not None and status.status is OrderStatus.WORKING


async def test_a_stop_modified_through_the_market_fires_once(
    venue: Venue, recorder: Recorder
) -> None:
    broker = venue.broker
    condor = await filled_condor(broker, recorder)
    primary, backup = await stop_pair(broker, condor, **FAR)
    r1, r2 = await broker.place_order(primary), await broker.place_order(backup)
    now_through = replace(backup, stop_price=Decimal("0.05"))  # far below the combo's mark

    await broker.modify_order(r2.order_id, now_through)

    market = await settled(recorder, r2.order_id)
    limit = await settled(recorder, r1.order_id)
    assert (market.status, market.filled) == (OrderStatus.FILLED, 1)
    assert limit.status is OrderStatus.CANCELLED  # its OCA sibling
    await eventually(lambda: len(recorder.of(ExecutionReceived)) >= 8)
    exits = [e for e in recorder.of(ExecutionReceived) if e.execution.order_id == r2.order_id]
    assert len({e.execution.exec_id for e in exits}) == 4  # one buy-back: four legs, once
    assert await broker.positions() == []
    assert await broker.open_orders() == []


async def test_positions_and_open_orders_asked_at_once_all_get_their_answer(
    venue: Venue, recorder: Recorder
) -> None:
    """Exit flows of two condors check the exit budget at the same moment: concurrent
    positions and open-orders requests each get the whole answer."""
    broker = venue.broker
    condor = await filled_condor(broker, recorder)
    primary, backup = await stop_pair(broker, condor, **FAR)
    await broker.place_order(primary)
    await broker.place_order(backup)
    answers = await asyncio.gather(
        *(broker.positions() for _ in range(3)), *(broker.open_orders() for _ in range(3))
    )
    positions, orders = answers[:3], answers[3:]
    assert all(len(p) == 4 for p in positions)
    assert all(
        sorted(o.order_ref for o in got) == [STOP_LIMIT_REF, STOP_MARKET_REF] for got in orders
    )
