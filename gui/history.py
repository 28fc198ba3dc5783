"""The history view: daily P&L bars and cumulative P&L over the journal, and the trades behind
them in a table filtered by date and exit reason. Fed by ``EngineHandle.history()``."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from condordesk.engine import api
from console.format import money
from gui import theme
from gui.charts import DASH_LINE, ChartPanel, pen
from gui.tables import TradeFilter, trades_model

ANY_REASON = "any exit reason"
_D0 = Decimal(0)


def daily_pnl(trades: Sequence[api.TradeRecord]) -> list[tuple[date, Decimal]]:
    """Realized P&L (net of commissions) per trading day, oldest first."""
    days: dict[date, Decimal] = defaultdict(lambda: _D0)
    for t in trades:
        if t.realized_pnl is not None:
            days[t.day] += t.realized_pnl
    return sorted(days.items())


def cumulative(days: Sequence[tuple[date, Decimal]]) -> list[Decimal]:
    """The running total of the daily P&L."""
    return list(itertools.accumulate(pnl for _, pnl in days))


class DayAxis(pg.AxisItem):  # type: ignore[misc]
    """Bar index → the trading day it stands for."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self.days: list[date] = []

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            i = round(v)
            out.append(self.days[i].strftime("%m-%d") if 0 <= i < len(self.days) and i == v else "")
        return out


class HistoryView(QWidget):
    """Daily and cumulative P&L charts over a trade table with filters.

    ``refresh_requested`` asks the window to fetch the history from the engine again."""

    refresh_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.trades: list[api.TradeRecord] = []
        self._user_range = False  # the range follows the journal until the operator sets one
        self.daily = ChartPanel("daily", "Daily P&L", time_axis=False)
        self.day_axis = DayAxis()
        self.daily.plot.setAxisItems({"bottom": self.day_axis})
        self.daily.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pen(theme.MUTED, 1, DASH_LINE)))
        self.bars: Any = None
        self.total = ChartPanel("cumulative", "Cumulative P&L", time_axis=False)
        self.total_axis = DayAxis()
        self.total.plot.setAxisItems({"bottom": self.total_axis})
        self.total_curve = self.total.plot.plot(
            pen=pen(theme.AMBER, 2), symbol="o", symbolSize=5, symbolBrush=theme.AMBER,
            fillLevel=0, brush=pg.mkBrush(255, 176, 32, 40),
        )  # fmt: skip
        self.model = trades_model()
        self.filtered = TradeFilter(self.model)
        self.table = QTableView()
        self.table.setModel(self.filtered)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)  # whole numbers, never "-…"
        self.model.modelReset.connect(self.table.resizeColumnsToContents)
        self.filtered.modelReset.connect(self.table.resizeColumnsToContents)
        self.filtered.layoutChanged.connect(self.table.resizeColumnsToContents)
        self.first, self.last = QDateEdit(), QDateEdit()
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._user_dates)
        self.reason = QComboBox()
        self.reason.addItem(ANY_REASON)
        self.reason.currentTextChanged.connect(self._filter)
        self.summary = QLabel("")
        self.summary.setObjectName("headerValue")
        refresh = QPushButton("Reload from journal")
        refresh.clicked.connect(self.refresh_requested.emit)
        self._build(refresh)

    def showEvent(self, event: QShowEvent) -> None:
        """Fit the columns once the table is on screen (trades may arrive while hidden)."""
        super().showEvent(event)
        self.table.resizeColumnsToContents()

    def _build(self, refresh: QPushButton) -> None:
        filters = QHBoxLayout()
        for widget in (QLabel("From"), self.first, QLabel("to"), self.last, QLabel("Exit"),
                       self.reason):  # fmt: skip
            filters.addWidget(widget)
        filters.addWidget(self.summary, 1, Qt.AlignmentFlag.AlignRight)
        filters.addWidget(refresh)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.daily)
        charts.addWidget(self.total)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(charts)
        split.addWidget(self.table)
        split.setSizes([300, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(split, 1)

    def set_trades(self, trades: Sequence[api.TradeRecord]) -> None:
        """Show the journal's finished condors (the filters keep their dates if still inside)."""
        self.trades = [t for t in trades if t.state == "closed"]
        self.model.set_rows(sorted(self.trades, key=lambda t: (t.day, t.id), reverse=True))
        reasons = sorted({t.exit_reason for t in self.trades if t.exit_reason})
        chosen = self.reason.currentText()
        self.reason.blockSignals(True)
        self.reason.clear()
        self.reason.addItems([ANY_REASON, *reasons])
        self.reason.setCurrentText(chosen if chosen in reasons else ANY_REASON)
        self.reason.blockSignals(False)
        if self.trades and not self._user_range:
            days = [t.day for t in self.trades]
            self._show_range(min(days), max(days))
        self._filter()

    def _user_dates(self) -> None:
        self._user_range = True
        self._filter()

    def set_range(self, first: date, last: date) -> None:
        """Filter the trades (and charts) to the days ``first``..``last``."""
        self._user_range = True
        self._show_range(first, last)

    def _show_range(self, first: date, last: date) -> None:
        for edit, day in ((self.first, first), (self.last, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)
        self._filter()

    def set_reason(self, reason: str | None) -> None:
        """Filter to one exit reason (None: any)."""
        self.reason.setCurrentText(reason or ANY_REASON)

    def _filter(self) -> None:
        first, last = _day(self.first.date()), _day(self.last.date())
        reason = self.reason.currentText()
        self.filtered.set_filter(first, last, None if reason in ("", ANY_REASON) else reason)
        shown = [t for t in self.trades if self.filtered.accepts(t)]
        self._draw(shown)

    def _draw(self, shown: Sequence[api.TradeRecord]) -> None:
        days = daily_pnl(shown)
        self.day_axis.days = self.total_axis.days = [d for d, _ in days]
        if self.bars is not None:
            self.daily.plot.removeItem(self.bars)
        values = [float(p) for _, p in days]
        self.bars = pg.BarGraphItem(
            x=list(range(len(days))), height=values, width=0.7,
            brushes=[pg.mkBrush(theme.pnl_color(v)) for v in values], pen=None,
        )  # fmt: skip
        self.daily.plot.addItem(self.bars)
        totals = [float(c) for c in cumulative(days)]
        self.total_curve.setData(list(range(len(days))), totals)
        self.daily.plot.enableAutoRange()  # the bars stand on zero
        self.total.plot.enableAutoRange(axis="x")
        lo, hi = min([0.0, *totals]), max([0.0, *totals])  # zero in view: a loss reads as one
        pad = max((hi - lo) * 0.08, 10.0)
        self.total.set_range("y", lo - pad, hi + pad)
        total = sum((p for _, p in days), _D0)
        wins = sum(1 for t in shown if (t.realized_pnl or _D0) > 0)
        if not self.trades:
            self.summary.setText("No closed trade in the journal yet")
        elif not shown:
            self.summary.setText("No trade matches the filter")
        else:
            rate = f"{100 * wins / len(shown):.0f}% winners"
            self.summary.setText(
                f"{len(shown)} trades over {len(days)} days · {rate} · total {money(total)}"
            )
        self.daily.title.setText(f"Daily P&L ({len(days)} days)")
        self.total.title.setText(f"Cumulative P&L {money(total)}")


def _day(q: QDate) -> date | None:
    return date(q.year(), q.month(), q.day()) if q.isValid() else None
