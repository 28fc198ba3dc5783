"""The key bar at the bottom of every screen: the console's keys and what they do, as many as
the terminal's width holds, the most needed first to stay (help and quit always do)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.keys import key_hints
from tui.widgets.status import Piece, fit


def key_bar(width: int) -> Text:
    """The key hints that fit ``width`` columns, in the console's order."""
    pieces: list[Piece] = []
    for priority, key, label in key_hints():
        hint = Text(key, style="bold reverse")
        hint.append(f" {label}  ")
        pieces.append((priority, hint))
    return fit(pieces, width)


class KeyBar(Static):
    """One line of key hints, refitted when the terminal is resized."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; text-wrap: nowrap; text-overflow: clip; }
    """

    def on_mount(self) -> None:
        self.update(key_bar(self.content_size.width or 200))

    def on_resize(self) -> None:
        self.update(key_bar(self.content_size.width or 200))
