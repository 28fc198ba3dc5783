"""The condors table: strikes, credit, mark, P&L, SPX's distance to each short strike in
points and expected moves, stops and their state at the broker, profit target."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from condordesk.engine import api
from console.format import UNPROTECTED_STOP_STATES, money, points, price
from console.model import Model
from tui.risk import distance
from tui.widgets.tables import Cells

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
MEDIUM = ("id", "legs", "qty", "credit", "mark", "pnl", "stop", "state")
"""Columns when the full table is wider than the terminal (about 100 columns)."""
COMPACT = ("short", "legs", "mark", "pnl", "stop", "state")
"""Columns on an 80-column terminal: which condor, its P&L and its stop."""
_LABELS = dict(COLUMNS) | {"short": "#"}
_ALL = tuple(key for key, _ in COLUMNS)


def pick_columns(rows: list[Cells], width: int) -> tuple[str, ...]:
    """The widest column set whose table fits ``width`` terminal columns (rows are full)."""
    for keys in (_ALL, MEDIUM, COMPACT):
        if _table_width(keys, rows) <= width:
            return keys
    return COMPACT


def _table_width(keys: tuple[str, ...], rows: list[Cells]) -> int:
    widths = [len(_LABELS[k]) for k in keys]
    for cells in rows:
        picked = select(keys, cells)
        widths = [max(w, _width(c)) for w, c in zip(widths, picked, strict=True)]
    return sum(widths) + 2 * (len(keys) - 1)


def select(keys: tuple[str, ...], cells: Cells) -> Cells:
    """The cells of ``keys`` from a full row (``short`` is the id's number: ``#01``)."""
    by_key = dict(zip(_ALL, cells, strict=True))
    by_key["short"] = "#" + str(by_key["id"]).rsplit("-", 1)[-1]
    return tuple(by_key[k] for k in keys)


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


def table_text(
    header: tuple[str, ...], rows: list[Cells], cursor: int | None, focused: bool
) -> Text:
    """Rows of cells in aligned columns, the cursor row highlighted."""
    widths = [len(h) for h in header]
    for cells in rows:
        widths = [max(w, _width(c)) for w, c in zip(widths, cells, strict=True)]
    text = Text(no_wrap=True, overflow="crop")
    text.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), style="bold")
    for i, cells in enumerate(rows):
        line = Text()
        for j, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            part = cell if isinstance(cell, Text) else Text(cell)
            line.append_text(part)
            if j < len(widths) - 1:
                line.append(" " * (w - part.cell_len + 2))
        if i == cursor:
            line.stylize("on #1f3a5f" if focused else "underline")
        text.append("\n")
        text.append_text(line)
    return text


def _width(cell: Text | str) -> int:
    return cell.cell_len if isinstance(cell, Text) else len(cell)


class CondorTable(Widget, can_focus=True):
    """Today's condors, live ones first; ↑/↓ move the cursor, which selects the condor the
    override keys act on. One text block (a quote redraws four lines, not a grid of cells)."""

    DEFAULT_CSS = """
    CondorTable { height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("down", "move(1)", "Next", show=False),
    ]

    class Selected(Message):
        """The operator moved the cursor to a condor."""

        def __init__(self, condor_id: str) -> None:
            super().__init__()
            self.condor_id = condor_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._ids: list[str] = []
        self._rows: list[Cells] = []
        self._cursor: int | None = None
        self._shown: Text | None = None

    def show(self, model: Model, selected: str | None) -> None:
        """Render the model's condors (live first, then finished ones)."""
        views = sorted(
            model.condors.values(), key=lambda v: (v.state not in ("open", "closing"), v.id)
        )
        self._ids = [v.id for v in views]
        self._rows = [condor_cells(v, model) for v in views]
        self._cursor = self._ids.index(selected) if selected in self._ids else None
        self._redraw()

    def _redraw(self) -> None:
        keys = pick_columns(self._rows, self.content_size.width or 160)
        rows = [select(keys, cells) for cells in self._rows]
        text = table_text(tuple(_LABELS[k] for k in keys), rows, self._cursor, self.has_focus)
        if text != self._shown:
            grew = self._shown is None or len(text.plain.splitlines()) != len(
                self._shown.plain.splitlines()
            )
            self._shown = text
            self.refresh(layout=grew)

    def render(self) -> Text:
        return self._shown or Text("")

    def on_focus(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def on_blur(self) -> None:
        self._redraw()

    def action_move(self, step: int) -> None:
        if not self._ids:
            return
        at = self._cursor if self._cursor is not None else (-1 if step > 0 else 0)
        self._cursor = min(max(at + step, 0), len(self._ids) - 1)
        self._redraw()
        self.post_message(self.Selected(self._ids[self._cursor]))
