"""Helpers of the GUI tests: bounded waits, a window over a fake engine, what a table shows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, Qt

from gui.window import MainWindow
from tests.tui.helpers import Gate

__all__ = ["Gate", "cells", "live", "plain", "shown", "text_of", "until"]


async def until(predicate: Callable[[], bool], what: str, limit_s: float = 10.0) -> None:
    """Let the loop run until ``predicate`` holds; fail after ``limit_s`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)  # yields to Qt and asyncio; the condition is what we wait on


def cells(model: QAbstractItemModel) -> list[dict[str, str]]:
    """Every row of a table model as {column title: text shown}."""
    titles = [
        str(model.headerData(c, Qt.Orientation.Horizontal)) for c in range(model.columnCount())
    ]
    return [
        {t: str(model.data(model.index(r, c))) for c, t in enumerate(titles)}
        for r in range(model.rowCount())
    ]


@contextlib.asynccontextmanager
async def shown(window: MainWindow, limit_s: float = 10.0) -> AsyncIterator[MainWindow]:
    """The window shown and following its engine; closed (link let go) on the way out."""
    window.resize(1600, 1000)
    window.show()
    window.start()
    try:
        yield window
    finally:
        if window.dialog is not None:
            window.dialog.reject()
        window.close_now()
        await until(window.is_closed, "the window to let go of the engine", limit_s)
        window.deleteLater()  # the next test's QApplication has no leftover windows


def live(window: MainWindow) -> Callable[[], bool]:
    """The window shows the engine's data."""
    return lambda: window.model.link == "live" and not window.pending_redraw


def text_of(widget: Any) -> str:
    """A label's text."""
    return str(widget.text())


def plain(text: str) -> str:
    """Text as read: no-break spaces as spaces, word joiners gone."""
    return text.replace("\u00a0", " ").replace("\u2060", "")
