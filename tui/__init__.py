"""The Textual operator console.

:func:`run_console` is what the CLI calls; :class:`ConsoleApp` runs over any
:class:`~condordesk.engine.api.EngineHandle` (embedded engine, attach-mode client, or a
test's fake). This package imports only ``condordesk.engine.api``, ``condordesk.domain``,
``condordesk.config`` and textual.
"""

from __future__ import annotations

import sys
from typing import TextIO

from console.link import OpenHandle
from tui.app import ConsoleApp

EXIT_NOT_A_TERMINAL = 2
NOT_A_TERMINAL = (
    "condordesk tui: standard output is not a terminal, and the console draws on one. "
    "Run it in a terminal (over SSH: ssh -t); for a headless engine use "
    "`condordesk --autotrade`, for its state `condordesk status`."
)


def run_console(
    open_handle: OpenHandle,
    *,
    attached: bool,
    profile: str,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the console in this terminal until the operator quits; returns the exit code.

    Refuses (exit 2, a line on stderr, nothing started) when stdout is not a terminal: a
    console piped into ``head`` would draw into the pipe forever.

    Args:
        open_handle: returns an async context manager entered inside the app's running
            loop: for an embedded engine entering it starts the engine and leaving it stops
            it; for an attached engine it connects (raising
            :class:`~condordesk.engine.api.EngineUnavailable` when it cannot), and the
            console enters it again after the engine was lost.
        attached: True when the engine runs in another process (quitting leaves it
            trading); False for an embedded engine (quitting stops it, after a confirmation).
        profile: the profile name, shown until the engine reports its own.
        stdout: the stream checked for a terminal (``sys.stdout``).
        stderr: where the refusal is written (``sys.stderr``).
    """
    out = stdout if stdout is not None else sys.stdout
    if not out.isatty():
        print(NOT_A_TERMINAL, file=stderr if stderr is not None else sys.stderr)
        return EXIT_NOT_A_TERMINAL
    app = ConsoleApp(open_handle, attached=attached, profile=profile, handle_signals=True)
    app.run()
    return app.return_code if app.return_code is not None else 0


__all__ = ["ConsoleApp", "OpenHandle", "run_console"]
