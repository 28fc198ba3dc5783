"""The intraday charts (pyqtgraph): SPX with each open condor's strikes as bands and its stop
levels, P&L per condor and in total, and a condor's mark against its credit, target and stop.

Each chart is a :class:`ChartPanel` (a title, a PNG button, a plot) redrawn by the window from
the :class:`~gui.state.Model` at most ten times a second; nothing here talks to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from condordesk.engine import api
from console.format import clock_label, minutes_et, price, strike
from gui import theme
from gui.state import Model

AXIS_WIDTH = 58
LABEL_FILL = (23, 25, 30, 190)  # a dark box behind marker labels: readable over any fill
SESSION = (9 * 60 + 30, 16 * 60)  # 09:30-16:00 New York, minutes since midnight
DASH_LINE = Qt.PenStyle.DashLine
DOT_LINE = Qt.PenStyle.DotLine
NO_BREAK_SPACE, WORD_JOINER = "\u00a0", "\u2060"

pg.setConfigOptions(antialias=True, background=theme.PANEL, foreground=theme.MUTED)


def unbroken(text: str) -> str:
    """``text`` (a figure with its sign, unit and name) kept on one line where a title wraps:
    no-break spaces, and a word joiner after a sign or a slash (``max loss -$1,710.00`` never
    ends a line at its minus)."""
    text = text.replace(" ", NO_BREAK_SPACE)
    for mark in "+-/":
        text = text.replace(mark, mark + WORD_JOINER)
    return text


def pen(color: str, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> Any:
    """A cosmetic pen."""
    return pg.mkPen(color=color, width=width, style=style)


def hline(
    y: float,
    color: str,
    label: str,
    style: Qt.PenStyle = DASH_LINE,
    pos: float = 0.02,
    *,
    below: bool = False,
) -> Any:
    """A horizontal line with its label at ``pos`` (0 the left end, 1 the right), above the line
    or ``below`` it."""
    anchor = (0, 0 if below else 1)
    return pg.InfiniteLine(
        pos=y, angle=0, pen=pen(color, 1.2, style), label=label,
        labelOpts={"position": pos, "color": color, "anchors": [anchor, anchor],
                   "fill": LABEL_FILL},
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
        # pyqtgraph makes each plot's options menu without a parent: left so, it outlives the
        # window and Qt deletes it whenever Python's garbage collector gets to it (while another
        # window paints, say); the panel owns it instead and deletes it with itself
        menu = self.plot.getPlotItem().ctrlMenu
        menu.setParent(self, menu.windowFlags())
        self.title = QLabel(title)
        self.title.setObjectName("panelTitle")
        self.title.setWordWrap(True)  # a long title takes a second line, never the width
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
        self._extras_key: object = None
        self._ranges: dict[str, tuple[float, float]] = {}
        for side in ("left", "bottom"):  # redrawn from a pixmap unless the axis changed
            self.plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot.getAxis("left").setWidth(AXIS_WIDTH)  # room for -12,345 (else labels vanish)

    def export_png(self, path: Path, width: int = 1200) -> Path:
        """Save the chart as a PNG ``width`` pixels wide; returns the path."""
        exporter = ImageExporter(self.plot.getPlotItem())
        exporter.parameters()["width"] = width
        exporter.parameters()["background"] = theme.PANEL
        exporter.export(str(path))
        return path

    def set_extras(self, key: object, build: Callable[[], Sequence[Any]]) -> None:
        """The chart's markers (lines, bands, labels): rebuilt with ``build`` only when ``key``
        changed since the last call (markers are costly to make at ten frames a second)."""
        if key == self._extras_key:
            return
        self._extras_key = key
        for item in self._extras:
            self.plot.removeItem(item)
        self._extras = list(build())
        for item in self._extras:
            self.plot.addItem(item)

    @property
    def extras(self) -> list[Any]:
        """The markers shown now."""
        return list(self._extras)

    def set_range(self, axis: str, lo: float, hi: float) -> None:
        """Show ``lo``..``hi`` on ``axis`` (``x`` or ``y``); nothing is redone if unchanged."""
        span = (round(lo, 2), round(hi, 2))
        if self._ranges.get(axis) == span:
            return
        self._ranges[axis] = span
        if axis == "x":
            self.plot.setXRange(lo, hi, padding=0)
        else:
            self.plot.setYRange(lo, hi, padding=0)

    def show_session(self, model: Model) -> None:
        """The x range: the regular session, widened to any point outside it."""
        lo, hi = float(SESSION[0]), float(SESSION[1])
        if model.spx.xs:
            lo, hi = min(lo, model.spx.xs[0]), max(hi, model.spx.xs[-1])
        pad = (hi - lo) * 0.01
        self.set_range("x", lo - pad, hi + pad)


def condor_color(model: Model, condor_id: str) -> str:
    """The colour of a condor in every chart (and in the table)."""
    return theme.SERIES[model.color_index(condor_id) % len(theme.SERIES)]


class SpxChart(ChartPanel):
    """SPX through the day; each open condor's put and call spreads as shaded bands, its short
    strikes and the SPX levels at which its stop would trigger (from the pricing model)."""

    def __init__(
        self, stop_levels: Callable[[api.CondorView], tuple[float | None, float | None]]
    ) -> None:
        super().__init__("spx", "SPX")
        self._stop_levels = stop_levels
        self._levels: dict[str, tuple[float | None, float | None]] = {}
        self._stop_lines: dict[tuple[str, int], Any] = {}  # moved, not remade, as SPX moves
        self.curve = self.plot.plot(pen=pen(theme.TEXT, 1.6))

    def draw(self, model: Model, *, heavy: bool = True) -> None:
        """Redraw; the stop levels (a root search per condor) only when ``heavy``."""
        self.curve.setData(list(model.spx.xs), list(model.spx.ys))
        held = model.held
        if heavy or any(v.id not in self._levels for v in held):
            self._levels = {v.id: self._stop_levels(v) for v in held}
        condors = tuple(
            (i, v.id, v.long_put, v.short_put, v.short_call, v.long_call, condor_color(model, v.id))
            for i, v in enumerate(held)
        )
        self.set_extras(condors, lambda: self._markers(condors))
        self._show_stops(condors)
        ys = list(model.spx.ys)
        for v in held:
            ys += [float(v.long_put), float(v.long_call)]
            ys += [x for x in self._levels.get(v.id, ()) if x is not None]
        self.show_session(model)
        if ys:
            lo, hi = min(ys), max(ys)
            pad = max((hi - lo) * 0.06, 2.0)
            self.set_range("y", math.floor(lo - pad), math.ceil(hi + pad))
        spot = f"{model.spot:.2f}" if model.spot is not None else "—"
        self.title.setText(f"SPX {spot}   (bands: open condors' spreads · dotted red: stops)")

    @staticmethod
    def _tag(condor_id: str) -> str:
        return f"#{condor_id.rsplit('-', 1)[-1]}"  # the condor's number of the day

    def _markers(self, condors: Sequence[tuple[Any, ...]]) -> list[Any]:
        items: list[Any] = []
        for i, cid, long_put, short_put, short_call, long_call, color in condors:
            at = 0.02 + 0.16 * (i % 3)  # labels of several condors side by side
            for low, high in ((long_put, short_put), (short_call, long_call)):
                items.append(pg.LinearRegionItem(
                    (float(low), float(high)), orientation="horizontal", movable=False,
                    brush=pg.mkBrush(255, 90, 95, 34), pen=pen(color, 0.6, DOT_LINE),
                ))  # fmt: skip
            for short, side in ((short_put, "P"), (short_call, "C")):  # labels face SPX
                label = f"{self._tag(cid)} {strike(short)}{side}"
                items.append(hline(float(short), color, label, pos=at, below=side == "C"))
        return items

    def _show_stops(self, condors: Sequence[tuple[Any, ...]]) -> None:
        wanted: dict[tuple[str, int], tuple[float, str, float]] = {}
        for i, cid, *_ in condors:
            for side, level in enumerate(self._levels.get(cid, ())):
                if level is not None:
                    text = f"{self._tag(cid)} stop ≈ {level:.0f}"
                    wanted[(cid, side)] = (level, text, 0.52 + 0.16 * (i % 3))
        for key in [k for k in self._stop_lines if k not in wanted]:
            self.plot.removeItem(self._stop_lines.pop(key))
        for key, (level, text, at) in wanted.items():
            line = self._stop_lines.get(key)
            if line is None:
                line = self._stop_lines[key] = hline(level, theme.RED, text, DOT_LINE, pos=at)
                self.plot.addItem(line)
            elif line.value() != level:
                line.setValue(level)
                line.label.setFormat(text)

    @property
    def stop_labels(self) -> list[str]:
        """The stop levels' labels shown now."""
        return [line.label.format for line in self._stop_lines.values()]


