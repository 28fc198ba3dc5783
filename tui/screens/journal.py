"""The journal: today's condors and earlier ones, with results per session."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from console.format import et_time, money, price
from console.model import Model, Part
from tui.screens.base import ConsoleScreen
from tui.widgets import StatusBar
from tui.widgets.keybar import KeyBar
from tui.widgets.live import show
from tui.widgets.tables import Cells, sync_rows

COLUMNS = ("Condor", "Legs", "Qty", "Opened", "Credit", "State", "Exit", "P&L")


def day_lines(model: Model) -> Text:
    """Results of the sessions this console saw close, and today's running total."""
    text = Text()
    text.append(f"Today {model.day or '—'}: realized {money(model.realized_pnl)}, "
                f"open {money(model.unrealized_pnl)}", style="bold")  # fmt: skip
    for d in model.days[-5:][::-1]:
        text.append(f"\n{d.day}: {d.condors_opened} opened, {d.condors_closed} closed, "
                    f"realized {money(d.realized_pnl)} after {money(d.commissions, sign=False)} "
                    "commissions")  # fmt: skip
    return text


class JournalScreen(ConsoleScreen):
    """Condors of today and of earlier days seen by this console."""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(id="days")
        yield DataTable[Text | str](id="journal-table", zebra_stripes=True, cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        self._rows: dict[str, Cells] = {}
        table = self.query_one("#journal-table", DataTable)
        for i, label in enumerate(COLUMNS):
            table.add_column(label, key=str(i))

    def show_body(self, model: Model, parts: set[Part], selected: str | None) -> None:
        show(self.query_one("#days", Static), day_lines(model), layout=True)
        if not parts & {"condors", "history"}:
            return
        rows = []
        for v in [*model.history, *model.condors.values()][::-1]:
            pnl = v.realized_pnl if v.realized_pnl is not None else v.unrealized_pnl
            style = "green" if pnl is not None and pnl > 0 else ("red" if pnl else "")
            rows.append((v.id, (
                v.id, v.label, str(v.quantity), et_time(v.opened_ts), price(v.credit), v.state,
                v.exit_reason or "", Text(money(pnl), style=style),
            )))  # fmt: skip
        sync_rows(self.query_one("#journal-table", DataTable), rows, self._rows)
