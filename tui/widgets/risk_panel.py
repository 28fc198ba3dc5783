"""Net greeks, max loss and the P&L-at-expiry profile of the held condors."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from condordesk.engine import api
from console.format import greek, money, points, strike
from console.model import Model, decay_to_close
from tui.risk import ProfileChart, breakevens, held, max_loss, max_profit, profile_chart
from tui.widgets.live import show


def greeks_text(model: Model) -> Text:
    """Net greeks (dollars), max loss and profit at expiry, breakevens."""
    text = Text()
    views = held(model.condors.values())
    g = model.greeks
    text.append("Net greeks ($)\n", style="bold")
    if g is None:
        text.append("  Δ —   Γ —   V —\n  Θ —\n", style="dim")
    else:
        decay = decay_to_close(model)
        theta = f"{money(decay)} to the close" if decay is not None else "—"
        text.append(
            f"  Δ {greek(g.delta)}  Γ {greek(g.gamma, 3)}  V {greek(g.vega)}\n  Θ {theta}\n"
        )
    if not views:
        text.append("No open position.", style="dim")
        return text
    text.append("Max loss   ", style="bold")
    text.append(money(-max_loss(views)) + "\n", style="bold red")
    text.append("Max profit ", style="bold")
    text.append(money(max_profit(views)) + "\n", style="green")
    bes = " / ".join(points(b) for b in breakevens(views)) or "—"
    text.append(f"Breakevens {bes}")
    return text


def chart_text(chart: ProfileChart | None) -> Text:
    """The profile chart's body: best and worst, then profit green and loss red."""
    if chart is None:
        return Text("No open position.", style="dim")
    text = Text(f"best {money(chart.top)}  worst {money(chart.bottom)}", style="dim")
    for r, row in enumerate(chart.rows):
        style = "green" if r < chart.zero_row else ("red" if r > chart.zero_row else "dim")
        text.append("\n" + row, style=style)
    return text


def axis_text(chart: ProfileChart | None, spot: Decimal | None, width: int) -> Text:
    """The SPX scale under the chart, ``▲`` at the spot."""
    if chart is None:
        return Text("")
    marks = [" "] * width
    if spot is not None and chart.lo <= spot <= chart.hi:
        step = (chart.hi - chart.lo) / max(width - 1, 1)
        marks[min(width - 1, int((spot - chart.lo) / step))] = "▲"
    lo, hi = strike(chart.lo.quantize(Decimal(1))), strike(chart.hi.quantize(Decimal(1)))
    middle = "▲ SPX"
    gap = max(2, width - len(lo) - len(hi) - len(middle))
    text = Text("".join(marks), style="bold yellow")
    text.append(f"\n{lo}{' ' * (gap // 2)}{middle}{' ' * (gap - gap // 2)}{hi}", style="dim")
    return text


class GreeksPanel(Static):
    """Net greeks and max loss."""

    def show(self, model: Model) -> None:
        """Render the model."""
        show(self, greeks_text(model))


class ProfilePanel(Vertical):
    """The compact P&L-at-expiry chart; ``condor_only`` limits it to the selected condor.
    The body is redrawn when the condors' strikes or credits change, the axis when SPX
    moves a column: a quote costs one line."""

    DEFAULT_CSS = """
    ProfilePanel > .chart-body { height: 1fr; }
    ProfilePanel > .chart-axis { height: 2; }
    """

    def __init__(self, *, id: str | None = None, condor_only: bool = False) -> None:
        super().__init__(id=id)
        self.condor_only = condor_only
        self._views: list[api.CondorView] = []
        self._spot: Decimal | None = None
        self._chart: ProfileChart | None = None
        self._key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static(classes="chart-body")
        yield Static(classes="chart-axis")

    def show(self, model: Model, selected: str | None = None) -> None:
        """Render the held condors (or only ``selected``)."""
        views = list(model.condors.values())
        if self.condor_only:
            views = [v for v in views if v.id == selected]
        self._views, self._spot = held(views), model.spot
        self._draw()

    def _draw(self) -> None:
        body = self.query_one(".chart-body", Static)
        width = max(body.content_size.width, 20)
        height = max(body.content_size.height - 1, 3)
        geometry = tuple(
            (v.long_put, v.short_put, v.short_call, v.long_call, v.quantity, v.credit)
            for v in self._views
        )
        chart, spot = self._chart, self._spot
        outside = chart is not None and spot is not None and not chart.lo <= spot <= chart.hi
        if (geometry, width, height) != self._key or outside:
            self._key = (geometry, width, height)
            self._chart = chart = profile_chart(self._views, spot, width, height)
            show(body, chart_text(chart))
        show(self.query_one(".chart-axis", Static), axis_text(chart, spot, width))

    def on_resize(self) -> None:
        if self.is_mounted:
            self._draw()
