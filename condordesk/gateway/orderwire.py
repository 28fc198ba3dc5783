"""Order messages on the wire: placeOrder parsing and openOrder/orderStatus/execDetails/
commissionReport/position encoding, field by field as ib_async 2.1.0 decodes them at v178."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from condordesk.domain.options import OptionContract
from condordesk.domain.orders import CommissionReport, Execution, OrderAction, Position
from condordesk.gateway.codec import Field, FieldReader
from condordesk.gateway.contracts import (
    EXCHANGE,
    MULTIPLIER,
    WireContract,
    bag_fields,
    option_conid,
    option_fields,
)
from condordesk.market.clock import ET

OPEN_ORDER = 5
ORDER_STATUS = 3
EXEC_DETAILS = 11
COMMISSION_REPORT = 59
POSITION = 61


@dataclass(frozen=True, slots=True)
class WireLeg:
    """One combo leg as the client sent it."""

    con_id: int
    ratio: int
    action: str
    exchange: str


@dataclass(slots=True)
class WireOrder:
    """The part of a placeOrder message the gateway uses."""

    order_id: int
    contract: WireContract
    action: str
    quantity: float
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    legs: list[WireLeg] = field(default_factory=list)
    oca_type: int = 0
    transmit: bool = True
    parent_id: int = 0
    what_if: bool = False


def _read_legs(r: FieldReader) -> list[WireLeg]:
    legs = []
    for _ in range(r.read_int()):
        legs.append(WireLeg(r.read_int(), r.read_int(1), r.read_str(), r.read_str()))
        r.skip(4)  # openClose, shortSaleSlot, designatedLocation, exemptCode
    r.skip(r.read_int())  # order combo leg prices
    r.skip(2 * r.read_int())  # smart combo routing params
    return legs


def _read_what_if(r: FieldReader) -> bool:
    """The rest of a placeOrder after ocaType, up to whatIf (the same from v157 to v178)."""
    r.skip(17)  # rule80A .. volatilityType
    if r.read_str():  # deltaNeutralOrderType: its aux price, then 8 more fields
        r.skip(8)
    r.skip(7)  # deltaNeutralAuxPrice continuousUpdate referencePriceType trailStopPrice
    # trailingPercent scaleInitLevelSize scaleSubsLevelSize
    increment = r.read_float()
    if increment is not None and increment > 0:
        r.skip(7)  # the scale price block
    r.skip(3)  # scaleTable activeStartTime activeStopTime
    if r.read_str():  # hedgeType, then hedgeParam
        r.skip()
    r.skip(4)  # optOutSmartRouting clearingAccount clearingIntent notHeld
    if r.read_bool():  # a delta-neutral contract
        r.skip(3)
    if r.read_str():  # algoStrategy, then its params
        r.skip(2 * r.read_int())
    r.skip()  # algoId
    return r.read_bool()


def parse_place_order(r: FieldReader, version: int = 178) -> WireOrder:
    """placeOrder (msg 3, no version field from v145) as a client sends it at ``version``
    (faProfile below v177); stops after whatIf."""
    order_id = r.read_int()
    contract = WireContract.read(r)
    r.skip(2)  # secIdType, secId
    action, quantity, order_type = r.read_str(), r.read_float() or 0.0, r.read_str()
    lmt, aux, tif, oca, account = (
        r.read_decimal(),
        r.read_decimal(),
        r.read_str(),
        r.read_str(),
        r.read_str(),
    )
    r.skip(2)  # openClose, origin
    ref = r.read_str()
    transmit = r.read_str() != "0"
    parent_id = r.read_int()
    r.skip(6)  # blockOrder sweepToFill displaySize triggerMethod rth hidden
    legs = _read_legs(r) if contract.sec_type == "BAG" else []
    r.skip(7)  # "" discretionaryAmt goodAfterTime goodTillDate faGroup faMethod faPercentage
    r.skip(5 if version < 177 else 4)  # [faProfile] modelCode shortSaleSlot designatedLocation
    # exemptCode
    oca_type = r.read_int() if r.remaining else 0
    what_if = _read_what_if(r) if r.remaining else False
    return WireOrder(
        order_id,
        contract,
        action,
        quantity,
        order_type,
        lmt,
        aux,
        tif,
        oca,
        account,
        ref,
        legs,
        oca_type,
        transmit,
        parent_id,
        what_if,
    )


@dataclass(slots=True)
class GwOrder:
    """An order the gateway knows: who placed it, and what to echo back in openOrder."""

    client_id: int
    order_id: int
    perm_id: int
    wire: WireOrder
    option: OptionContract | None  # a single-option order
    account: str
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_price: float = 0.0
    last_fill: float = 0.0  # price of the latest fill (a combo piece's BAG price)
    adopted: bool = False  # found working in the simulator, not placed through this gateway
    margin: tuple[Decimal, Decimal, Decimal] | None = None  # whatIf: init margin before,
    # change, after (maintenance the same; equity with loan unchanged)


def _contract_block(order: GwOrder) -> list[Field]:
    if order.option is not None:
        return option_fields(order.option)
    return bag_fields()


def _leg_block(order: GwOrder) -> list[Field]:
    out: list[Field] = [len(order.wire.legs)]
    for leg in order.wire.legs:
        out += [leg.con_id, leg.ratio, leg.action, leg.exchange or EXCHANGE, 0, 0, "", -1]
    return out


def _order_head(order: GwOrder) -> list[Field]:
    w = order.wire
    return [
        w.action,
        repr(float(w.quantity)),
        w.order_type,
        w.lmt_price,
        w.aux_price,
        w.tif,
        w.oca_group,
        order.account,
        "O",
        0,
        w.order_ref,
        order.client_id,
        order.perm_id,
        0,
        0,
        "0",
        "",
        "",  # sharesAllocation
        "",
        "",
        "",  # faGroup faMethod faPercentage (no faProfile at v177+)
    ]


_MIDDLE: list[Field] = [
    "",  # modelCode
    "",  # goodTillDate
    "",  # rule80A
    "",  # percentOffset
    "",  # settlingFirm
    0,  # shortSaleSlot
    "",  # designatedLocation
    -1,  # exemptCode
    0,  # auctionStrategy
    "",  # startingPrice
    "",  # stockRefPrice
    "",  # delta
    "",  # stockRangeLower
    "",  # stockRangeUpper
    "",  # displaySize
    0,  # blockOrder
    0,  # sweepToFill
    0,  # allOrNone
    "",  # minQty
]


def _middle(order: GwOrder) -> list[Field]:
    tail: list[Field] = [
        order.wire.oca_type,
        0,  # eTradeOnly
        0,  # firmQuoteOnly
        "",  # nbboPriceCap
        0,  # parentId
        0,  # triggerMethod
        "",  # volatility
        0,  # volatilityType
        "",  # deltaNeutralOrderType (empty: no delta-neutral block)
        "",  # deltaNeutralAuxPrice
        0,  # continuousUpdate
        0,  # referencePriceType
        "",  # trailStopPrice
        "",  # trailingPercent
        "",  # basisPoints
        "",  # basisPointsType
        "",  # comboLegsDescrip
    ]
    return _MIDDLE + tail


def _margin_block(order: GwOrder) -> list[Field]:
    """init/maint margin and equity with loan, before/change/after (unset unless whatIf)."""
    if order.margin is None:
        return [""] * 9
    before, change, after = order.margin
    return [before, before, "", change, change, "", after, after, ""]


def _state_block(order: GwOrder) -> list[Field]:
    return [
        "",  # scaleInitLevelSize
        "",  # scaleSubsLevelSize
        "",  # scalePriceIncrement (unset: no scale block)
        "",  # hedgeType
        0,  # optOutSmartRouting
        "",  # clearingAccount
        "",  # clearingIntent
        0,  # notHeld
        0,  # no delta-neutral contract
        "",  # algoStrategy
        0,  # solicited
        order.margin is not None,  # whatIf
        order.status,
        *_margin_block(order),
        "",  # commission
        "",  # minCommission
        "",  # maxCommission
        "",  # commissionCurrency
        "",  # warningText
        0,  # randomizeSize
        0,  # randomizePrice
        0,  # no conditions
    ]


_TAIL: list[Field] = [
    "",  # adjustedOrderType
    "",  # triggerPrice
    "",  # trailStopPrice
    "",  # lmtPriceOffset
    "",  # adjustedStopPrice
    "",  # adjustedStopLimitPrice
    "",  # adjustedTrailingAmount
    0,  # adjustableTrailingUnit
    "",  # softDollarTier name
    "",  # softDollarTier val
    "",  # softDollarTier displayName
    "",  # cashQty
    0,  # dontUseAutoPriceForHedge
    0,  # isOmsContainer
    0,  # discretionaryUpToLimitPrice
    "",  # usePriceMgmtAlgo
    "",  # duration (v159+)
    "",  # postToAts (v160+)
    0,  # autoCancelParent (v162+)
    "",  # minTradeQty (v170+)
    "",  # minCompeteSize
    "",  # competeAgainstBestOffset
    "",  # midOffsetAtWhole
    "",  # midOffsetAtHalf
]


def open_order(order: GwOrder) -> list[Field]:
    """openOrder (msg 5) at v178, as decoder.openOrder reads it."""
    fields: list[Field] = [OPEN_ORDER, order.order_id, *_contract_block(order)]
    fields += _order_head(order) + _middle(order)
    fields += [*_leg_block(order), 0, 0]  # no order combo leg prices, no routing params
    return fields + _state_block(order) + _TAIL


def order_status(order: GwOrder, last_fill: float = 0.0) -> list[Field]:
    """orderStatus (msg 3): orderId status filled remaining avgFillPrice permId parentId
    lastFillPrice clientId whyHeld mktCapPrice."""
    remaining = max(order.wire.quantity - order.filled, 0.0)
    if order.status in ("Cancelled", "Inactive"):
        remaining = 0.0
    return [
        ORDER_STATUS,
        order.order_id,
        order.status,
        repr(order.filled),
        repr(remaining),
        repr(order.avg_price),
        order.perm_id,
        0,
        repr(last_fill),
        order.client_id,
        "",
        "0",
    ]


def exec_details(
    req_id: int,
    execution: Execution,
    *,
    order_id: int,
    client_id: int,
    account: str,
    block: list[Field] | None = None,
) -> list[Field]:
    """execDetails (msg 11, no version at v178) of one leg fill (or, with the BAG contract
    ``block``, of a whole combo fill)."""
    ts = execution.ts.astimezone(ET)
    side = "BOT" if execution.side is OrderAction.BUY else "SLD"
    qty = repr(float(execution.quantity))
    return [
        EXEC_DETAILS,
        req_id,
        order_id,
        *(option_fields(execution.contract, "CBOE") if block is None else block),
        execution.exec_id,
        f"{ts:%Y%m%d %H:%M:%S} US/Eastern",
        account,
        "CBOE",
        side,
        qty,
        execution.price,
        execution.perm_id,
        client_id,
        0,  # liquidation
        qty,  # cumQty
        execution.price,  # avgPrice
        execution.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        2,  # lastLiquidity: removed
        0,  # pendingPriceRevision (v178)
    ]


def commission_report(report: CommissionReport) -> list[Field]:
    """commissionReport (msg 59): exactly 8 fields."""
    return [COMMISSION_REPORT, 1, report.exec_id, report.commission, report.currency, "", "", ""]


def position(account: str, pos: Position) -> list[Field]:
    """position (msg 61, version 3): exactly 16 fields; avgCost per contract (x100)."""
    avg_cost = pos.avg_cost * Decimal(MULTIPLIER)
    return [POSITION, 3, account, *option_fields(pos.contract), repr(float(pos.quantity)), avg_cost]


def portfolio(account: str, pos: Position, mark: Decimal | None) -> list[Field]:
    """updatePortfolio (msg 7, version 8): exactly 20 fields."""
    mult = Decimal(MULTIPLIER)
    price = mark if mark is not None else pos.avg_cost
    value = price * mult * pos.quantity
    cost = pos.avg_cost * mult
    unreal = value - cost * pos.quantity
    contract = option_fields(pos.contract)
    del contract[7]  # the portfolio block has primaryExchange, not exchange
    contract.insert(7, "")
    return [7, 8, *contract, repr(float(pos.quantity)), price, value, cost, unreal, 0.0, account]


def option_conids(order: GwOrder) -> list[int]:
    if order.option is not None:
        return [option_conid(order.option)]
    return [leg.con_id for leg in order.wire.legs]


def fmt_time(ts: datetime) -> str:
    return f"{ts.astimezone(ET):%Y%m%d %H:%M:%S} US/Eastern"
