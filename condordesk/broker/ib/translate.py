"""Translation between condordesk's domain types and ib_async's: tables and pure functions.

The only module of the adapter that knows IB's strings (order types, statuses, sides) and
float conventions (NaN / ``UNSET_DOUBLE`` for "no value"). Prices become ``Decimal`` here,
through :func:`condordesk.domain.prices.to_decimal`; greeks stay floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from ib_async import ComboLeg as IBComboLeg
from ib_async import CommissionReport as IBCommissionReport
from ib_async import Contract, Fill, Option, OptionComputation, Order, Trade
from ib_async import Position as IBPosition
from ib_async.util import UNSET_DOUBLE

from condordesk.broker.ib.errors import ORDER_REJECTED
from condordesk.domain.options import Greeks, OptionContract, Right
from condordesk.domain.orders import (
    ComboLeg,
    CommissionReport,
    Execution,
    OrderAction,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from condordesk.domain.prices import MULTIPLIER, to_decimal

SYMBOL = "SPX"
TRADING_CLASS = "SPXW"
ROUTE = "SMART"
INDEX_EXCHANGE = "CBOE"
CURRENCY = "USD"
CHAIN_EXCHANGES = frozenset({"SMART", "CBOE"})
OCA_CANCEL_WITH_BLOCK = 1

ORDER_TYPES: Mapping[OrderType, str] = {
    OrderType.LIMIT: "LMT",
    OrderType.STOP: "STP",
    OrderType.STOP_LIMIT: "STP LMT",
}
IB_ORDER_TYPES: Mapping[str, OrderType] = {v: k for k, v in ORDER_TYPES.items()}

TIFS: Mapping[TimeInForce, str] = {t: t.value for t in TimeInForce}
IB_TIFS: Mapping[str, TimeInForce] = {v: k for k, v in TIFS.items()}

ACTIONS: Mapping[OrderAction, str] = {OrderAction.BUY: "BUY", OrderAction.SELL: "SELL"}
IB_ACTIONS: Mapping[str, OrderAction] = {
    "BUY": OrderAction.BUY,
    "SELL": OrderAction.SELL,
    "BOT": OrderAction.BUY,  # execution sides
    "SLD": OrderAction.SELL,
}

RIGHTS: Mapping[Right, str] = {Right.PUT: "P", Right.CALL: "C"}
IB_RIGHTS: Mapping[str, Right] = {
    "P": Right.PUT,
    "PUT": Right.PUT,
    "C": Right.CALL,
    "CALL": Right.CALL,
}

ORDER_STATUSES: Mapping[str, OrderStatus] = {
    "PendingSubmit": OrderStatus.PENDING,
    "ApiPending": OrderStatus.PENDING,
    "PreSubmitted": OrderStatus.WORKING,
    "Submitted": OrderStatus.WORKING,
    "PendingCancel": OrderStatus.WORKING,
    "ApiUpdate": OrderStatus.WORKING,
    "ValidationError": OrderStatus.WORKING,  # a warning: ib_async says the order is still live
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "ApiCancelled": OrderStatus.CANCELLED,
    "Inactive": OrderStatus.REJECTED,
}


# -- scalars --------------------------------------------------------------------------------


def price_or_none(value: float | Decimal | None) -> Decimal | None:
    """A Decimal price from an IB float; None for NaN, infinities, ``UNSET_DOUBLE`` or None."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number == UNSET_DOUBLE:
        return None
    return to_decimal(number)


def quote_side(value: float | None) -> Decimal | None:
    """A bid or ask: None when the side is empty (IB sends -1); a 0.00 bid is a price
    (nobody pays anything for a far out-of-the-money wing) and marks still need it."""
    result = price_or_none(value)
    return result if result is not None and result >= 0 else None


def strike(value: float) -> Decimal:
    """A strike as a Decimal: ``5000.0`` -> ``Decimal('5000')``, ``5002.5`` -> ``'5002.5'``."""
    result = to_decimal(value)
    if result == result.to_integral_value():
        return result.quantize(Decimal(1))
    return result.normalize()


def expiry_text(day: date) -> str:
    """IB's ``lastTradeDateOrContractMonth`` form of an expiry: ``YYYYMMDD``."""
    return f"{day:%Y%m%d}"


def parse_expiry(text: str) -> date | None:
    """The date of an IB expiry string (``YYYYMMDD``, maybe followed by a time), or None."""
    digits = text.strip()[:8]
    if len(digits) != 8 or not digits.isdigit():
        return None
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def utc(ts: datetime | None, fallback: datetime) -> datetime:
    """``ts`` as aware UTC; ``fallback`` when missing or naive-epoch."""
    if ts is None or ts.tzinfo is None or ts.year < 2000:
        return fallback
    return ts.astimezone(UTC)