class PnlChart(ChartPanel):
    """Today's P&L: the total (realized plus open) and each condor's own."""

    def __init__(self) -> None:
        super().__init__("pnl", "P&L today")
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pen(theme.MUTED, 1, DASH_LINE)))
        self.legend = self.plot.addLegend(
            offset=(-8, 8), labelTextColor=theme.TEXT, brush=pg.mkBrush(31, 34, 40, 210)
        )
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
        for cid, trail in sorted(model.condor_pnl.items()):
            curve = self._curves.get(cid)
            if curve is None:
                color = condor_color(model, cid)
                curve = self._curves[cid] = self.plot.plot(pen=pen(color, 1.4), name=cid)
            curve.setData(list(trail.xs), list(trail.ys))
        self.show_session(model)
        if ys or any(t.ys for t in model.condor_pnl.values()):
            values = ys + [y for t in model.condor_pnl.values() for y in t.ys]
            lo, hi = min(0.0, *values), max(0.0, *values)
            pad = max((hi - lo) * 0.08, 10.0)
            self.set_range("y", math.floor(lo - pad), math.ceil(hi + pad))
        total = model.total_pnl
        plus = "+" if total > 0 else ""
        self.title.setText(
            f"P&L today  {unbroken(f'total {plus}{total:,.2f}')}   "
            f"(realized {unbroken(f'{model.realized_pnl:,.2f}')} · "
            f"open {unbroken(f'{model.unrealized_pnl:,.2f}')})"
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
            self.set_extras(None, list)
            self.title.setText("Mark (no condor selected)")
            return
        trail = model.condor_mark.get(view.id)
        xs, ys = (list(trail.xs), list(trail.ys)) if trail else ([], [])
        self.curve.setData(xs, ys)
        self.curve.setPen(pen(condor_color(model, view.id), 2))
        lines = tuple(
            (value, color, label, style, at)
            for value, color, label, style, at in (  # the backup stop sits just above the stop:
                (view.credit, theme.TEXT, "credit", DASH_LINE, 0.02),  # its label further right,
                (view.profit_target, theme.GREEN, "target", DASH_LINE, 0.02),  # the stop's
                (view.stop_trigger, theme.RED, "stop", DASH_LINE, 0.02),  # under its line
                (view.stop_backup, theme.RED, "backup stop", DOT_LINE, 0.3),
            )
            if value is not None
        )
        self.set_extras(lines, lambda: [
            hline(float(value), color, f"{label} {price(value)}", style, pos=at,
                  below=label == "stop")
            for value, color, label, style, at in lines
        ])  # fmt: skip
        self.show_session(model)
        levels = ys + [float(line[0]) for line in lines if line[0] is not None]
        if levels:
            hi = max(levels)
            self.set_range("y", 0.0, round(hi + max(hi * 0.15, 0.2), 1))  # room for labels
        self.title.setText(
            f"Mark {view.id}  {price(view.mark)}   ({unbroken(f'credit {price(view.credit)}')} · "
            f"{unbroken(f'target {price(view.profit_target)}')} · "
            f"{unbroken(f'stop {price(view.stop_trigger)}')})"
        )
