"""The PySide6 desktop console (pyqtgraph charts), with asyncio running inside Qt's event loop
through qasync.

:func:`run_gui` is what the CLI calls; :class:`~gui.window.MainWindow` runs over any
:class:`~condordesk.engine.api.EngineHandle` (embedded engine, attach-mode client, or a test's
fake). This package imports only ``condordesk.engine.api``, ``condordesk.domain``,
``condordesk.config``, ``condordesk.market.pricing`` (the engine's Black-Scholes, for the risk
graph's T+0 curve) and the Qt libraries.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import qasync
from PySide6.QtWidgets import QApplication

from console.link import OpenHandle
from gui import theme
from gui.window import MainWindow


def run_gui(open_handle: OpenHandle, *, attached: bool, profile: str) -> int:
    """Open the console window and run until the operator closes it; returns the exit code.

    Args:
        open_handle: returns an async context manager entered inside the running loop: for an
            embedded engine entering starts the engine and leaving stops it; for an attached
            engine it connects (raising :class:`~condordesk.engine.api.EngineUnavailable` when
            it cannot), and the console enters it again after the engine was lost.
        attached: True when the engine runs in another process (closing the window leaves it
            trading); False for an embedded engine (closing stops it, after a confirmation).
        profile: the profile name, shown until the engine reports its own.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("condordesk")
    app.setQuitOnLastWindowClosed(False)  # the window's own close ends the run
    theme.apply(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(open_handle, attached=attached, profile=profile)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, window.close_now)
    try:
        return int(loop.run_until_complete(window.run()))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


__all__ = ["MainWindow", "OpenHandle", "run_gui"]
