"""The full log, with the open alerts on top."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.model import Model, Part
from tui.screens.base import ConsoleScreen
from tui.widgets import EventLog, StatusBar
from tui.widgets.keybar import KeyBar
from tui.widgets.live import show


def alerts_text(model: Model) -> Text:
    """Open alerts (what k acknowledges)."""
    if not model.alerts:
        return Text("No open alert.", style="dim")
    text = Text(f"{len(model.alerts)} open alert(s) — k to acknowledge\n", style="bold red")
    for a in model.alerts:
        text.append(f"  ⚠ {a}\n", style="bold white on red")
    return text


class LogScreen(ConsoleScreen):
    """Everything the engine reported, as it happened."""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(id="alerts")
        yield EventLog(id="full-log", max_lines=2000)
        yield KeyBar()

    def show_body(self, model: Model, parts: set[Part], selected: str | None) -> None:
        show(self.query_one("#alerts", Static), alerts_text(model), layout=True)
        if "log" in parts:
            self.query_one(EventLog).show(model)
