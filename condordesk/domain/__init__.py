"""Stdlib-only value types shared by every layer: contracts, orders, fills, condors.

Money and prices are ``Decimal``; times are timezone-aware ``datetime`` in UTC.
"""

from condordesk.domain.condor import (
    CondorState,
    ExitReason,
    IllegalTransition,
    IronCondor,
    check_transition,
)
from condordesk.domain.options import Greeks, OptionContract, OptionQuote, Right
from condordesk.domain.orders import (
    ComboLeg,
    CommissionReport,
    Execution,
    OrderAction,
    OrderReport,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    TimeInForce,
    order_ref,
    parse_order_ref,
)
from condordesk.domain.prices import (
    COMBO_TICK,
    option_tick,
    round_to_tick,
)

__all__ = [
    "COMBO_TICK",
    "ComboLeg",
    "CommissionReport",
    "CondorState",
    "Execution",
    "ExitReason",
    "Greeks",
    "IllegalTransition",
    "IronCondor",
    "OptionContract",
    "OptionQuote",
    "OrderAction",
    "OrderReport",
    "OrderRequest",
    "OrderRole",
    "OrderStatus",
    "OrderType",
    "Right",
    "TimeInForce",
    "check_transition",
    "option_tick",
    "order_ref",
    "parse_order_ref",
    "round_to_tick",
]
