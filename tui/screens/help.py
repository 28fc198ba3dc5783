"""The help screen: every key, what it does, and how overrides are confirmed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Every override opens a confirmation that shows the exact command; nothing is sent "
    "until you press y (or Enter in a price box). The engine answers with an ack: a "
    "rejection is shown in red. The screen changes only when the engine reports what it "
    "did, so every attached console sees the same."
)


def keys_table(keys: Sequence[tuple[str, str]]) -> Table:
    """Keys and what they do."""
    table = Table(show_header=True, header_style="bold", expand=True, box=None)
    table.add_column("Key", style="bold cyan", no_wrap=True)
    table.add_column("What it does")
    for key, what in keys:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    """All keys (Esc, q or ? closes)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close")
    ]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text("condordesk console — keys", style="bold"), id="dialog-title")
            yield Static(INTRO, classes="hint")
            yield Static(keys_table(self.keys))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
