"""One condor in detail: legs, prices, stops, distances, its risk profile, orders and fills."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from condordesk.engine import api
from console.format import DASH, et_stamp, money, points, price, strike
from console.model import Model, Part
from tui.risk import breakevens, distance, held, max_loss, max_profit
from tui.screens.base import ConsoleScreen
from tui.widgets import ProfilePanel, StatusBar
from tui.widgets.activity import STATUS_STYLES, order_price
from tui.widgets.condors import stop_state_text
from tui.widgets.keybar import KeyBar


def _em(units: Decimal | None) -> str:
    return f" = {units:.2f} EM" if units is not None else ""


def detail_table(view: api.CondorView, model: Model) -> Table:
    """Every field of a condor, with distances and risk."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("Condor", f"{view.id}  ({view.state}{', first trade' if view.first_trade else ''})")
    legs = (
        f"long {strike(view.long_put)}P  short {strike(view.short_put)}P  "
        f"short {strike(view.short_call)}C  long {strike(view.long_call)}C"
    )
    t.add_row("Legs", legs)
    t.add_row("Quantity", str(view.quantity))
    t.add_row("Opened", et_stamp(view.opened_ts))
    t.add_row("Credit", price(view.credit))
    t.add_row("Mark / natural", f"{price(view.mark)} / {price(view.debit)}")
    pnl = view.unrealized_pnl if view.realized_pnl is None else view.realized_pnl
    t.add_row("P&L", money(pnl))
    t.add_row("Profit target", price(view.profit_target))
    width = max(view.short_put - view.long_put, view.long_call - view.short_call)
    backup = (
        DASH if view.stop_backup is None else f"{price(view.stop_backup)} (limit {price(width)})"
    )
    t.add_row(
        "Stop",
        f"trigger {price(view.stop_trigger)}  limit {price(view.stop_limit)}  backup {backup}",
    )
    t.add_row("Stop at broker", stop_state_text(view))
    if model.spot is not None and view.state in ("open", "closing"):
        d = distance(view, model.spot, model.expected_move)
        t.add_row("SPX to short put", f"{points(d.put_points)} pt{_em(d.put_em)}")
        t.add_row("SPX to short call", f"{points(d.call_points)} pt{_em(d.call_em)}")
    views = held([view])
    if views:
        t.add_row("Max loss / profit", f"{money(-max_loss(views))} / {money(max_profit(views))}")
        bes = " / ".join(points(b) for b in breakevens(views)) or DASH
        t.add_row("Breakevens", bes)
    if view.exit_reason:
        t.add_row("Exit", view.exit_reason)
    return t


def condor_activity(condor_id: str, model: Model) -> Table:
    """The condor's orders and fills."""
    t = Table(expand=True, title="Orders and fills", title_justify="left")
    for col in ("Order", "Type", "Qty", "Price", "Status"):
        t.add_column(col)
    for o in [o for o in model.orders.values() if o.condor_id == condor_id]:
        status = Text(o.status + (f" ({o.reason})" if o.reason else ""),
                      style=STATUS_STYLES.get(o.status, ""))  # fmt: skip
        t.add_row(o.order_ref, o.order_type, str(o.quantity), order_price(o), status)
    for f in [f for f in model.fills if f.condor_id == condor_id]:
        t.add_row(f"  fill {f.exec_id}", f.side, str(f.quantity), price(f.price), f.symbol)
    return t


class CondorScreen(ConsoleScreen):
    """The selected condor ([ and ] choose another)."""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="condor-top"):
            yield Static(id="condor-detail")
            yield ProfilePanel(id="condor-profile", condor_only=True)
        yield Static(id="condor-activity")
        yield KeyBar()

    def show_body(self, model: Model, parts: set[Part], selected: str | None) -> None:
        view = model.condors.get(selected or "")
        if view is None:
            view = next((v for v in model.history if v.id == selected), None)
        detail = self.query_one("#condor-detail", Static)
        if view is None:
            detail.update(Text("No condor selected: none today yet, or pick one on the "
                               "dashboard (1) with the arrow keys.", style="dim"))  # fmt: skip
            self.query_one("#condor-activity", Static).update("")
            self.query_one(ProfilePanel).show(model, None)
            return
        detail.update(detail_table(view, model))
        self.query_one(ProfilePanel).show(model, view.id)
        if parts & {"orders", "fills", "condors"}:
            self.query_one("#condor-activity", Static).update(condor_activity(view.id, model))
