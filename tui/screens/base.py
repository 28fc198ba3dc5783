"""What every view screen shares: the status bar, the footer, and rendering the app's model
when it becomes visible again."""

from __future__ import annotations

from typing import Protocol, cast

from textual.screen import Screen

from console.model import ALL_PARTS, Model, Part
from tui.widgets import StatusBar


class ModelSource(Protocol):
    """What screens read from the app."""

    model: Model
    selected: str | None


class ConsoleScreen(Screen[None]):
    """A view of the model; the app calls :meth:`show` with the parts that changed."""

    def source(self) -> ModelSource:
        """The app, seen as the model's owner."""
        return cast(ModelSource, self.app)

    def on_screen_resume(self) -> None:
        src = self.source()
        self.show(src.model, set(ALL_PARTS), src.selected)

    def show(self, model: Model, parts: set[Part], selected: str | None) -> None:
        """Render the parts of ``model`` that changed."""
        if "header" in parts or "market" in parts or "pnl" in parts:
            self.query_one(StatusBar).show(model)
        self.show_body(model, parts, selected)

    def show_body(self, model: Model, parts: set[Part], selected: str | None) -> None:
        """Render the screen's own widgets."""
