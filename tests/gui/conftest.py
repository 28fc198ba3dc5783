"""GUI tests run offscreen (no display) on one QApplication (pytest-qt's ``qapp``), with a
qasync event loop per test: the console's asyncio tasks run inside Qt's loop as in the app.
No window (nor any other top-level widget: pyqtgraph's menus) outlives its test: what a test
left would be deleted whenever Python's garbage collector or a later test's loop got to it, in
the middle of another test's painting."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from gui import theme

Run = Callable[..., Any]


@pytest.fixture(scope="session")
def themed_app(qapp: QApplication) -> QApplication:
    """The QApplication as ``run_gui`` sets it up (once: a style sheet re-polishes every
    widget)."""
    qapp.setQuitOnLastWindowClosed(False)
    theme.apply(qapp)
    return qapp


@pytest.fixture
def gui_run(themed_app: QApplication) -> Iterator[Run]:
    """``gui_run(coro, limit_s=60)`` runs a scenario in a qasync loop over the test's
    QApplication, failing it after ``limit_s`` seconds."""
    qapp = themed_app
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)

    def run(coro: Coroutine[Any, Any, Any], limit_s: float = 60.0) -> Any:
        return loop.run_until_complete(asyncio.wait_for(coro, limit_s))

    try:
        yield run
    finally:
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def no_window_outlives_its_test() -> Iterator[None]:
    """After the test: its windows deleted (``deleteLater`` done now), none left over."""
    yield
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    left = sorted(f"{type(w).__name__} {w.objectName() or w.windowTitle()!r}".strip()
                  for w in app.topLevelWidgets())  # fmt: skip
    assert not left, f"top-level widgets outlive the test: {left}"
