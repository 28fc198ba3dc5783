"""Pure translation tables and functions of the IB adapter."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from ib_async import (
    CommissionReport,
    Contract,
    Execution,
    Fill,
    Option,
    OptionComputation,
    Order,
    OrderStatus,
    Position,
    Trade,
    TradeLogEntry,
)
from ib_async.util import UNSET_DOUBLE

from condordesk.broker.ib import translate
from condordesk.domain.combo import stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderRequest,
    OrderType,
    TimeInForce,
)
from condordesk.domain.orders import OrderStatus as Status

DAY = date(2026, 11, 27)
TS = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def opt(strike: int, right: Right) -> OptionContract:
    return OptionContract(DAY, Decimal(strike), right)


LEGS = (
    ComboLeg(opt(5900, Right.PUT), OrderAction.BUY),
    ComboLeg(opt(5950, Right.PUT), OrderAction.SELL),
    ComboLeg(opt(6100, Right.CALL), OrderAction.SELL),
    ComboLeg(opt(6150, Right.CALL), OrderAction.BUY),
)
CON_IDS = {leg.contract: 1000 + i for i, leg in enumerate(LEGS)}


def ib_opt(strike: float, right: str, con_id: int = 0, tc: str = "SPXW") -> Contract:
    return Option("SPX", "20261127", strike, right, "SMART", tradingClass=tc, conId=con_id)


@pytest.mark.parametrize(
    ("ib", "expected"),
    [
        ("PendingSubmit", Status.PENDING),
        ("ApiPending", Status.PENDING),
        ("PreSubmitted", Status.WORKING),
        ("Submitted", Status.WORKING),
        ("PendingCancel", Status.WORKING),
        ("Filled", Status.FILLED),
        ("Cancelled", Status.CANCELLED),
        ("ApiCancelled", Status.CANCELLED),
        ("Inactive", Status.REJECTED),
        ("SomethingNew", Status.PENDING),
    ],
)
def test_order_status_table(ib: str, expected: Status) -> None:
    assert translate.order_status(ib) is expected


def test_cancel_by_rejection_code_is_rejected() -> None:
    assert translate.order_status("Cancelled", 201) is Status.REJECTED
    assert translate.order_status("Cancelled", 202) is Status.CANCELLED


def test_enum_tables_round_trip() -> None:
    for order_type in OrderType:
        assert translate.IB_ORDER_TYPES[translate.ORDER_TYPES[order_type]] is order_type
    for tif in TimeInForce:
        assert translate.IB_TIFS[translate.TIFS[tif]] is tif
    for action in OrderAction:
        assert translate.IB_ACTIONS[translate.ACTIONS[action]] is action
    assert translate.IB_ACTIONS["BOT"] is OrderAction.BUY
    assert translate.IB_ACTIONS["SLD"] is OrderAction.SELL
    assert translate.ORDER_TYPES[OrderType.STOP_LIMIT] == "STP LMT"


def test_prices() -> None:
    assert translate.price_or_none(1.2000000001) == Decimal("1.20")
    assert translate.price_or_none(-1.35) == Decimal("-1.35")
    assert translate.price_or_none(math.nan) is None
    assert translate.price_or_none(UNSET_DOUBLE) is None
    assert translate.price_or_none(None) is None
    assert translate.quote_side(-1.0) is None
    assert translate.quote_side(0.0) == Decimal("0.00")
    assert translate.quote_side(0.05) == Decimal("0.05")


def test_strikes_and_expiries() -> None:
    assert translate.strike(5000.0) == Decimal(5000)
    assert str(translate.strike(5000.0)) == "5000"
    assert str(translate.strike(5002.5)) == "5002.5"
    assert translate.expiry_text(DAY) == "20261127"
    assert translate.parse_expiry("20261127") == DAY
    assert translate.parse_expiry("20261127 16:00 US/Eastern") == DAY
    assert translate.parse_expiry("202611") is None


def test_option_round_trip() -> None:
    for leg in LEGS:
        ib = translate.ib_option(leg.contract)
        assert ib.tradingClass == "SPXW"
        assert ib.exchange == "SMART"
        assert ib.secType == "OPT"
        assert translate.option_contract(ib) == leg.contract
        assert translate.option_contract(ib).symbol == leg.contract.symbol  # type: ignore[union-attr]


def test_option_contract_rejects_others() -> None:
    assert translate.option_contract(Contract(secType="BAG", symbol="SPX")) is None
    assert translate.option_contract(ib_opt(5000, "P", tc="SPX")) is None
    assert translate.option_contract(Contract(secType="IND", symbol="SPX")) is None
    assert translate.option_contract(ib_opt(5000, "X")) is None


def test_bag_and_order_for_an_entry() -> None:
    request = OrderRequest(
        order_ref="cd:c1:entry",
        legs=LEGS,
        action=OrderAction.BUY,
        order_type=OrderType.LIMIT,
        quantity=2,
        tif=TimeInForce.FOK,
        limit_price=Decimal("-1.50"),
    )
    bag = translate.bag_contract([(CON_IDS[leg.contract], leg) for leg in LEGS])
    assert (bag.secType, bag.symbol, bag.exchange, bag.currency) == ("BAG", "SPX", "SMART", "USD")
    assert [(c.conId, c.ratio, c.action, c.exchange) for c in bag.comboLegs] == [
        (1000, 1, "BUY", "SMART"),
        (1001, 1, "SELL", "SMART"),
        (1002, 1, "SELL", "SMART"),
        (1003, 1, "BUY", "SMART"),
    ]
    order = translate.ib_order(request, "DU1")
    assert (order.action, order.totalQuantity, order.orderType, order.tif) == (
        "BUY",
        2.0,
        "LMT",
        "FOK",
    )
    assert order.lmtPrice == -1.5
    assert order.orderRef == "cd:c1:entry"
    assert order.account == "DU1"
    assert order.transmit is True
    assert order.ocaGroup == ""
    by_con_id = {v: k for k, v in CON_IDS.items()}
    assert translate.request_from_ib(bag, order, by_con_id) == request


def test_stop_orders_carry_oca_and_aux_price() -> None:
    closing = tuple(ComboLeg(leg.contract, leg.action.opposite()) for leg in LEGS)
    request = OrderRequest(
        order_ref="cd:c1:stop-limit",
        legs=closing,
        action=OrderAction.BUY,
        order_type=OrderType.STOP_LIMIT,
        quantity=1,
        tif=TimeInForce.DAY,
        limit_price=Decimal("3.50"),
        stop_price=Decimal("3.00"),
        oca_group="cd:c1:oca",
    )
    order = translate.ib_order(request, "DU1")
    assert (order.orderType, order.lmtPrice, order.auxPrice) == ("STP LMT", 3.5, 3.0)
    assert (order.ocaGroup, order.ocaType) == ("cd:c1:oca", 1)
    bag = translate.bag_contract([(CON_IDS[leg.contract], leg) for leg in closing])
    by_con_id = {v: k for k, v in CON_IDS.items()}
    assert translate.request_from_ib(bag, order, by_con_id) == request
    stop = OrderRequest(
        order_ref="cd:c1:stop-market",
        legs=closing,
        action=OrderAction.BUY,
        order_type=OrderType.STOP,
        quantity=1,
        tif=TimeInForce.DAY,
        stop_price=Decimal("4.00"),
        oca_group="cd:c1:oca",
    )
    order = translate.ib_order(stop, "DU1")
    assert order.orderType == "STP"
    assert order.lmtPrice == UNSET_DOUBLE  # ib_async's "unset"
    assert translate.request_from_ib(bag, order, by_con_id) == stop


def test_the_backup_stop_goes_to_ib_as_a_stop_limit_at_the_wing_width() -> None:
    condor = IronCondor(DAY, Decimal(5900), Decimal(5950), Decimal(6100), Decimal(6150))
    _, backup = stop_orders(
        condor,
        trigger=Decimal("3.00"),
        limit=Decimal("3.50"),
        backup_trigger=Decimal("3.30"),
        limit_ref="cd:c1:stop-limit",
        market_ref="cd:c1:stop-market",
        oca_group="cd:c1:oca",
    )

    order = translate.ib_order(backup, "DU1")

    # triggered at 3.30, it buys the condor back at any price up to its 50-point width
    assert (order.orderType, order.auxPrice, order.lmtPrice) == ("STP LMT", 3.3, 50.0)
    assert (order.ocaGroup, order.ocaType, order.orderRef) == ("cd:c1:oca", 1, "cd:c1:stop-market")
    bag = translate.bag_contract([(CON_IDS[leg.contract], leg) for leg in backup.legs])
    by_con_id = {v: k for k, v in CON_IDS.items()}
    assert translate.request_from_ib(bag, order, by_con_id) == backup


def test_request_from_ib_needs_known_legs() -> None:
    bag = translate.bag_contract([(CON_IDS[leg.contract], leg) for leg in LEGS])
    order = Order(action="BUY", totalQuantity=1, orderType="LMT", lmtPrice=-1.0, tif="DAY")
    assert translate.request_from_ib(bag, order, {}) is None
    assert translate.request_from_ib(ib_opt(5000, "P"), order, {}) is None


def _trade(status: str, *, filled: float = 0, log: list[TradeLogEntry] | None = None) -> Trade:
    order = Order(orderId=7, permId=99, action="BUY", totalQuantity=2, orderRef="cd:c1:entry")
    return Trade(
        contract=Contract(secType="BAG", symbol="SPX"),
        order=order,
        orderStatus=OrderStatus(
            orderId=7, status=status, filled=filled, remaining=2 - filled, avgFillPrice=-1.45
        ),
        fills=[],
        log=log or [],
    )


def test_order_report_of_a_fill() -> None:
    report = translate.order_report(_trade("Filled", filled=2), None, TS)
    assert (report.order_id, report.perm_id, report.order_ref) == (7, 99, "cd:c1:entry")
    assert (report.status, report.filled, report.remaining) == (Status.FILLED, 2, 0)
    assert report.avg_fill_price == Decimal("-1.45")
    assert report.ts == TS


def test_order_report_of_a_rejection() -> None:
    log = [TradeLogEntry(TS, "Cancelled", "Error 201, reqId 7: Order rejected - margin", 201)]
    report = translate.order_report(_trade("Cancelled", log=log), None, TS)
    assert report.status is Status.REJECTED
    assert report.avg_fill_price is None
    assert "margin" in report.reason
    assert translate.last_error(_trade("Cancelled", log=log))[0] == 201


def _fill(contract: Contract, side: str = "SLD", exec_id: str = "e1") -> Fill:
    execution = Execution(
        execId=exec_id,
        time=TS,
        acctNumber="DU1",
        side=side,
        shares=2.0,
        price=2.35,
        permId=99,
        orderId=7,
        orderRef="cd:c1:entry",
    )
    return Fill(contract, execution, CommissionReport(), TS)


def test_leg_execution() -> None:
    e = translate.execution(_fill(ib_opt(5950.0, "P", 1001)), TS)
    assert e is not None
    assert (e.exec_id, e.order_id, e.perm_id, e.order_ref) == ("e1", 7, 99, "cd:c1:entry")
    assert e.contract == opt(5950, Right.PUT)
    assert (e.side, e.quantity, e.price, e.ts) == (OrderAction.SELL, 2, Decimal("2.35"), TS)


def test_bag_execution_is_skipped() -> None:
    assert translate.execution(_fill(Contract(secType="BAG", symbol="SPX"), "BOT"), TS) is None


def test_commission() -> None:
    report = translate.commission(CommissionReport("e1", 1.3212, "USD"))
    assert report is not None
    assert (report.exec_id, report.commission, report.currency) == ("e1", Decimal("1.32"), "USD")
    assert translate.commission(CommissionReport()) is None
    assert translate.commission(CommissionReport("e1", UNSET_DOUBLE, "USD")) is None


def test_position_in_points() -> None:
    contract = ib_opt(5950.0, "P", 1001)
    contract.multiplier = "100"
    pos = translate.position(Position("DU1", contract, -2.0, 235.0))
    assert pos is not None
    assert (pos.contract, pos.quantity, pos.avg_cost) == (opt(5950, Right.PUT), -2, Decimal("2.35"))
    assert translate.position(Position("DU1", contract, 0.0, 0.0)) is None
    index = Contract(secType="IND", symbol="SPX")
    assert translate.position(Position("DU1", index, 1.0, 1.0)) is None


def test_greeks() -> None:
    comp = OptionComputation(0, 0.18, -0.1, 1.2, 0.0, 0.002, 0.3, -1.5, 6000.0)
    g = translate.greeks(comp)
    assert g is not None
    assert (g.delta, g.gamma, g.theta, g.vega, g.iv) == (-0.1, 0.002, -1.5, 0.3, 0.18)
    assert translate.greeks(None) is None
    assert translate.greeks(OptionComputation(0, None, None, None, None, None, 0, 0, None)) is None
    assert translate.greeks(OptionComputation(0, math.nan, 0.1, 1, 0, 0.1, 0.1, 0.1, 1)) is None


def test_utc_fallback() -> None:
    assert translate.utc(None, TS) == TS
    assert translate.utc(datetime(1970, 1, 1, tzinfo=UTC), TS) == TS
    naive = datetime(2026, 11, 27, 10, 0)  # noqa: DTZ001 - what a broken feed could send
    assert translate.utc(naive, TS) == TS
