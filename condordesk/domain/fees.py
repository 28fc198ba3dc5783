"""What an option execution is expected to cost before the broker reports it.

The broker's own commission report always wins; until it arrives, P&L uses this estimate (and
says it is estimated), never zero. Defaults are IBKR Pro's fixed schedule for US options
(under 10,000 contracts a month): 0.65 a contract at a premium of 0.10 or more, 0.50 from
0.05, 0.25 below, plus about 0.49 a contract of exchange, regulatory and clearing fees. The
order minimum (1.00) is left out: a condor order is at least four contracts.
"""

from __future__ import annotations

from decimal import Decimal

HIGH_RATE = Decimal("0.65")
MID_RATE = Decimal("0.50")
LOW_RATE = Decimal("0.25")
FEES_PER_CONTRACT = Decimal("0.49")


def estimate_commission(price: Decimal, quantity: int) -> Decimal:
    """The expected commission plus fees, in dollars, of one execution of ``quantity``
    option contracts at ``price`` (points)."""
    if price >= Decimal("0.10"):
        rate = HIGH_RATE
    elif price >= Decimal("0.05"):
        rate = MID_RATE
    else:
        rate = LOW_RATE
    return (rate + FEES_PER_CONTRACT) * quantity
