"""Net greeks, max loss and the P&L-at-expiry profile of the held condors."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from condordesk.engine import api
from tui.format import greek, money, points, price, strike
from tui.risk import breakevens, held, max_loss, max_profit, profile_chart
from tui.state import Model


def greeks_text(model: Model) -> Text:
    """Net greeks (dollars), max loss and profit at expiry, breakevens."""
    text = Text()
    views = held(model.condors.values())
    g = model.greeks
    text.append("Net greeks ($)\n", style="bold")
    if g is None:
        text.append("  Δ —   Γ —   Θ —   V —\n", style="dim")
    else:
        text.append(
            f"  Δ {greek(g.delta)}   Γ {greek(g.gamma, 3)}\n  Θ {greek(g.theta)}/day   "
            f"V {greek(g.vega)}/vol pt\n"
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


def chart_text(
    views: Sequence[api.CondorView], spot: Decimal | None, width: int, height: int
) -> Text:
    """The profile chart, colored: profit green, loss red, SPX marked ▲ on the axis."""
    chart = profile_chart(views, spot, width, height)
    if chart is None:
        return Text("P&L at expiry: no open position", style="dim")
    text = Text()
    text.append(f"best {money(chart.top)}  worst {money(chart.bottom)}\n", style="dim")
    for r, row in enumerate(chart.rows):
        style = "green" if r < chart.zero_row else ("red" if r > chart.zero_row else "dim")
        text.append(row + "\n", style=style)
    text.append(chart.axis + "\n", style="bold yellow")
    lo, hi = strike(chart.lo.quantize(Decimal(1))), strike(chart.hi.quantize(Decimal(1)))
    middle = f"SPX {price(spot)}" if spot is not None else ""
    gap = max(2, width - len(lo) - len(hi) - len(middle))
    text.append(f"{lo}{' ' * (gap // 2)}{middle}{' ' * (gap - gap // 2)}{hi}", style="dim")
    return text


class GreeksPanel(Static):
    """Net greeks and max loss."""

    def show(self, model: Model) -> None:
        """Render the model."""
        self.update(greeks_text(model))


class ProfilePanel(Static):
    """The compact P&L-at-expiry chart; ``condor_only`` limits it to the selected condor."""

    def __init__(self, *, id: str | None = None, condor_only: bool = False) -> None:
        super().__init__(id=id)
        self.condor_only = condor_only
        self._views: list[api.CondorView] = []
        self._spot: Decimal | None = None
        self._drawn: tuple[object, ...] | None = None

    def show(self, model: Model, selected: str | None = None) -> None:
        """Render the held condors (or only ``selected``)."""
        views = list(model.condors.values())
        if self.condor_only:
            views = [v for v in views if v.id == selected]
        self._views, self._spot = held(views), model.spot
        self._draw()

    def _draw(self) -> None:
        width = max(self.content_size.width, 20)
        height = max(self.content_size.height - 3, 3)
        key = (tuple(self._views), self._spot, width, height)
        if key != self._drawn:
            self._drawn = key
            self.update(chart_text(self._views, self._spot, width, height))

    def on_resize(self) -> None:
        self._draw()
