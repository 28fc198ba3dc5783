"""The dashboard: everything that matters at a glance."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from console.model import Model, Part
from tui.screens.base import ConsoleScreen
from tui.widgets import (
    ActivityPanel,
    CondorTable,
    EventLog,
    GreeksPanel,
    PnlPanel,
    ProfilePanel,
    StatusBar,
)
from tui.widgets.keybar import KeyBar


class DashboardScreen(ConsoleScreen):
    """Status, condors, greeks and max loss, risk profile, P&L, recent activity, log."""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield CondorTable(id="condors")
        with Horizontal(id="middle"):
            yield GreeksPanel(id="greeks")
            yield ProfilePanel(id="profile")
            yield PnlPanel(id="pnl")
        with Horizontal(id="bottom"):
            yield ActivityPanel(id="activity")
            yield EventLog(id="log", max_lines=500)
        yield KeyBar()

    def on_mount(self) -> None:
        titles = {
            "#greeks": "Greeks · max loss",
            "#profile": "P&L at expiry",
            "#pnl": "P&L today",
            "#activity": "Orders · fills",
            "#log": "Log",
        }
        for selector, title in titles.items():
            widget = self.query_one(selector)
            widget.add_class("box")
            widget.border_title = title

    def show_body(self, model: Model, parts: set[Part], selected: str | None) -> None:
        if "condors" in parts or "market" in parts:
            self.query_one(CondorTable).show(model, selected)
            self.query_one(GreeksPanel).show(model)
            self.query_one(ProfilePanel).show(model)
        if "pnl" in parts or "condors" in parts:
            self.query_one(PnlPanel).show(model)
        if "orders" in parts or "fills" in parts:
            self.query_one(ActivityPanel).show(model)
        if "log" in parts:
            self.query_one(EventLog).show(model)
