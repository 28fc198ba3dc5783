"""A price modal (move a stop, close at a limit): step by the 0.05 tick with the arrow keys
or type a price; it shows exactly what will be sent before anything is."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from condordesk.domain.prices import COMBO_TICK
from console.commands import NotPossible, Proposal, parse_price
from tui.screens.confirm import proposal_text, wire_line

Describe = Callable[[Decimal], Proposal]


class PriceInput(Input):
    """The price box: Ctrl-A selects the whole price (so what is typed next replaces it, as
    in any desktop field) instead of Textual's readline "go to start"; Home still goes there."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+a", "select_all", "Select all", show=False),
    ]


class PriceScreen(ModalScreen[Proposal | None]):
    """Returns the confirmed proposal, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "step(1)", "+0.05", show=True),
        Binding("down", "step(-1)", "-0.05", show=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, initial: Decimal, describe: Describe, *, blink: bool = True):
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.describe = describe
        self.blink = blink
        self.proposal: Proposal | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static("↑/↓ step 0.05 · type a price · Enter to send · Esc to cancel",
                         classes="hint")  # fmt: skip
            yield PriceInput(value=f"{self.initial:.2f}", id="price")
            yield Static(id="dialog-body")
            yield Static(id="dialog-warning")
            yield Static(id="dialog-wire")
            with Horizontal(id="dialog-buttons"):
                yield Button("Send (Enter)", id="send", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = self.blink
        box.focus()
        self._preview(box.value)

    def _preview(self, text: str) -> None:
        body = self.query_one("#dialog-body", Static)
        warning = self.query_one("#dialog-warning", Static)
        try:
            self.proposal = self.describe(parse_price(text))
        except (ValueError, NotPossible) as exc:
            self.proposal = None
            body.update(Text(f"Not sent: {exc}", style="bold red"))
            warning.display = False
            self.query_one("#dialog-wire", Static).update("")
        else:
            body.update(proposal_text(self.proposal))
            warning.update(Text(f"⚠ {self.proposal.warning}", style="bold"))
            warning.display = self.proposal.warning is not None
            self.query_one("#dialog-wire", Static).update(wire_line(self.proposal))
        self.query_one("#send", Button).disabled = self.proposal is None

    def on_input_changed(self, event: Input.Changed) -> None:
        self._preview(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._send()

    def action_step(self, ticks: int) -> None:
        box = self.query_one(Input)
        try:
            value = parse_price(box.value) + COMBO_TICK * ticks
        except ValueError:
            value = self.initial
        if value > 0:
            box.value = f"{value:.2f}"
            box.cursor_position = len(box.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _send(self) -> None:
        # Built again from the box as it reads now: what is sent is exactly what is shown,
        # even if a key arrived after the last preview.
        self._preview(self.query_one(Input).value)
        if self.proposal is not None:
            self.dismiss(self.proposal)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self._send()
        else:
            self.dismiss(None)