# -- contracts ------------------------------------------------------------------------------


def ib_option(contract: OptionContract) -> Option:
    """The (unqualified) ib_async Option for an SPXW contract."""
    return Option(
        SYMBOL,
        expiry_text(contract.expiry),
        float(contract.strike),
        RIGHTS[contract.right],
        ROUTE,
        tradingClass=TRADING_CLASS,
        currency=CURRENCY,
    )


def option_contract(contract: Contract) -> OptionContract | None:
    """The SPXW OptionContract of an IB contract, or None for anything else (BAG, index...)."""
    if contract.secType != "OPT" or contract.symbol != SYMBOL:
        return None
    if contract.tradingClass not in (TRADING_CLASS, ""):
        return None
    expiry = parse_expiry(contract.lastTradeDateOrContractMonth)
    right = IB_RIGHTS.get(contract.right)
    if expiry is None or right is None:
        return None
    return OptionContract(expiry, strike(contract.strike), right)


def bag_contract(legs: Sequence[tuple[int, ComboLeg]]) -> Contract:
    """The BAG of ``(conId, leg)`` pairs, every leg routed SMART."""
    return Contract(
        secType="BAG",
        symbol=SYMBOL,
        exchange=ROUTE,
        currency=CURRENCY,
        comboLegs=[
            IBComboLeg(conId=con_id, ratio=leg.ratio, action=ACTIONS[leg.action], exchange=ROUTE)
            for con_id, leg in legs
        ],
    )


def ib_order(request: OrderRequest, account: str) -> Order:
    """The ib_async Order for ``request`` (prices as floats, OCA type 1 when grouped)."""
    order = Order(
        action=ACTIONS[request.action],
        totalQuantity=float(request.quantity),
        orderType=ORDER_TYPES[request.order_type],
        tif=TIFS[request.tif],
        orderRef=request.order_ref,
        account=account,
        transmit=True,
    )
    if request.limit_price is not None:
        order.lmtPrice = float(request.limit_price)
    if request.stop_price is not None:
        order.auxPrice = float(request.stop_price)
    if request.oca_group:
        order.ocaGroup = request.oca_group
        order.ocaType = OCA_CANCEL_WITH_BLOCK
    return order


def request_from_ib(
    contract: Contract, order: Order, by_con_id: Mapping[int, OptionContract]
) -> OrderRequest | None:
    """Rebuild the OrderRequest of a BAG order; None if a leg is unknown or not SPXW."""
    if contract.secType != "BAG" or not contract.comboLegs:
        return None
    legs: list[ComboLeg] = []
    for leg in contract.comboLegs:
        option = by_con_id.get(leg.conId)
        action = IB_ACTIONS.get(leg.action)
        if option is None or action is None:
            return None
        legs.append(ComboLeg(option, action, int(leg.ratio)))
    order_type = IB_ORDER_TYPES.get(order.orderType)
    action = IB_ACTIONS.get(order.action)
    if order_type is None or action is None:
        return None
    return OrderRequest(
        order_ref=order.orderRef or "",
        legs=tuple(legs),
        action=action,
        order_type=order_type,
        quantity=int(order.totalQuantity),
        tif=IB_TIFS.get(order.tif, TimeInForce.DAY),
        limit_price=price_or_none(order.lmtPrice) if order_type is not OrderType.STOP else None,
        stop_price=price_or_none(order.auxPrice) if order_type is not OrderType.LIMIT else None,
        oca_group=order.ocaGroup or "",
    )


# -- orders ---------------------------------------------------------------------------------


def order_status(ib_status: str, error_code: int = 0) -> OrderStatus:
    """Normalise an IB status; a cancel caused by a rejection code is REJECTED."""
    status = ORDER_STATUSES.get(ib_status, OrderStatus.PENDING)
    if status is OrderStatus.CANCELLED and error_code in ORDER_REJECTED:
        return OrderStatus.REJECTED
    return status


MODIFY_MARK = "Modify"
"""The message ib_async logs on a trade when ``placeOrder`` modifies it."""


