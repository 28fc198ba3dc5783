"""Pure risk rules: stop plan, profit target, first-trade rule, expiry safety, limits."""

from condordesk.risk.rules import (
    EntryContext,
    RiskRules,
    StopPlan,
    daily_loss_breached,
    entry_blocker,
    expiry_danger,
    profit_target,
    stop_plan,
)

__all__ = [
    "EntryContext",
    "RiskRules",
    "StopPlan",
    "daily_loss_breached",
    "entry_blocker",
    "expiry_danger",
    "profit_target",
    "stop_plan",
]
