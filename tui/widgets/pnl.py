"""Today's realized and open P&L with a sparkline through the day."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.format import money
from console.model import Model
from tui.widgets.live import show

_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, height: int) -> list[str]:
    """Rows (top first) of a block-character sparkline of ``values`` squeezed into ``width``
    columns (each column shows the last value of its share of the series). Zero is always on
    the scale and marked ``─`` where no bar covers it, so a -$5 day reads as just below zero,
    not as full bars."""
    if not values or width <= 0 or height <= 0:
        return []
    n = len(values)
    cols = [values[min(n - 1, ((i + 1) * n) // width - 1)] for i in range(min(width, n))]
    lo, hi = min(*cols, 0.0), max(*cols, 0.0)
    span = (hi - lo) or 1.0
    steps = height * 8 - 1
    eighths = [round((v - lo) / span * steps) + 1 for v in cols]
    zero = round((0.0 - lo) / span * steps) + 1
    zero_row = height - 1 - (zero - 1) // 8
    rows = []
    for r in range(height):
        floor = (height - 1 - r) * 8
        cells = [_BLOCKS[max(0, min(8, e - floor))] for e in eighths]
        if r == zero_row:
            cells = ["─" if c == " " else c for c in cells]
        rows.append("".join(cells))
    return rows


class PnlPanel(Vertical):
    """P&L figures and sparkline."""

    DEFAULT_CSS = """
    PnlPanel > #pnl-figures { height: 3; }
    PnlPanel > #pnl-spark { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="pnl-figures")
        yield Static(id="pnl-spark")

    def show(self, model: Model) -> None:
        """Render the model."""
        total = model.total_pnl
        text = Text("P&L today ", style="bold")
        text.append(money(total), style="bold " + ("green" if total >= 0 else "red"))
        text.append(f"\nrealized {money(model.realized_pnl)}   open {money(model.unrealized_pnl)}")
        text.append(f"\n{len(model.pnl_history)} sample(s), one a minute", style="dim")
        show(self.query_one("#pnl-figures", Static), text)
        spark = self.query_one("#pnl-spark", Static)
        size = spark.content_size
        data = [float(p.pnl) for p in model.pnl_history] + [float(total)]
        rows = sparkline(data, max(size.width, 10), max(size.height, 1))
        show(spark, Text("\n".join(rows), style="green" if total >= 0 else "red"))
