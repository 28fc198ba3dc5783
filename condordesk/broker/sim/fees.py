"""Commissions of the simulated broker: the IBKR Pro fixed schedule for US options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CommissionSchedule:
    """Per-contract commission by premium, an order minimum, and pass-through fees.

    Defaults are IBKR Pro's (under 10,000 contracts a month): 0.65 a contract when the
    premium is at least 0.10, 0.50 from 0.05 to 0.10, 0.25 below 0.05, at least 1.00 per
    order; plus exchange (0.45), regulatory (0.02) and clearing (0.02) fees per contract,
    which the minimum does not cover.
    """

    high_rate: Decimal = Decimal("0.65")
    mid_rate: Decimal = Decimal("0.50")
    low_rate: Decimal = Decimal("0.25")
    high_from: Decimal = Decimal("0.10")
    mid_from: Decimal = Decimal("0.05")
    order_minimum: Decimal = Decimal("1.00")
    exchange_fee: Decimal = Decimal("0.45")
    regulatory_fee: Decimal = Decimal("0.02")
    clearing_fee: Decimal = Decimal("0.02")

    def rate(self, price: Decimal) -> Decimal:
        """Commission per contract for an execution at ``price``."""
        if price >= self.high_from:
            return self.high_rate
        return self.mid_rate if price >= self.mid_from else self.low_rate

    @property
    def fees_per_contract(self) -> Decimal:
        """Pass-through fees per contract."""
        return self.exchange_fee + self.regulatory_fee + self.clearing_fee

    def charges(
        self, fills: Sequence[tuple[Decimal, int]], already_charged: Decimal = _ZERO
    ) -> list[Decimal]:
        """Commission plus fees of each execution of one order.

        Args:
            fills: ``(price, contracts)`` of each execution.
            already_charged: commission (without fees) the order paid on earlier fills.

        Returns:
            One amount per execution. If the order's commission stays under the minimum, the
            shortfall is spread over the executions in whole cents (earlier ones first).
        """
        if not fills:
            return []
        base = [self.rate(price) * qty for price, qty in fills]
        shortfall = self.order_minimum - already_charged - sum(base, _ZERO)
        cents = max(int(shortfall * 100), 0)
        share, extra = divmod(cents, len(fills))
        return [
            commission
            + Decimal(share + (1 if i < extra else 0)).scaleb(-2)
            + self.fees_per_contract * qty
            for i, (commission, (_, qty)) in enumerate(zip(base, fills, strict=True))
        ]

    def commission_part(self, charge: Decimal, contracts: int) -> Decimal:
        """The commission inside ``charge`` (``charge`` minus the fees of ``contracts``)."""
        return charge - self.fees_per_contract * contracts
