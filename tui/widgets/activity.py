"""Recent orders and fills (the latest first)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.format import et_time, price
from console.model import Model, OrderRow
from tui.widgets.live import show

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


def activity_text(model: Model, rows: int, width: int) -> Text:
    """The latest orders (left) and fills (right), newest first, in two fixed columns."""
    half = max((width - 1) // 2, 10)
    orders = list(model.orders.values())[-rows:][::-1]
    fills = list(model.fills)[-rows:][::-1]
    text = Text()
    text.append("Recent orders".ljust(half + 1) + "Recent fills", style="bold")
    for i in range(max(len(orders), len(fills), 1)):
        left = Text("—" if i == 0 and not orders else "", style="dim")
        right = Text("—" if i == 0 and not fills else "", style="dim")
        if i < len(orders):
            o = orders[i]
            left = Text(
                f"{et_time(o.ts)} #{o.condor_id.rsplit('-', 1)[-1]} {o.role} {order_price(o)} "
            )
            left.append(o.status, style=STATUS_STYLES.get(o.status, ""))
        if i < len(fills):
            f = fills[i]
            right = Text(f"{et_time(f.ts)} {f.side} {f.quantity} {f.symbol} @ {price(f.price)}")
        left.truncate(half, overflow="ellipsis", pad=True)
        right.truncate(width - half - 1, overflow="ellipsis")
        text.append("\n")
        text.append_text(left)
        text.append(" ")
        text.append_text(right)
    return text


class ActivityPanel(Static):
    """Recent orders and fills."""

    _model: Model | None = None

    def show(self, model: Model) -> None:
        """Render the model."""
        self._model = model
        size = self.content_size
        # the panel's own width (38 columns at 80x24): wider, every row would wrap in two
        show(self, activity_text(model, max(size.height - 1, 3), max(size.width, 21)))

    def on_resize(self) -> None:
        if self._model is not None:
            self.show(self._model)
