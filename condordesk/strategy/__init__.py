"""Pure strike selection and condor construction."""

from condordesk.strategy.selection import (
    CondorCandidate,
    NoTrade,
    SelectionRules,
    choose_condor,
    screen_contracts,
)

__all__ = ["CondorCandidate", "NoTrade", "SelectionRules", "choose_condor", "screen_contracts"]
