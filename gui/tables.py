"""Table models fed by the engine's events: condors, working orders, fills, and the history's
trades (with a filter by date and exit reason). Each :class:`RowsModel` is refreshed with
:meth:`RowsModel.set_rows` when the window redraws: cells change in place when the rows are the
same ones, so a selection survives a flood of marks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from condordesk.engine import api
from console.format import DASH, UNPROTECTED_STOP_STATES, et_time, money, price
from gui import theme
from gui.state import LIVE_STATES, OrderRow

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_BOLD = QFont()
_BOLD.setBold(True)


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """A column: its title, the text of a cell, and optionally its colour and background."""

    title: str
    text: Callable[[R], str]
    right: bool = False
    color: Callable[[R], str | None] | None = None
    background: Callable[[R], str | None] | None = None
    bold: Callable[[R], bool] | None = None


class RowsModel(QAbstractTableModel, Generic[R]):
    """A read-only table of rows of one type, each with a key (condor id, order ref...)."""

    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], str]) -> None:
        super().__init__()
        self.columns = list(columns)
        self._key = key
        self.rows: list[R] = []
        self.keys: list[str] = []

    def set_rows(self, rows: Sequence[R]) -> None:
        """Show ``rows``: the same keys in the same order update in place, else a reset."""
        keys = [self._key(r) for r in rows]
        if keys == self.keys:
            self.rows = list(rows)
            if rows:
                last = self.index(len(rows) - 1, len(self.columns) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self.rows, self.keys = list(rows), keys
        self.endResetModel()

    def row_of(self, key: str) -> int | None:
        """The row showing ``key``."""
        try:
            return self.keys.index(key)
        except ValueError:
            return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], self.columns[index.column()]
        return _cell(row, col, role)


def _cell(row: R, col: Column[R], role: int) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        return col.text(row)
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return _RIGHT if col.right else _LEFT
    if role == Qt.ItemDataRole.ForegroundRole and col.color is not None:
        color = col.color(row)
        return QBrush(QColor(color)) if color else None
    if role == Qt.ItemDataRole.BackgroundRole and col.background is not None:
        bg = col.background(row)
        return QBrush(QColor(bg)) if bg else None
    if role == Qt.ItemDataRole.FontRole and col.bold is not None and col.bold(row):
        return _BOLD
    return None


def _pnl_color(value: Decimal | None) -> str | None:
    return None if value is None else theme.pnl_color(float(value))


# ------------------------------------------------------------------------------- condors


def condor_pnl(v: api.CondorView) -> Decimal | None:
    """Open P&L of a live condor, realized P&L of a finished one."""
    return v.realized_pnl if v.state in ("closed", "cancelled") else v.unrealized_pnl


def unprotected(v: api.CondorView) -> bool:
    """An open condor without a working stop at the broker."""
    return v.state == "open" and v.stop_state in UNPROTECTED_STOP_STATES


def _stop_text(v: api.CondorView) -> str:
    return "UNPROTECTED" if unprotected(v) else v.stop_state


def condors_model(color: Callable[[str], str]) -> RowsModel[api.CondorView]:
    """Today's condors: strikes, credit, mark, target, stop, P&L; each id in the colour of its
    lines in the charts (``color``)."""
    return RowsModel(
        [
            Column("Condor", lambda v: v.id, bold=lambda v: v.state == "open",
                   color=lambda v: color(v.id)),
            Column("State", lambda v: v.state,
                   color=lambda v: theme.MUTED if v.state in ("closed", "cancelled") else None),
            Column("Strikes", lambda v: v.label),
            Column("Qty", lambda v: str(v.quantity), right=True),
            Column("Credit", lambda v: price(v.credit), right=True),
            Column("Mark", lambda v: price(v.mark) if v.state in LIVE_STATES else DASH,
                   right=True),
            Column("Target", lambda v: price(v.profit_target), right=True),
            Column("Stop", lambda v: price(v.stop_trigger), right=True,
                   color=lambda v: theme.RED if v.stop_trigger is not None else None),
            Column("Stop state", _stop_text,
                   background=lambda v: "#8a1c21" if unprotected(v) else None,
                   bold=unprotected),
            Column("P&L", lambda v: money(condor_pnl(v)), right=True,
                   color=lambda v: _pnl_color(condor_pnl(v)), bold=lambda v: True),
            Column("Exit", lambda v: v.exit_reason or DASH),
            Column("Opened", lambda v: et_time(v.opened_ts)),
        ],
        key=lambda v: v.id,
    )  # fmt: skip


# -------------------------------------------------------------------------- orders, fills

_STATUS_COLORS = {"rejected": theme.RED, "filled": theme.GREEN, "submitted": theme.AMBER}


def orders_model() -> RowsModel[OrderRow]:
    """Orders as the engine reported them, newest first."""
    return RowsModel(
        [
            Column("Time", lambda o: et_time(o.ts)),
            Column("Order ref", lambda o: o.order_ref),
            Column("Role", lambda o: o.role),
            Column("Type", lambda o: o.order_type),
            Column("Qty", lambda o: str(o.quantity), right=True),
            Column("Limit", lambda o: price(o.limit_price), right=True),
            Column("Stop", lambda o: price(o.stop_price), right=True),
            Column("Status", lambda o: o.status, color=lambda o: _STATUS_COLORS.get(o.status)),
            Column("Reason", lambda o: o.reason),
        ],
        key=lambda o: o.order_ref,
    )


def fills_model() -> RowsModel[api.FillRecorded]:
    """Leg executions, newest first."""
    return RowsModel(
        [
            Column("Time", lambda f: et_time(f.ts)),
            Column("Condor", lambda f: f.condor_id),
            Column("Contract", lambda f: f.symbol),
            Column("Side", lambda f: f.side,
                   color=lambda f: theme.GREEN if f.side.upper().startswith("B") else theme.RED),
            Column("Qty", lambda f: str(f.quantity), right=True),
            Column("Price", lambda f: price(f.price), right=True),
            Column("Exec id", lambda f: f.exec_id),
        ],
        key=lambda f: f.exec_id,
    )  # fmt: skip


# --------------------------------------------------------------------------------- trades


def trades_model() -> RowsModel[api.TradeRecord]:
    """The journal's finished condors, newest first."""
    return RowsModel(
        [
            Column("Day", lambda t: t.day.isoformat()),
            Column("Condor", lambda t: t.id),
            Column("Strikes", lambda t: t.label),
            Column("Qty", lambda t: str(t.quantity), right=True),
            Column("Credit", lambda t: price(t.credit), right=True),
            Column("Exit debit", lambda t: price(t.exit_debit), right=True),
            Column("Commissions", lambda t: money(t.commissions, sign=False), right=True),
            Column("P&L", lambda t: money(t.realized_pnl), right=True,
                   color=lambda t: _pnl_color(t.realized_pnl), bold=lambda t: True),
            Column("Exit reason", lambda t: t.exit_reason or DASH),
            Column("Opened", lambda t: et_time(t.opened_ts)),
            Column("Closed", lambda t: et_time(t.closed_ts)),
        ],
        key=lambda t: t.id,
    )  # fmt: skip


class TradeFilter(QSortFilterProxyModel):
    """Trades between two days (inclusive) and of one exit reason (None: any)."""

    def __init__(self, source: RowsModel[api.TradeRecord]) -> None:
        super().__init__()
        self.setSourceModel(source)
        self._source = source
        self.first: date | None = None
        self.last: date | None = None
        self.reason: str | None = None

    def set_filter(self, first: date | None, last: date | None, reason: str | None) -> None:
        """Show only the trades of days ``first``..``last`` closed for ``reason``."""
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+ (invalidateFilter is deprecated)
            self.beginFilterChange()
            self.first, self.last, self.reason = first, last, reason
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            self.first, self.last, self.reason = first, last, reason
            self.invalidateRowsFilter()

    def accepts(self, t: api.TradeRecord) -> bool:
        """Whether ``t`` passes the filter."""
        if self.first is not None and t.day < self.first:
            return False
        if self.last is not None and t.day > self.last:
            return False
        return self.reason is None or t.exit_reason == self.reason

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        return self.accepts(self._source.rows[source_row])
