"""IB API clients nobody here wrote, each used the way its own users write programs, against
the loopback gateway: ib_insync 0.9.86 (agrees v176; its blocking API on its own event loop
in a thread) and the official ibapi 9.81.1 (agrees v157; EClient/EWrapper with its reader
thread). Each connects, streams the chain with greeks, trades a BAG FOK, places an OCA stop
pair, sees its open orders and its fills with commissions after a reconnect, cancels the
pair, with zero decoder errors."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ib_insync
import pytest
from ibapi.client import EClient
from ibapi.contract import ComboLeg as ApiComboLeg
from ibapi.contract import Contract as ApiContract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order as ApiOrder
from ibapi.wrapper import EWrapper

from condordesk.domain.options import OptionContract
from condordesk.gateway import Gateway
from condordesk.gateway.contracts import INDEX_CONID, option_conid
from tests.gateway.conftest import MONDAY, TIMEOUT
from tests.gateway.test_orders import _condor, _natural
from tests.support.waiting import eventually

ACTIONS = ("BUY", "SELL", "SELL", "BUY")  # long put, short put, short call, long call
CLOSING = ("SELL", "BUY", "BUY", "SELL")
API_CLIENT = 31
ROUNDS = 400  # bounded waits: at most this many update rounds


@dataclass
class Plan:
    """What the client trades (worked out on the test's loop from the simulator)."""

    legs: list[OptionContract]
    limit: float  # marketable BUY limit of the opening bag (a credit: negative)


@dataclass
class Seen:
    """What the client saw."""

    version: int = 0
    expiries: list[str] = field(default_factory=list)
    greeks: int = 0  # options with model greeks
    fok_status: str = ""
    fok_fills: int = 0
    commissions: int = 0
    stops_working: int = 0
    open_after_reconnect: set[str] = field(default_factory=set)
    fills_after_reconnect: int = 0
    commissions_after_reconnect: int = 0
    cancelled: int = 0
    errors: list[tuple[int, int, str]] = field(default_factory=list)


async def _plan(gateway: Gateway) -> Plan:
    legs = await _condor(gateway)
    return Plan(legs, await _natural(gateway, legs, closing=False))


@pytest.fixture
def decoder_log() -> Iterator[list[str]]:
    """Every ERROR the clients' decoders log (a message they could not decode)."""
    records: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    loggers = [logging.getLogger(n) for n in ("ib_insync.Decoder", "ib_insync.client", "ibapi")]
    for lg in loggers:
        lg.addHandler(handler)
    yield records
    for lg in loggers:
        lg.removeHandler(handler)


# -- ib_insync ----------------------------------------------------------------------------------


def _until(ib: ib_insync.IB, done: Callable[[], bool]) -> bool:
    for _ in range(ROUNDS):
        if done():
            return True
        ib.waitOnUpdate(timeout=0.25)
    return done()


def _insync_bag(plan: Plan, actions: tuple[str, ...]) -> ib_insync.Contract:
    legs = [
        ib_insync.ComboLeg(conId=option_conid(c), ratio=1, action=a, exchange="SMART")
        for c, a in zip(plan.legs, actions, strict=True)
    ]
    return ib_insync.Contract(
        secType="BAG", symbol="SPX", currency="USD", exchange="SMART", comboLegs=legs
    )


def _insync_chain(ib: ib_insync.IB, plan: Plan, seen: Seen) -> None:
    chains = ib.reqSecDefOptParams("SPX", "", "IND", INDEX_CONID)
    seen.expiries = sorted({e for c in chains for e in c.expirations})
    expiry = f"{MONDAY:%Y%m%d}"
    options = [
        ib_insync.Option(
            "SPX", expiry, float(c.strike), c.right.value, "SMART", tradingClass="SPXW"
        )
        for c in plan.legs
    ]
    ib.qualifyContracts(*options)
    tickers = [ib.reqMktData(o) for o in options]
    _until(ib, lambda: all(t.modelGreeks is not None for t in tickers))
    seen.greeks = sum(t.modelGreeks is not None for t in tickers)
    for o in options:
        ib.cancelMktData(o)


def _insync_trade(ib: ib_insync.IB, plan: Plan, seen: Seen) -> list[ib_insync.Trade]:
    order = ib_insync.LimitOrder("BUY", 1, plan.limit, tif="FOK", orderRef="cd:i:entry")
    trade = ib.placeOrder(_insync_bag(plan, ACTIONS), order)
    _until(
        ib,
        lambda: (
            trade.isDone()
            and len(trade.fills) == 4
            and all(f.commissionReport.execId for f in trade.fills)
        ),
    )
    seen.fok_status = trade.orderStatus.status
    seen.fok_fills = len(trade.fills)
    seen.commissions = sum(f.commissionReport.commission > 0 for f in trade.fills)
    closing = _insync_bag(plan, CLOSING)
    stops = [
        ib.placeOrder(
            closing,
            ib_insync.StopOrder(
                "BUY", 1, trigger, tif="DAY", ocaGroup="cd:i:oca", ocaType=1, orderRef=ref
            ),
        )
        for trigger, ref in ((6.0, "cd:i:stop-a"), (6.5, "cd:i:stop-b"))
    ]
    _until(ib, lambda: all(s.isActive() and s.order.permId for s in stops))
    seen.stops_working = sum(s.isActive() for s in stops)
    return stops


def _insync_rehearsal(port: int, plan: Plan) -> Seen:
    seen = Seen()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ib = ib_insync.IB()
    ib.errorEvent += lambda req_id, code, text, _c: seen.errors.append((req_id, code, text))
    try:
        ib.connect("127.0.0.1", port, clientId=21, timeout=TIMEOUT)
        seen.version = ib.client.serverVersion()
        _insync_chain(ib, plan, seen)
        _insync_trade(ib, plan, seen)
        ib.disconnect()
        ib.connect("127.0.0.1", port, clientId=21, timeout=TIMEOUT)
        seen.open_after_reconnect = {t.order.orderRef for t in ib.openTrades()}
        fills = [f for f in ib.fills() if f.execution.orderRef == "cd:i:entry"]
        seen.fills_after_reconnect = len(fills)
        seen.commissions_after_reconnect = sum(f.commissionReport.commission > 0 for f in fills)
        stops = list(ib.openTrades())
        for t in stops:
            ib.cancelOrder(t.order)
        _until(ib, lambda: all(t.orderStatus.status == "Cancelled" for t in stops))
        seen.cancelled = sum(t.orderStatus.status == "Cancelled" for t in stops)
    finally:
        ib.disconnect()
        loop.run_until_complete(asyncio.sleep(0))  # one turn: the closed transport lets go
        loop.close()
        asyncio.set_event_loop(None)
    return seen


async def test_ib_insync_rehearses_the_whole_path(gateway: Gateway, decoder_log: list[str]) -> None:
    plan = await _plan(gateway)
    seen = await asyncio.to_thread(_insync_rehearsal, gateway.port, plan)
    assert seen.version == 176
    assert f"{MONDAY:%Y%m%d}" in seen.expiries
    assert seen.greeks == 4
    assert (seen.fok_status, seen.fok_fills, seen.commissions) == ("Filled", 4, 4)
    assert seen.stops_working == 2
    assert seen.open_after_reconnect == {"cd:i:stop-a", "cd:i:stop-b"}
    assert (seen.fills_after_reconnect, seen.commissions_after_reconnect) == (4, 4)
    assert seen.cancelled == 2
    assert decoder_log == []


# -- ibapi ----------------------------------------------------------------------------------------


class _App(EWrapper, EClient):  # type: ignore[misc]
    """An ibapi program as its users write one: callbacks fill in what was seen."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.cv = threading.Condition()
        self.next_id = 0
        self.errors: list[tuple[int, int, str]] = []
        self.expiries: set[str] = set()
        self.chain_done = False
        self.details: dict[int, int] = {}  # reqId -> conId
        self.greeks: set[int] = set()
        self.status: dict[int, str] = {}
        self.refs: dict[int, str] = {}  # orderId -> orderRef from openOrder
        self.open_done = False
        self.execs: dict[str, str] = {}  # execId -> orderRef
        self.commissions: dict[str, float] = {}
        self.execs_done = False

    def wait(self, done: Callable[[], bool]) -> bool:
        with self.cv:
            return self.cv.wait_for(done, timeout=TIMEOUT)

    def _note(self, update: Callable[[], Any]) -> None:
        with self.cv:
            update()
            self.cv.notify_all()

    def nextValidId(self, orderId: int) -> None:
        self._note(lambda: setattr(self, "next_id", orderId))

    def error(self, reqId: int, errorCode: int, errorString: str) -> None:
        self._note(lambda: self.errors.append((reqId, errorCode, errorString)))

    def securityDefinitionOptionParameter(self, reqId: int, *args: Any) -> None:
        self._note(lambda: self.expiries.update(args[4]))

    def securityDefinitionOptionParameterEnd(self, reqId: int) -> None:
        self._note(lambda: setattr(self, "chain_done", True))

    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self._note(lambda: self.details.__setitem__(reqId, contractDetails.contract.conId))

    def tickOptionComputation(self, reqId: int, tickType: int, *args: Any) -> None:
        if tickType == 13:
            self._note(lambda: self.greeks.add(reqId))

    def orderStatus(self, orderId: int, status: str, *args: Any) -> None:
        self._note(lambda: self.status.__setitem__(orderId, status))

    def openOrder(self, orderId: int, contract: Any, order: Any, state: Any) -> None:
        def update() -> None:
            self.refs[orderId] = order.orderRef
            self.status[orderId] = state.status

        self._note(update)

    def openOrderEnd(self) -> None:
        self._note(lambda: setattr(self, "open_done", True))

    def execDetails(self, reqId: int, contract: Any, execution: Any) -> None:
        self._note(lambda: self.execs.__setitem__(execution.execId, execution.orderRef))

    def execDetailsEnd(self, reqId: int) -> None:
        self._note(lambda: setattr(self, "execs_done", True))

    def commissionReport(self, commissionReport: Any) -> None:
        report = commissionReport
        self._note(lambda: self.commissions.__setitem__(report.execId, report.commission))


def _api_start(port: int) -> tuple[_App, threading.Thread]:
    app = _App()
    app.connect("127.0.0.1", port, clientId=API_CLIENT)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    assert app.wait(lambda: app.next_id > 0)
    return app, thread


def _api_stop(app: _App, thread: threading.Thread) -> None:
    app.disconnect()
    thread.join(TIMEOUT)


def _api_option(c: OptionContract) -> ApiContract:
    o = ApiContract()
    o.symbol, o.secType, o.exchange, o.currency = "SPX", "OPT", "SMART", "USD"
    o.lastTradeDateOrContractMonth = f"{c.expiry:%Y%m%d}"
    o.strike, o.right, o.multiplier, o.tradingClass = float(c.strike), c.right.value, "100", "SPXW"
    return o


def _api_bag(con_ids: list[int], actions: tuple[str, ...]) -> ApiContract:
    bag = ApiContract()
    bag.symbol, bag.secType, bag.currency, bag.exchange = "SPX", "BAG", "USD", "SMART"
    bag.comboLegs = []
    for con_id, action in zip(con_ids, actions, strict=True):
        leg = ApiComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, 1, action, "SMART"
        bag.comboLegs.append(leg)
    return bag


def _api_order(order_type: str, price: float, tif: str, ref: str, oca: str = "") -> ApiOrder:
    order = ApiOrder()
    order.action, order.totalQuantity, order.orderType, order.tif = "BUY", 1, order_type, tif
    if order_type == "LMT":
        order.lmtPrice = price
    else:
        order.auxPrice = price
    order.orderRef, order.ocaGroup, order.ocaType = ref, oca, 1 if oca else 0
    return order


def _api_chain(app: _App, plan: Plan, seen: Seen) -> list[int]:
    app.reqSecDefOptParams(1, "SPX", "", "IND", INDEX_CONID)
    app.wait(lambda: app.chain_done)
    seen.expiries = sorted(app.expiries)
    for n, c in enumerate(plan.legs):
        app.reqContractDetails(10 + n, _api_option(c))
    app.wait(lambda: len(app.details) == 4)
    con_ids = [app.details[10 + n] for n in range(4)]
    for n, c in enumerate(plan.legs):
        app.reqMktData(20 + n, _api_option(c), "", False, False, [])
    app.wait(lambda: len(app.greeks) == 4)
    seen.greeks = len(app.greeks)
    for n in range(4):
        app.cancelMktData(20 + n)
    return con_ids


def _api_trade(app: _App, plan: Plan, con_ids: list[int], seen: Seen) -> None:
    entry = app.next_id
    app.placeOrder(entry, _api_bag(con_ids, ACTIONS), _api_order("LMT", plan.limit, "FOK", "e"))
    app.wait(lambda: len(app.commissions) == 4 and app.status.get(entry) == "Filled")
    seen.fok_status, seen.fok_fills = app.status.get(entry, ""), len(app.execs)
    seen.commissions = sum(c > 0 for c in app.commissions.values())
    closing = _api_bag(con_ids, CLOSING)
    for n, trigger in enumerate((6.0, 6.5)):
        app.placeOrder(entry + 1 + n, closing, _api_order("STP", trigger, "DAY", f"s{n}", "oca"))
    working = ("PreSubmitted", "Submitted")
    app.wait(lambda: all(app.status.get(entry + 1 + n) in working for n in range(2)))
    seen.stops_working = sum(app.status.get(entry + 1 + n) in working for n in range(2))


def _api_first(port: int, plan: Plan) -> Seen:
    seen = Seen()
    app, thread = _api_start(port)
    try:
        seen.version = app.serverVersion()
        con_ids = _api_chain(app, plan, seen)
        _api_trade(app, plan, con_ids, seen)
    finally:
        seen.errors += app.errors
        _api_stop(app, thread)
    return seen


def _api_reconnected(port: int, seen: Seen) -> None:
    app, thread = _api_start(port)
    try:
        app.reqOpenOrders()
        app.reqExecutions(2, ExecutionFilter())
        app.wait(lambda: app.open_done and app.execs_done and len(app.commissions) == 4)
        seen.open_after_reconnect = set(app.refs.values())
        seen.fills_after_reconnect = sum(ref == "e" for ref in app.execs.values())
        seen.commissions_after_reconnect = sum(c > 0 for c in app.commissions.values())
        for order_id in list(app.refs):
            app.cancelOrder(order_id)
        app.wait(lambda: all(app.status.get(i) == "Cancelled" for i in app.refs))
        seen.cancelled = sum(app.status.get(i) == "Cancelled" for i in app.refs)
    finally:
        seen.errors += app.errors
        _api_stop(app, thread)


async def test_ibapi_rehearses_the_whole_path(gateway: Gateway, decoder_log: list[str]) -> None:
    plan = await _plan(gateway)
    seen = await asyncio.to_thread(_api_first, gateway.port, plan)
    await eventually(lambda: gateway.session_for(API_CLIENT) is None)  # else 326, as on TWS
    await asyncio.to_thread(_api_reconnected, gateway.port, seen)
    assert seen.version == 157
    assert f"{MONDAY:%Y%m%d}" in seen.expiries
    assert seen.greeks == 4
    assert (seen.fok_status, seen.fok_fills, seen.commissions) == ("Filled", 4, 4)
    assert seen.stops_working == 2
    assert seen.open_after_reconnect == {"s0", "s1"}
    assert (seen.fills_after_reconnect, seen.commissions_after_reconnect) == (4, 4)
    assert seen.cancelled == 2
    bad = [e for e in seen.errors if e[1] not in (202, 2104, 2106, 2158)]
    assert bad == []
    assert decoder_log == []
