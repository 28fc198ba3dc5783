"""The condors table: strikes, credit, mark, P&L, SPX's distance to each short strike in
points and expected moves, stops and their state at the broker, profit target."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from condordesk.engine import api
from tui.format import UNPROTECTED_STOP_STATES, money, points, price
from tui.risk import distance
from tui.state import Model
from tui.widgets.tables import Cells, sync_rows

COLUMNS = (
    ("id", "Condor"),
    ("legs", "Strikes"),
    ("qty", "Qty"),
    ("credit", "Credit"),
    ("mark", "Mark"),
    ("pnl", "P&L"),
    ("put", "SPX→short put"),
    ("call", "SPX→short call"),
    ("stop", "Stop"),
    ("target", "Target"),
    ("state", "State"),
)


def _signed(value: Decimal | None) -> Text:
    if value is None:
        return Text("—")
    text = money(value)
    return Text(text, style="green" if value > 0 else ("red" if value < 0 else ""))


def _cushion(pts: Decimal, em: Decimal | None) -> Text:
    style = "bold red" if pts <= 0 else ("yellow" if em is not None and em < 1 else "")
    em_text = f" {em:.2f}EM" if em is not None else ""
    return Text(f"{points(pts)}pt{em_text}", style=style)


def stop_state_text(view: api.CondorView) -> Text:
    """A condor's stop state, red when an open condor is unprotected."""
    state = view.stop_state
    if view.state == "open" and state in UNPROTECTED_STOP_STATES:
        return Text(f"UNPROTECTED ({state})", style="bold white on red")
    styles = {"verified": "green", "placed": "yellow", "triggered": "bold magenta"}
    return Text(state, style=styles.get(state, "dim"))


def stop_cell(view: api.CondorView) -> Text:
    """Trigger and state at the broker: ``2.90 verified`` / ``2.90 UNPROTECTED``."""
    text = Text(f"{price(view.stop_trigger)} ")
    if view.state == "open" and view.stop_state in UNPROTECTED_STOP_STATES:
        text.append("UNPROTECTED", style="bold white on red")
    elif view.state in ("open", "closing"):
        styles = {"verified": "green", "placed": "yellow", "triggered": "bold magenta"}
        text.append(view.stop_state, style=styles.get(view.stop_state, ""))
    return text


def condor_cells(view: api.CondorView, model: Model) -> Cells:
    """One table row."""
    pnl = view.unrealized_pnl if view.state in ("open", "closing") else view.realized_pnl
    put: Text | str = "—"
    call: Text | str = "—"
    if model.spot is not None and view.state in ("open", "closing", "working"):
        d = distance(view, model.spot, model.expected_move)
        put, call = _cushion(d.put_points, d.put_em), _cushion(d.call_points, d.call_em)
    state = view.state + (" ★1st" if view.first_trade and view.state == "open" else "")
    if view.exit_reason:
        state += f" ({view.exit_reason})"
    return (
        view.id,
        view.label,
        str(view.quantity),
        price(view.credit),
        price(view.mark),
        _signed(pnl),
        put,
        call,
        stop_cell(view),
        price(view.profit_target),
        Text(state, style="bold" if view.state == "open" else "dim"),
    )


class CondorTable(DataTable[Text | str]):
    """Today's condors, live ones first; the highlighted row is the selected condor."""

    class Selected(Message):
        """The operator moved the cursor to a condor."""

        def __init__(self, condor_id: str) -> None:
            super().__init__()
            self.condor_id = condor_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._cache: dict[str, Cells] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, model: Model, selected: str | None) -> None:
        """Render the model's condors (live first, then finished ones)."""
        views = sorted(
            model.condors.values(), key=lambda v: (v.state not in ("open", "closing"), v.id)
        )
        sync_rows(self, [(v.id, condor_cells(v, model)) for v in views], self._cache)
        if selected is not None and selected in self._cache:
            row = self.get_row_index(selected)
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.post_message(self.Selected(event.row_key.value))
