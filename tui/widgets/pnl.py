"""Today's realized and open P&L with a sparkline through the day."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from tui.format import money
from tui.state import Model


class PnlPanel(Vertical):
    """P&L figures and sparkline."""

    DEFAULT_CSS = """
    PnlPanel > Static { height: auto; }
    PnlPanel > Sparkline { height: 1fr; min-height: 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="pnl-figures")
        yield Sparkline([], id="pnl-spark")

    def show(self, model: Model) -> None:
        """Render the model."""
        total = model.total_pnl
        text = Text("P&L today ", style="bold")
        text.append(money(total), style="bold " + ("green" if total >= 0 else "red"))
        text.append(f"\nrealized {money(model.realized_pnl)}   open {money(model.unrealized_pnl)}")
        points = len(model.pnl_history)
        text.append(f"\n{points} sample(s), one a minute", style="dim")
        self.query_one("#pnl-figures", Static).update(text)
        data = [float(p.pnl) for p in model.pnl_history] + [float(total)]
        spark = self.query_one("#pnl-spark", Sparkline)
        if list(spark.data or []) != data:
            spark.data = data