def undo_refused_modify(trade: Trade) -> bool:
    """Put back the status ib_async invents when IB refuses a modification.

    ib_async marks the trade ``Cancelled`` on error 104 (the order filled or was cancelled
    meanwhile) and ``ValidationError`` on a warning (e.g. 110, off-tick price), though the
    order is unchanged at the broker: its real fill or cancel arrives from IB on its own.
    True if the latest log entry was such a mark (and the status is restored)."""
    log = trade.log
    if len(log) < 2 or not log[-1].errorCode or log[-2].message != MODIFY_MARK:
        return False
    if trade.orderStatus.status not in ("Cancelled", "ValidationError"):
        return False
    trade.orderStatus.status = log[-2].status
    return True


def modify_answer(trade: Trade, mark: int, sent: Order) -> tuple[bool, int, str]:
    """IB's answer to the modification ``sent``, logged before ``mark``: (answered, error
    code, text). An error logged after the mark refuses it; IB's openOrder echoing the new
    prices (ib_async copies them onto the trade's order), a status logged after the mark or
    the order's end answers it."""
    for entry in trade.log[mark:]:
        if entry.errorCode:
            return True, int(entry.errorCode), str(entry.message)
    echoed = trade.order.auxPrice == sent.auxPrice and trade.order.lmtPrice == sent.lmtPrice
    return echoed or len(trade.log) > mark or trade.isDone(), 0, ""


def last_error(trade: Trade) -> tuple[int, str]:
    """The latest error code and message in a trade's log, or ``(0, "")``."""
    for entry in reversed(trade.log):
        if entry.errorCode:
            return int(entry.errorCode), str(entry.message)
    return 0, ""


def order_report(trade: Trade, request: OrderRequest | None, ts: datetime) -> OrderReport:
    """The OrderReport of an ib_async Trade."""
    status = trade.orderStatus
    code, message = last_error(trade)
    normalised = order_status(status.status, code)
    filled = int(status.filled)
    total = int(trade.order.totalQuantity)
    avg = price_or_none(status.avgFillPrice) if filled else None
    return OrderReport(
        order_id=int(trade.order.orderId),
        perm_id=int(status.permId or trade.order.permId or 0),
        order_ref=trade.order.orderRef or "",
        status=normalised,
        filled=filled,
        remaining=max(total - filled, 0),
        avg_fill_price=avg,
        request=request,
        reason=message if normalised in (OrderStatus.REJECTED, OrderStatus.CANCELLED) else "",
        ts=ts,
    )


# -- fills, commissions, positions, greeks ------------------------------------------------


def execution(fill: Fill, fallback_ts: datetime) -> Execution | None:
    """A leg Execution from an ib_async Fill; None for the BAG-level (or non-SPXW) one."""
    option = option_contract(fill.contract)
    side = IB_ACTIONS.get(fill.execution.side)
    if option is None or side is None:
        return None
    ex = fill.execution
    return Execution(
        exec_id=ex.execId,
        order_id=int(ex.orderId),
        perm_id=int(ex.permId),
        order_ref=ex.orderRef or "",
        contract=option,
        side=side,
        quantity=int(ex.shares),
        price=to_decimal(ex.price),
        ts=utc(ex.time, fallback_ts),
    )


def commission(report: IBCommissionReport) -> CommissionReport | None:
    """A CommissionReport; None while IB has not reported one (empty exec id or unset)."""
    if not report.execId or not math.isfinite(report.commission):
        return None
    if report.commission == UNSET_DOUBLE:
        return None
    return CommissionReport(
        exec_id=report.execId,
        commission=to_decimal(report.commission),
        currency=report.currency or "USD",
    )


def position(pos: IBPosition) -> Position | None:
    """An SPXW option Position (avg cost in option points); None for others and flat ones."""
    option = option_contract(pos.contract)
    quantity = int(pos.position)
    if option is None or quantity == 0:
        return None
    multiplier = Decimal(pos.contract.multiplier) if pos.contract.multiplier else MULTIPLIER
    avg = price_or_none(pos.avgCost)
    return Position(
        contract=option,
        quantity=quantity,
        avg_cost=Decimal(0) if avg is None else to_decimal(float(abs(avg) / multiplier)),
    )


def greeks(comp: OptionComputation | None) -> Greeks | None:
    """Greeks from IB's model computation; None when missing or any value is unavailable."""
    if comp is None:
        return None
    values = (comp.delta, comp.gamma, comp.theta, comp.vega, comp.impliedVol)
    if any(v is None for v in values):
        return None
    result = Greeks(
        delta=float(comp.delta or 0.0),
        gamma=float(comp.gamma or 0.0),
        theta=float(comp.theta or 0.0),
        vega=float(comp.vega or 0.0),
        iv=float(comp.impliedVol or 0.0),
    )
    return result if result.is_finite() else None
