"""The partial-fill fault seen through the real ib_async client: statuses, executions and
commission reports per piece, OCA siblings, cancels of a partly filled order, replays; and
no message ib_async cannot decode (the ``ib_errors`` fixture fails the test otherwise)."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal

import pytest
from ib_async import IB, ComboLeg, Contract, LimitOrder, Order, StopOrder, Trade

from condordesk.domain.options import OptionContract, Right
from condordesk.gateway import Gateway
from condordesk.gateway.__main__ import parse_args
from condordesk.gateway.contracts import option_conid
from tests.gateway.conftest import MONDAY, TIMEOUT, IbErrors, wait_for

LOTS = 2
OPENING = ["BUY", "SELL", "SELL", "BUY"]


async def _legs(gateway: Gateway, distance: int = 25) -> list[OptionContract]:
    spot = float(await gateway.broker.underlying_price())
    sp = math.floor((spot - distance) / 5) * 5
    sc = math.ceil((spot + distance) / 5) * 5
    return [
        OptionContract(MONDAY, Decimal(sp - 10), Right.PUT),
        OptionContract(MONDAY, Decimal(sp), Right.PUT),
        OptionContract(MONDAY, Decimal(sc), Right.CALL),
        OptionContract(MONDAY, Decimal(sc + 10), Right.CALL),
    ]


def _bag(legs: list[OptionContract], *, closing: bool) -> Contract:
    actions = [("SELL" if a == "BUY" else "BUY") if closing else a for a in OPENING]
    return Contract(
        secType="BAG",
        symbol="SPX",
        currency="USD",
        exchange="SMART",
        comboLegs=[
            ComboLeg(conId=option_conid(c), ratio=1, action=a, exchange="SMART")
            for c, a in zip(legs, actions, strict=True)
        ],
    )


async def _natural(gateway: Gateway, legs: list[OptionContract], *, closing: bool) -> float:
    """The price that buys the (closing) bag at once: the natural price plus a tick."""
    quotes = await gateway.broker.option_quotes(legs, timeout=0.0)
    price = Decimal(0)
    for c, action in zip(legs, OPENING, strict=True):
        buy = (action == "BUY") != closing
        q = quotes[c]
        assert q.bid is not None and q.ask is not None
        price += q.ask if buy else -q.bid
    return round(math.ceil(float(price) * 20 - 1e-9) / 20 + 0.05, 2)  # on the grid, no float dust


def _history(trade: Trade) -> list[tuple[str, float, float]]:
    """(status, filled, remaining) of every orderStatus change the client saw."""
    seen: list[tuple[str, float, float]] = []

    def note(t: Trade) -> None:
        s = t.orderStatus
        step = (s.status, s.filled, s.remaining)
        if not seen or seen[-1] != step:
            seen.append(step)

    trade.statusEvent += note
    return seen


async def _open(gateway: Gateway, ib: IB, legs: list[OptionContract]) -> Trade:
    """A 2-lot condor by FOK: it fills whole even while the fault is armed."""
    limit = await _natural(gateway, legs, closing=False)
    order = LimitOrder("BUY", LOTS, limit, tif="FOK", orderRef="cd:p:entry")
    trade = ib.placeOrder(_bag(legs, closing=False), order)
    await wait_for(ib, lambda: trade.isDone() and len(trade.fills) == 4)
    assert trade.orderStatus.status == "Filled"
    assert {f.execution.shares for f in trade.fills} == {LOTS}
    return trade


async def _close(gateway: Gateway, ib: IB, legs: list[OptionContract]) -> Trade:
    limit = await _natural(gateway, legs, closing=True)
    order = LimitOrder("BUY", LOTS, limit, tif="DAY", orderRef="cd:p:close")
    return ib.placeOrder(_bag(legs, closing=True), order)


async def test_a_close_in_two_pieces_reaches_the_client_piece_by_piece(
    gateway: Gateway, ib: IB
) -> None:
    legs = await _legs(gateway)
    gateway.faults.partial_fills(count=1, pieces=2)
    await _open(gateway, ib, legs)
    trade = await _close(gateway, ib, legs)
    history = _history(trade)
    await wait_for(ib, lambda: trade.isDone() and len(trade.fills) == 8)
    await wait_for(ib, lambda: all(f.commissionReport.execId for f in trade.fills))

    assert [h for h in history if h[0] != "PendingSubmit"] == [
        ("Submitted", 0.0, 2.0),
        ("Submitted", 1.0, 1.0),
        ("Filled", 2.0, 0.0),
    ]
    assert len({f.execution.execId for f in trade.fills}) == 8
    assert all(f.execution.shares == 1 for f in trade.fills)
    assert all(f.commissionReport.commission > 0 for f in trade.fills)
    pieces = sorted({f.execution.time for f in trade.fills})
    assert len(pieces) == 2  # two fills, one after the other
    last = [f for f in trade.fills if f.execution.time == pieces[1]]
    last_price = sum(f.execution.price * (1 if f.execution.side == "BOT" else -1) for f in last)
    assert trade.orderStatus.lastFillPrice == pytest.approx(last_price)
    signed = sum(f.execution.price * (1 if f.execution.side == "BOT" else -1) for f in trade.fills)
    assert trade.orderStatus.avgFillPrice == pytest.approx(signed / LOTS)
    positions = await asyncio.wait_for(ib.reqPositionsAsync(), TIMEOUT)
    assert all(p.position == 0 for p in positions)


async def test_a_partly_filled_close_cancelled_keeps_what_filled(gateway: Gateway, ib: IB) -> None:
    legs = await _legs(gateway)
    await _open(gateway, ib, legs)
    gateway.faults.partial_fills(count=1, pieces=2, interval_s=600)
    trade = await _close(gateway, ib, legs)
    await wait_for(ib, lambda: trade.orderStatus.filled == 1 and len(trade.fills) == 4)
    assert trade.isActive()
    assert trade.orderStatus.remaining == 1

    ib.cancelOrder(trade.order)
    await wait_for(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert trade.orderStatus.filled == 1
    assert any(e.errorCode == 202 for e in trade.log)
    positions = await asyncio.wait_for(ib.reqPositionsAsync(), TIMEOUT)
    held = {p.contract.conId: p.position for p in positions if p.position}
    signs = [1, -1, -1, 1]
    assert held == {option_conid(c): s * (LOTS - 1) for c, s in zip(legs, signs, strict=True)}


async def test_a_partly_filled_order_shows_its_fills_to_a_late_client(
    gateway: Gateway, ib: IB
) -> None:
    legs = await _legs(gateway)
    await _open(gateway, ib, legs)
    gateway.faults.partial_fills(count=1, pieces=2, interval_s=600)
    trade = await _close(gateway, ib, legs)
    await wait_for(ib, lambda: trade.orderStatus.filled == 1 and len(trade.fills) == 4)
    late = IB()
    try:
        await late.connectAsync("127.0.0.1", gateway.port, clientId=0, timeout=TIMEOUT)
        (working,) = await asyncio.wait_for(late.reqAllOpenOrdersAsync(), TIMEOUT)
        assert working.order.orderRef == "cd:p:close"
        assert (working.orderStatus.status, working.orderStatus.filled) == ("Submitted", 1.0)
        assert working.orderStatus.remaining == 1.0
        replayed = {f.execution.execId for f in late.fills()}
        assert {f.execution.execId for f in trade.fills} <= replayed
        assert len(replayed) == 8  # the entry's 4 and the first piece's 4
    finally:
        late.disconnect()
    ib.cancelOrder(trade.order)
    await wait_for(ib, lambda: trade.orderStatus.status == "Cancelled")


async def test_the_first_piece_of_a_stop_cancels_its_oca_sibling(
    gateway: Gateway, ib: IB, ib_errors: IbErrors
) -> None:
    legs = await _legs(gateway, distance=15)
    await _open(gateway, ib, legs)
    closing = _bag(legs, closing=True)
    trigger = round(await _natural(gateway, legs, closing=True) + 0.5, 1)
    primary = Order(
        action="BUY",
        totalQuantity=LOTS,
        orderType="STP LMT",
        auxPrice=trigger,
        lmtPrice=round(trigger + 0.2, 2),
        tif="DAY",
        ocaGroup="g1",
        ocaType=1,
        orderRef="cd:p:stop-limit",
    )
    backup = StopOrder(
        "BUY",
        LOTS,
        round(trigger + 0.3, 2),
        tif="DAY",
        ocaGroup="g1",
        ocaType=1,
        orderRef="cd:p:stop-market",
    )
    t1 = ib.placeOrder(closing, primary)
    t2 = ib.placeOrder(closing, backup)
    await wait_for(ib, lambda: t2.orderStatus.status == "PreSubmitted")
    gateway.faults.partial_fills(count=1, pieces=2)
    history = _history(t2)
    gateway.broker.gap(-40.0)  # through the short put and past the stop-limit's limit
    await wait_for(ib, lambda: t1.orderStatus.status == "Cancelled")
    assert t2.orderStatus.filled >= 1  # the stop-market's first piece cancelled the stop-limit
    await wait_for(ib, lambda: t2.orderStatus.status == "Filled" and len(t2.fills) == 8)
    assert ("Submitted", 1.0, 1.0) in history
    assert t1.fills == []
    positions = await asyncio.wait_for(ib.reqPositionsAsync(), TIMEOUT)
    assert all(p.position == 0 for p in positions)


def test_the_command_line_arms_the_fault() -> None:
    args = parse_args(["--partial-fills", "3", "--fill-pieces", "4", "--piece-interval", "30"])
    assert (args.partial_fills, args.fill_pieces, args.piece_interval) == (3, 4, 30.0)
    assert parse_args([]).partial_fills == 0
    for bad in (["--fill-pieces", "1"], ["--partial-fills", "-1"], ["--piece-interval", "-5"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
