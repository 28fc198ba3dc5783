"""The risk graph, like a broker's analysis tab: P&L across SPX at expiry and now (T+0), the
current SPX, the breakevens and the day's expected move, for one condor or the whole book,
with the net greeks beneath."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QLabel

from condordesk.engine import api
from console.format import greek, money, points
from console.model import decay_to_close
from gui import risk, theme
from gui.charts import DASH_LINE, DOT_LINE, LABEL_FILL, ChartPanel, pen, unbroken
from gui.state import Model

BOOK = "Whole book"


class RiskChart(ChartPanel):
    """P&L at expiry (filled green above zero, red below) and now, across SPX."""

    def __init__(self) -> None:
        super().__init__("risk", "Risk graph", time_axis=False)
        self.scope = QComboBox()
        self.scope.setToolTip("Show the risk of the whole book or of one condor")
        self.scope.addItem(BOOK)
        self.scope.setMinimumContentsLength(12)
        self.top.insertWidget(1, self.scope)
        self.greeks = QLabel("")
        self.greeks.setObjectName("greeks")
        self.greeks.setWordWrap(True)
        self.layout().addWidget(self.greeks)  # type: ignore[union-attr]
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pen(theme.MUTED, 1, DASH_LINE)))
        self.plot.getPlotItem().setLabel("bottom", "SPX at expiry / now")
        self.profit = self.plot.plot(pen=None, fillLevel=0, brush=pg.mkBrush(53, 199, 123, 70))
        self.loss = self.plot.plot(pen=None, fillLevel=0, brush=pg.mkBrush(255, 90, 95, 70))
        self.expiry = self.plot.plot(pen=pen(theme.TEXT, 2), name="at expiry")
        self.now = self.plot.plot(pen=pen(theme.CYAN, 2, DASH_LINE), name="now (T+0)")
        self.graph: risk.RiskGraph | None = None
        self._key: object = None
        # moved as SPX moves (making new ones each time costs a frame)
        self.em_band = pg.LinearRegionItem(
            (0, 0), movable=False, pen=pen(theme.BLUE, 0.5, DOT_LINE),
            brush=pg.mkBrush(78, 161, 255, 28),
        )  # fmt: skip
        # labels inside the plot however short it is: EM's hangs from the top, inside the band;
        # SPX's stands on the bottom
        self.em_line = _vline(0, theme.BLUE, "", 0.99, side=1.0, hang=0.0)
        self.spot_line = _vline(0, theme.AMBER, "", 0.01, hang=1.0)
        for item in (self.em_band, self.em_line, self.spot_line):
            item.hide()
            self.plot.addItem(item)

    def set_scopes(self, ids: list[str]) -> None:
        """The condors the operator can pick (the book is always there)."""
        current = [self.scope.itemText(i) for i in range(1, self.scope.count())]
        if current == ids:
            return
        chosen = self.scope.currentText()
        self.scope.blockSignals(True)
        self.scope.clear()
        self.scope.addItems([BOOK, *ids])
        self.scope.setCurrentText(chosen if chosen in ids else BOOK)
        self.scope.blockSignals(False)

    def draw(self, model: Model, *, heavy: bool = True) -> None:
        """Redraw; the curves are priced again only when ``heavy`` or the condors changed."""
        held = model.held
        self.set_scopes([v.id for v in held])
        scope = self.scope.currentText()
        views = held if scope == BOOK else [v for v in held if v.id == scope]
        key = (scope, tuple((v.id, v.credit, v.quantity) for v in views))
        if heavy or key != self._key:
            self._key = key
            self._price(model, views, scope)
        graph = self.graph
        text = self._engine_greeks(model.greeks) if graph is None else (
            self._greeks_text(model, graph, scope)
        )  # fmt: skip
        decay = decay_to_close(model) if scope == BOOK else None
        if decay is not None:  # on a 0DTE book, what compares with max profit
            text += f"   ·   by the close (SPX unchanged) {unbroken(money(decay))}"
        self.greeks.setText(text)

    def _price(self, model: Model, views: list[api.CondorView], scope: str) -> None:
        years = risk.years_left(model.ts, model.session_close)
        self.graph = graph = risk.risk_graph(views, model.spot, model.expected_move, years)
        if graph is None:
            for curve in (self.profit, self.loss, self.expiry, self.now):
                curve.setData([], [])
            self.set_extras(None, list)
            self._spot_marks(None, None)
            self.title.setText("Risk graph (no open condor)")
            return
        self.expiry.setData(graph.xs, graph.expiry)
        self.profit.setData(graph.xs, [max(y, 0.0) for y in graph.expiry])
        self.loss.setData(graph.xs, [min(y, 0.0) for y in graph.expiry])
        self.now.setData(graph.xs, graph.now or [])
        self.set_extras(tuple(graph.breakevens), lambda: _breakeven_lines(graph))
        self._spot_marks(model.spot, model.expected_move)
        self.set_range("x", graph.xs[0], graph.xs[-1])
        values = graph.expiry + (graph.now or [])
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.08
        self.set_range("y", math.floor(lo - pad), math.ceil(hi + pad))
        label = "book" if scope == BOOK else scope
        self.title.setText(
            f"Risk graph ({label}): {unbroken(f'max profit {money(graph.max_profit)}')} · "
            f"{unbroken(f'max loss {money(-graph.max_loss)}')}   (white: at expiry · cyan: now)"
        )

    def _spot_marks(self, spot: Decimal | None, em: Decimal | None) -> None:
        """SPX, and the expected move around it."""
        self.spot_line.setVisible(spot is not None)
        show_em = spot is not None and bool(em)
        self.em_band.setVisible(show_em)
        self.em_line.setVisible(show_em)
        if spot is None:
            return
        self.spot_line.setValue(float(spot))
        self.spot_line.label.setFormat(f"SPX {spot:.2f}")
        if show_em:
            assert em is not None
            lo, hi = float(spot - em), float(spot + em)
            self.em_band.setRegion((lo, hi))
            self.em_line.setValue(hi)
            self.em_line.label.setFormat(f"±EM {points(em)}")

    def _greeks_text(self, model: Model, graph: risk.RiskGraph, scope: str) -> str:
        if scope == BOOK and model.greeks is not None:
            return self._engine_greeks(model.greeks)
        if graph.greeks is None:
            return "Greeks: n/a (no mark or expected move to price with yet)"
        return "Model greeks (Black-Scholes at the condor's implied vol): " + _greeks(graph.greeks)

    @staticmethod
    def _engine_greeks(g: api.PositionGreeks | None) -> str:
        if g is None:
            return "Net greeks: n/a (no fresh greeks for every leg)"
        return "Net greeks of the book (engine): " + _greeks(g)


def _greeks(g: api.PositionGreeks) -> str:
    return "   ".join(
        unbroken(term)
        for term in (f"Δ {greek(g.delta)} $/pt", f"Γ {greek(g.gamma, 3)} $/pt²",
                     f"Θ {greek(g.theta)} $/day", f"Vega {greek(g.vega)} $/vol-pt")
    )  # fmt: skip


def _breakeven_lines(graph: risk.RiskGraph) -> list[Any]:
    items = []
    for i, be in enumerate(graph.breakevens):  # labels outside the profit zone
        side = 1.0 if i % 2 == 0 else 0.0
        items.append(_vline(float(be), theme.MUTED, f"BE {be:.2f}", 0.5, side))
    return items


def _vline(
    x: float, color: str, label: str, position: float, side: float = 0.0, hang: float = 0.5
) -> Any:
    """A vertical line labelled on its right (``side`` 0) or its left (``side`` 1), the label's
    top (``hang`` 0), middle or bottom (1) at ``position`` (0 the bottom of the plot, 1 its top)."""
    anchor = (side, hang)
    return pg.InfiniteLine(
        pos=x, angle=90, pen=pen(color, 1.2, DOT_LINE), label=label,
        labelOpts={"position": position, "color": color, "anchors": [anchor, anchor],
                   "fill": LABEL_FILL},
    )  # fmt: skip
