"""The BAG-level execution IB sends after the leg executions of a combo fill.

Its price is the combo price (sum of +leg for BUY legs of the combo definition, -leg for
SELL legs), its side the order's action, its exec id the last leg's with ``.B`` appended.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from condordesk.domain.orders import Execution, OrderAction
from condordesk.gateway.contracts import option_conid
from condordesk.gateway.orderwire import GwOrder


class BagFills:
    """Collects leg executions per order (perm id) and completes one combo fill at a time."""

    def __init__(self) -> None:
        self._partial: dict[int, tuple[int, Decimal]] = {}

    def feed(self, order: GwOrder, execution: Execution) -> Execution | None:
        """The BAG execution once ``execution`` completes a combo fill, else None."""
        if order.option is not None or not order.wire.legs:
            return None
        signs = {leg.con_id: 1 if leg.action == "BUY" else -1 for leg in order.wire.legs}
        seen, price = self._partial.pop(execution.perm_id, (0, Decimal(0)))
        seen += 1
        price += signs.get(option_conid(execution.contract), 0) * execution.price
        if seen < len(signs):
            self._partial[execution.perm_id] = (seen, price)
            return None
        return replace(
            execution,
            exec_id=f"{execution.exec_id}.B",
            side=OrderAction(order.wire.action),
            price=price,
        )
