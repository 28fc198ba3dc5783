"""Update a Static only when what it shows changed, and without a layout pass when its size
is fixed by the stylesheet: a redraw of one region, not of the screen."""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def show(widget: Static, content: VisualType, *, layout: bool = False) -> None:
    """Set ``widget``'s content if it differs from what it shows."""
    if getattr(widget, "_cd_shown", None) == content:
        return
    widget._cd_shown = content  # type: ignore[attr-defined]
    widget.update(content, layout=layout)
