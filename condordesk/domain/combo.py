"""The one place that knows the sign convention of iron-condor combo orders.

A combo (IB: BAG) price is the sum over legs of ``+price`` for BUY legs and ``-price`` for SELL
legs, per combo unit. Opening a short condor therefore means BUYing the BAG whose legs are the
held position (buy wings, sell body) at a *negative* limit: ``-credit``. Closing means BUYing
the inverted legs (sell wings, buy body) at a positive limit: the debit paid. Stops are BUY
stops on the closing combo: they trigger when its price rises to the stop price; none pays
more than the condor can be worth (its wider wing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    ComboLeg,
    OrderAction,
    OrderRequest,
    OrderType,
    TimeInForce,
)


def combo_price(legs: Iterable[ComboLeg], leg_prices: Mapping[OptionContract, Decimal]) -> Decimal:
    """Price of one combo unit from per-leg prices (BUY legs add, SELL legs subtract)."""
    total = Decimal(0)
    for leg in legs:
        sign = 1 if leg.action is OrderAction.BUY else -1
        total += sign * leg.ratio * leg_prices[leg.contract]
    return total


def closing_legs(condor: IronCondor) -> tuple[ComboLeg, ...]:
    """Legs that take the condor off: buy back the body, sell the wings."""
    return tuple(
        ComboLeg(leg.contract, leg.action.opposite(), leg.ratio) for leg in condor.short_legs()
    )


def entry_order(condor: IronCondor, credit: Decimal, ref: str) -> OrderRequest:
    """Fill-or-kill order opening ``condor`` for at least ``credit`` (a positive number)."""
    if credit <= 0:
        raise ValueError(f"an iron condor is opened for a credit, got {credit}")
    return OrderRequest(
        order_ref=ref,
        legs=condor.short_legs(),
        action=OrderAction.BUY,
        order_type=OrderType.LIMIT,
        quantity=condor.quantity,
        tif=TimeInForce.FOK,
        limit_price=-credit,
    )


def close_order(
    condor: IronCondor, debit: Decimal, ref: str, quantity: int | None = None
) -> OrderRequest:
    """Limit order buying ``condor`` back for at most ``debit`` (>= 0)."""
    if debit < 0:
        raise ValueError(f"closing a short condor costs a debit, got {debit}")
    qty = condor.quantity if quantity is None else quantity
    if not 1 <= qty <= condor.quantity:
        raise ValueError(f"close quantity must be 1..{condor.quantity}, got {qty}")
    return OrderRequest(
        order_ref=ref,
        legs=closing_legs(condor),
        action=OrderAction.BUY,
        order_type=OrderType.LIMIT,
        quantity=qty,
        tif=TimeInForce.DAY,
        limit_price=debit,
    )


def stop_orders(
    condor: IronCondor,
    *,
    trigger: Decimal,
    limit: Decimal,
    backup_trigger: Decimal,
    limit_ref: str,
    market_ref: str,
    oca_group: str,
) -> tuple[OrderRequest, OrderRequest]:
    """The OCA pair on the closing combo: a stop-limit (primary) and its backup.

    The backup is the "get me out" order: a stop whose limit is the condor's
    :attr:`~condordesk.domain.condor.IronCondor.max_value` (its wider wing). Once triggered
    it is marketable at every price the condor can honestly trade at, like a stop-market,
    but it never pays more than the condor can ever be worth: a gap that quotes the combo
    above its width (a wide natural price in a fast market) does not buy it back at a
    certain loss beyond the worst case. Its role stays ``stop-market`` (the order refs).

    Raises:
        ValueError: a limit below its trigger, or a price above the condor's maximum value.
    """
    cap = condor.max_value
    if not trigger <= limit:
        raise ValueError(f"stop limit {limit} must be at or above its trigger {trigger}")
    for what, price in (("stop limit", limit), ("backup trigger", backup_trigger)):
        if price > cap:
            raise ValueError(f"{what} {price} is above {cap}, the most the condor can be worth")
    legs = closing_legs(condor)
    primary = OrderRequest(
        order_ref=limit_ref,
        legs=legs,
        action=OrderAction.BUY,
        order_type=OrderType.STOP_LIMIT,
        quantity=condor.quantity,
        tif=TimeInForce.DAY,
        limit_price=limit,
        stop_price=trigger,
        oca_group=oca_group,
    )
    backup = OrderRequest(
        order_ref=market_ref,
        legs=legs,
        action=OrderAction.BUY,
        order_type=OrderType.STOP_LIMIT,
        quantity=condor.quantity,
        tif=TimeInForce.DAY,
        limit_price=cap,
        stop_price=backup_trigger,
        oca_group=oca_group,
    )
    return primary, backup


def is_capped_backup(condor: IronCondor, request: OrderRequest) -> bool:
    """True if ``request`` is a backup stop as :func:`stop_orders` makes it for ``condor``:
    a stop-limit whose limit is the condor's maximum value."""
    return request.order_type is OrderType.STOP_LIMIT and request.limit_price == condor.max_value
