"""The payoff of short iron condors at expiry: P&L across SPX, its extremes and breakevens.

Pure and exact (Decimal). Both consoles draw their risk graphs from these functions, so the
numbers a trader reads in the terminal and on the desktop are the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from condordesk.domain.condor import IronCondor
from condordesk.domain.prices import MULTIPLIER

_D0 = Decimal(0)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Holding:
    """A short iron condor held: its strikes and quantity, and the credit it was sold for
    (points per unit)."""

    condor: IronCondor
    credit: Decimal

    def pnl_at_expiry(self, spx: Decimal) -> Decimal:
        """Dollars this condor makes (or loses) if SPX settles at ``spx``; commissions aside."""
        value = self.condor.value_at_expiry(spx)
        return (self.credit - value) * MULTIPLIER * self.condor.quantity


def pnl_at_expiry(holdings: Iterable[Holding], spx: Decimal) -> Decimal:
    """Dollars the holdings make (or lose) together if SPX settles at ``spx``."""
    return sum((h.pnl_at_expiry(spx) for h in holdings), _D0)


def breakpoints(holdings: Iterable[Holding]) -> list[Decimal]:
    """Every strike of the holdings, sorted (the payoff bends only there)."""
    strikes = {
        k
        for h in holdings
        for k in (h.condor.long_put, h.condor.short_put, h.condor.short_call, h.condor.long_call)
    }
    return sorted(strikes)


def max_loss(holdings: Sequence[Holding]) -> Decimal:
    """The worst P&L at expiry over every SPX, as a positive number of dollars (0 if none)."""
    worst = min((pnl_at_expiry(holdings, k) for k in breakpoints(holdings)), default=_D0)
    return max(-worst, _D0)


def max_profit(holdings: Sequence[Holding]) -> Decimal:
    """The best P&L at expiry over every SPX (dollars; 0 if none)."""
    return max((pnl_at_expiry(holdings, k) for k in breakpoints(holdings)), default=_D0)


def breakevens(holdings: Sequence[Holding]) -> list[Decimal]:
    """SPX levels where the P&L at expiry crosses zero, to the cent, in ascending order."""
    points = breakpoints(holdings)
    values = [pnl_at_expiry(holdings, k) for k in points]
    out: list[Decimal] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(zip(points, values, strict=True)):
        if y0 == 0 and (not out or out[-1] != x0):
            out.append(x0)
        elif (y0 < 0 < y1) or (y1 < 0 < y0):
            out.append((x0 + (x1 - x0) * (-y0) / (y1 - y0)).quantize(_CENT))
    if values and values[-1] == 0 and (not out or out[-1] != points[-1]):
        out.append(points[-1])
    return out
