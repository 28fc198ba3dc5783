"""The simulated account: positions, executions and their commission reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from condordesk.broker.sim.fees import CommissionSchedule
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import CommissionReport, Execution, OrderAction, Position
from condordesk.market.clock import ET

_AVG_PLACES = Decimal("0.0001")

LegFill = tuple[OptionContract, OrderAction, int, Decimal]
"""(contract, side, contracts, price) of one leg of a fill."""


@dataclass(slots=True)
class _Holding:
    quantity: int
    avg_price: Decimal


class Ledger:
    """Positions and today's executions of the simulated account.

    Args:
        commissions: the schedule every execution is charged by.
    """

    def __init__(self, commissions: CommissionSchedule) -> None:
        self.commissions = commissions
        self._holdings: dict[OptionContract, _Holding] = {}
        self._executions: list[tuple[Execution, CommissionReport]] = []
        self._days: list[date] = []  # the New York date of each of _executions
        self._fill_seq = 0

    def record(
        self,
        *,
        order_id: int,
        perm_id: int,
        order_ref: str,
        legs: Sequence[LegFill],
        ts: datetime,
        already_charged: Decimal = Decimal(0),
    ) -> list[tuple[Execution, CommissionReport]]:
        """Book one fill of an order (one execution per leg) and charge its commissions.

        Exec ids are ``<perm id hex>.<fill number>.<leg number>``, e.g. ``3b9aca07.0001.01``.
        """
        self._fill_seq += 1
        charges = self.commissions.charges(
            [(price, qty) for _, _, qty, price in legs], already_charged
        )
        out: list[tuple[Execution, CommissionReport]] = []
        for n, ((contract, side, qty, price), charge) in enumerate(zip(legs, charges, strict=True)):
            exec_id = f"{perm_id:08x}.{self._fill_seq:04d}.{n + 1:02d}"
            execution = Execution(
                exec_id=exec_id,
                order_id=order_id,
                perm_id=perm_id,
                order_ref=order_ref,
                contract=contract,
                side=side,
                quantity=qty,
                price=price,
                ts=ts,
            )
            report = CommissionReport(exec_id=exec_id, commission=charge)
            self._apply(contract, qty if side is OrderAction.BUY else -qty, price)
            out.append((execution, report))
        self._executions.extend(out)
        self._days.extend([ts.astimezone(ET).date()] * len(out))
        return out

    def _apply(self, contract: OptionContract, delta: int, price: Decimal) -> None:
        held = self._holdings.get(contract)
        if held is None:
            self._holdings[contract] = _Holding(delta, price)
            return
        new_qty = held.quantity + delta
        if new_qty == 0:
            del self._holdings[contract]
        elif (held.quantity > 0) == (delta > 0):  # adding to the position
            total = abs(held.quantity) * held.avg_price + abs(delta) * price
            held.avg_price = (total / abs(new_qty)).quantize(_AVG_PLACES)
            held.quantity = new_qty
        else:
            if (new_qty > 0) != (held.quantity > 0):  # flipped through zero
                held.avg_price = price
            held.quantity = new_qty

    def quantity(self, contract: OptionContract) -> int:
        """Signed position in ``contract`` (0 if none)."""
        held = self._holdings.get(contract)
        return 0 if held is None else held.quantity

    def positions(self) -> list[Position]:
        """Every non-zero position; ``avg_cost`` is the average open price in option points."""
        return [
            Position(contract=c, quantity=h.quantity, avg_cost=h.avg_price)
            for c, h in sorted(self._holdings.items())
        ]

    def expiries(self) -> set[date]:
        """Expiry dates of the positions held."""
        return {c.expiry for c in self._holdings}

    def settle(self, expiry: date) -> tuple[tuple[OptionContract, int], ...]:
        """Remove and return the positions expiring on ``expiry``."""
        gone = tuple(
            (c, h.quantity) for c, h in sorted(self._holdings.items()) if c.expiry == expiry
        )
        for contract, _ in gone:
            del self._holdings[contract]
        return gone

    def remove(self, contract: OptionContract, quantity: int) -> None:
        """Take ``quantity`` (signed) out of a position with no execution (a hand adjustment)."""
        self._apply(contract, -quantity, Decimal(0))

    def executions_on(self, day: date) -> list[tuple[Execution, CommissionReport]]:
        """Executions whose time falls on ``day`` in New York, in the order they happened."""
        return [pair for pair, d in zip(self._executions, self._days, strict=True) if d == day]

    def forget_before(self, day: date) -> None:
        """Drop executions from before ``day`` (the broker reports only today's)."""
        kept = [(p, d) for p, d in zip(self._executions, self._days, strict=True) if d >= day]
        self._executions = [p for p, _ in kept]
        self._days = [d for _, d in kept]
