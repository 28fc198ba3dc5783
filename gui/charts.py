"""The intraday charts (pyqtgraph): SPX with each open condor's strikes as bands and its stop
levels, P&L per condor and in total, and a condor's mark against its credit, target and stop.

Each chart is a :class:`ChartPanel` (a title, a PNG button, a plot) redrawn by the window from
the :class:`~gui.state.Model` at most ten times a second; nothing here talks to the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from condordesk.engine import api
from gui import theme
from gui.format import clock_label, minutes_et, price, strike
from gui.state import Model

SESSION = (9 * 60 + 30, 16 * 60)  # 09:30-16:00 New York, minutes since midnight
DASH_LINE = Qt.PenStyle.DashLine
DOT_LINE = Qt.PenStyle.DotLine

pg.setConfigOptions(antialias=True, background=theme.PANEL, foreground=theme.MUTED)


def pen(color: str, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> Any:
    """A cosmetic pen."""
    return pg.mkPen(color=color, width=width, style=style)


def hline(
    y: float, color: str, label: str, style: Qt.PenStyle = DASH_LINE, pos: float = 0.02
) -> Any:
    """A horizontal line with its label at the left end."""
    return pg.InfiniteLine(
        pos=y, angle=0, pen=pen(color, 1.2, style), label=label,
        labelOpts={"position": pos, "color": color, "anchors": [(0, 1), (0, 1)]},
    )  # fmt: skip


class TimeAxis(pg.AxisItem):  # type: ignore[misc]
    """Minutes since midnight in New York, labelled ``HH:MM`` on round times."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> Any:
        span = maxVal - minVal
        major, minor = (60, 30) if span > 240 else (30, 10) if span > 60 else (10, 5)
        return [(major, 0), (minor, 0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [clock_label(v) for v in values]


class ChartPanel(QWidget):
    """A titled plot with a button that exports it as a PNG.

    ``export_requested`` carries the panel when its PNG button is clicked (the window asks
    where to save it)."""

    export_requested = Signal(object)

    def __init__(self, name: str, title: str, *, time_axis: bool = True) -> None:
        super().__init__()
        self.name = name
        self.setObjectName(f"chart-{name}")
        axes = {"bottom": TimeAxis(orientation="bottom")} if time_axis else {}
        self.plot = pg.PlotWidget(axisItems=axes)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.getPlotItem().hideButtons()
        self.plot.setMenuEnabled(False)
        self.title = QLabel(title)
        self.title.setObjectName("panelTitle")
        self.export_button = QToolButton()
        self.export_button.setText("PNG…")
        self.export_button.setToolTip(f"Export the {title.lower()} chart as a PNG image")
        self.export_button.clicked.connect(lambda: self.export_requested.emit(self))
        top = self.top = QHBoxLayout()
        top.setContentsMargins(2, 0, 2, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self._extras: list[Any] = []

    def export_png(self, path: Path, width: int = 1200) -> Path:
        """Save the chart as a PNG ``width`` pixels wide; returns the path."""
        exporter = ImageExporter(self.plot.getPlotItem())
        exporter.parameters()["width"] = width
        exporter.parameters()["background"] = theme.PANEL
        exporter.export(str(path))
        return path

    def set_extras(self, items: Sequence[Any]) -> None:
        """Replace the chart's markers (lines, bands, labels) with ``items``."""
        for item in self._extras:
            self.plot.removeItem(item)
        self._extras = list(items)
        for item in self._extras:
            self.plot.addItem(item)

    def show_session(self, model: Model) -> None:
        """The x range: the regular session, widened to any point outside it."""
        lo, hi = float(SESSION[0]), float(SESSION[1])
        if model.spx.xs:
            lo, hi = min(lo, model.spx.xs[0]), max(hi, model.spx.xs[-1])
        self.plot.setXRange(lo, hi, padding=0.01)


def _series_color(index: int) -> str:
    return theme.SERIES[index % len(theme.SERIES)]


class SpxChart(ChartPanel):
    """SPX through the day; each open condor's put and call spreads as shaded bands, its short
    strikes and the SPX levels at which its stop would trigger (from the pricing model)."""

    def __init__(self, stop_levels: Callable[[api.CondorView], tuple[float | None, float | None]]):
        super().__init__("spx", "SPX")
        self._stop_levels = stop_levels
        self.curve = self.plot.plot(pen=pen(theme.TEXT, 1.6))

    def draw(self, model: Model) -> None:
        self.curve.setData(list(model.spx.xs), list(model.spx.ys))
        items: list[Any] = []
        ys = list(model.spx.ys)
        for i, view in enumerate(model.held):
            color = _series_color(i)
            for low, high in ((view.long_put, view.short_put), (view.short_call, view.long_call)):
                band = pg.LinearRegionItem(
                    (float(low), float(high)), orientation="horizontal", movable=False,
                    brush=pg.mkBrush(255, 90, 95, 34), pen=pen(color, 0.6, DOT_LINE),
                )  # fmt: skip
                items.append(band)
            items.append(
                hline(float(view.short_put), color, f"{view.id} {strike(view.short_put)}P")
            )
            items.append(hline(float(view.short_call), color, f"{strike(view.short_call)}C"))
            ys += [float(view.long_put), float(view.long_call)]
            for level in self._stop_levels(view):
                if level is not None:
                    items.append(hline(level, theme.RED, f"stop ≈ {level:.0f}", DOT_LINE, pos=0.85))
                    ys.append(level)
        self.set_extras(items)
        self.show_session(model)
        if ys:
            lo, hi = min(ys), max(ys)
            pad = max((hi - lo) * 0.06, 2.0)
            self.plot.setYRange(lo - pad, hi + pad, padding=0)
        spot = f"{model.spot:.2f}" if model.spot is not None else "—"
        self.title.setText(f"SPX {spot}   (bands: open condors' spreads · dotted red: stops)")


class PnlChart(ChartPanel):
    """Today's P&L: the total (realized plus open) and each condor's own."""

    def __init__(self) -> None:
        super().__init__("pnl", "P&L today")
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pen(theme.MUTED, 1, DASH_LINE)))
        self.legend = self.plot.addLegend(offset=(8, 8), labelTextColor=theme.TEXT)
        self.total = self.plot.plot(pen=pen(theme.AMBER, 2.4), name="total")
        self._curves: dict[str, Any] = {}

    def draw(self, model: Model) -> None:
        xs = [minutes_et(p.ts) for p in model.pnl_history]
        ys = [float(p.pnl) for p in model.pnl_history]
        if model.ts is not None:  # the line ends at the latest figure
            xs.append(minutes_et(model.ts))
            ys.append(float(model.total_pnl))
        self.total.setData(xs, ys)
        for cid in [c for c in self._curves if c not in model.condor_pnl]:
            self.plot.removeItem(self._curves.pop(cid))
        for i, (cid, trail) in enumerate(model.condor_pnl.items()):
            curve = self._curves.get(cid)
            if curve is None:
                curve = self._curves[cid] = self.plot.plot(pen=pen(_series_color(i), 1.4), name=cid)
            curve.setData(list(trail.xs), list(trail.ys))
        self.show_session(model)
        self.plot.enableAutoRange(axis="y")
        total = model.total_pnl
        self.title.setText(
            f"P&L today  total {'+' if total > 0 else ''}{total:,.2f}   "
            f"(realized {model.realized_pnl:,.2f} · open {model.unrealized_pnl:,.2f})"
        )


class MarkChart(ChartPanel):
    """One condor's mark (the cost to buy it back) against its entry credit, profit target
    and stop trigger."""

    def __init__(self) -> None:
        super().__init__("mark", "Mark")
        self.curve = self.plot.plot(pen=pen(theme.BLUE, 2))

    def draw(self, model: Model, view: api.CondorView | None) -> None:
        if view is None:
            self.curve.setData([], [])
            self.set_extras([])
            self.title.setText("Mark (no condor selected)")
            return
        trail = model.condor_mark.get(view.id)
        xs, ys = (list(trail.xs), list(trail.ys)) if trail else ([], [])
        self.curve.setData(xs, ys)
        items, levels = [], list(ys)
        for value, color, label, style in (
            (view.credit, theme.TEXT, "credit", DASH_LINE),
            (view.profit_target, theme.GREEN, "target", DASH_LINE),
            (view.stop_trigger, theme.RED, "stop", DASH_LINE),
            (view.stop_backup, theme.RED, "backup stop", DOT_LINE),
        ):
            if value is not None:
                items.append(hline(float(value), color, f"{label} {price(value)}", style))
                levels.append(float(value))
        self.set_extras(items)
        self.show_session(model)
        if levels:
            lo, hi = min([0.0, *levels]), max(levels)
            self.plot.setYRange(lo, hi + max(hi * 0.08, 0.1), padding=0)
        self.title.setText(
            f"Mark {view.id}  {price(view.mark)}   (credit {price(view.credit)} · "
            f"target {price(view.profit_target)} · stop {price(view.stop_trigger)})"
        )
