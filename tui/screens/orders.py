"""All orders the console has seen, and all fills."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from console.format import et_time, price
from console.model import Model, Part
from tui.screens.base import ConsoleScreen
from tui.widgets import StatusBar
from tui.widgets.activity import STATUS_STYLES, order_price
from tui.widgets.keybar import KeyBar
from tui.widgets.tables import Cells, sync_rows

ORDER_COLUMNS = ("Time", "Order ref", "Role", "Type", "Qty", "Price", "Legs filled", "Status")
FILL_COLUMNS = ("Time", "Exec id", "Order ref", "Side", "Qty", "Contract", "Price")


class OrdersScreen(ConsoleScreen):
    """Orders (newest last) and fills."""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("Orders", classes="section")
        yield DataTable[Text | str](id="orders-table", zebra_stripes=True, cursor_type="row")
        yield Static("Fills", classes="section")
        yield DataTable[Text | str](id="fills-table", zebra_stripes=True, cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        self._orders: dict[str, Cells] = {}
        self._fills: dict[str, Cells] = {}
        for table_id, columns in (("#orders-table", ORDER_COLUMNS), ("#fills-table", FILL_COLUMNS)):
            table = self.query_one(table_id, DataTable)
            for i, label in enumerate(columns):
                table.add_column(label, key=str(i))

    def show_body(self, model: Model, parts: set[Part], selected: str | None) -> None:
        if parts & {"orders", "fills"}:
            orders = [
                (o.order_ref, (
                    et_time(o.ts), o.order_ref, o.role, o.order_type, str(o.quantity),
                    order_price(o), f"{o.filled_legs}/{4 * o.quantity}",
                    Text(o.status + (f": {o.reason}" if o.reason else ""),
                         style=STATUS_STYLES.get(o.status, "")),
                ))
                for o in model.orders.values()
            ]  # fmt: skip
            sync_rows(self.query_one("#orders-table", DataTable), orders, self._orders)
            fills = [
                (f.exec_id, (et_time(f.ts), f.exec_id, f.order_ref, f.side, str(f.quantity),
                             f.symbol, price(f.price)))
                for f in model.fills
            ]  # fmt: skip
            sync_rows(self.query_one("#fills-table", DataTable), fills, self._fills)
