"""The confirmation modal: states exactly what will be sent; nothing leaves without ``y``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.commands import Proposal


def proposal_text(proposal: Proposal) -> Text:
    """What the command does, in plain words."""
    return Text("\n".join(proposal.lines))


def wire_line(proposal: Proposal) -> Text:
    """The command exactly as it will be sent."""
    text = Text("Will send: ", style="bold")
    text.append(proposal.wire, style="bold cyan")
    return text


class ConfirmScreen(ModalScreen[bool]):
    """Send (``y``) or cancel (``n`` / Esc); the Cancel button has the focus."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Send"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, proposal: Proposal) -> None:
        super().__init__()
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        p = self.proposal
        with Vertical(id="dialog", classes="-danger" if p.danger else ""):
            yield Static(Text(p.title, style="bold"), id="dialog-title")
            yield Static(proposal_text(p), id="dialog-body")
            if p.warning:
                yield Static(Text(f"⚠ {p.warning}", style="bold"), id="dialog-warning")
            yield Static(wire_line(p), id="dialog-wire")
            with Horizontal(id="dialog-buttons"):
                yield Button("Send (y)", id="send", variant="error" if p.danger else "primary")
                yield Button("Cancel (n / Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_answer(self, send: bool) -> None:
        self.dismiss(send)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "send")
