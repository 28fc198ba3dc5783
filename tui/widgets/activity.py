"""Recent orders and fills (the latest first)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.format import et_time, price
from tui.state import Model, OrderRow

STATUS_STYLES = {
    "filled": "green",
    "rejected": "bold red",
    "cancelled": "dim",
    "not filled": "yellow",
    "submitted": "bold",
}


def order_price(row: OrderRow) -> str:
    """``LMT 1.45`` / ``STP 2.90 LMT 3.40`` / ``MKT``."""
    if row.stop_price is not None:
        limit = f" lmt {price(row.limit_price)}" if row.limit_price is not None else ""
        return f"stop {price(row.stop_price)}{limit}"
    return price(row.limit_price) if row.limit_price is not None else "MKT"


def activity_table(model: Model, rows: int) -> Table:
    """The latest orders and fills, side by side."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    orders = list(model.orders.values())[-rows:][::-1]
    fills = list(model.fills)[-rows:][::-1]
    table.add_row(Text("Recent orders", style="bold"), Text("Recent fills", style="bold"))
    for i in range(max(len(orders), len(fills), 1)):
        left = Text("—", style="dim") if i == 0 and not orders else Text()
        right = Text("—", style="dim") if i == 0 and not fills else Text()
        if i < len(orders):
            o = orders[i]
            left = Text(f"{et_time(o.ts)} {o.order_ref.removeprefix('cd:')} {order_price(o)} ")
            left.append(o.status, style=STATUS_STYLES.get(o.status, ""))
        if i < len(fills):
            f = fills[i]
            right = Text(f"{et_time(f.ts)} {f.side} {f.quantity} {f.symbol} @ {price(f.price)}")
        table.add_row(left, right)
    return table


class ActivityPanel(Static):
    """Recent orders and fills."""

    def show(self, model: Model) -> None:
        """Render the model."""
        self.update(activity_table(model, max(self.content_size.height - 1, 3)))
