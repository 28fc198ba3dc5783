"""A stand-in for ``tui.run_console``: runs ``condordesk ARGS`` with this console installed and
writes what it saw to a JSON report.

    python -m tests.control.fake_console REPORT.json [condordesk args...]

Like the Textual app, it enters ``open_handle()`` inside its own running event loop, reads the
snapshot, follows events, sends a command, and (attached) opens the handle a second time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from condordesk.engine import api
from condordesk.engine.control import answers, socket_path
from condordesk.ops.runlock import engine_running


async def _session(open_handle: Any, attached: bool, profile: str, report: dict[str, Any]) -> None:
    async with asyncio.timeout(60):
        opened: AbstractAsyncContextManager[api.EngineHandle] = open_handle()
        async with opened as handle:
            snap = handle.snapshot()
            report.update(state=snap.state, seq=snap.seq, handle=type(handle).__name__)
            report["socket_answers"] = answers(socket_path(profile))
            stream = handle.events(since=0)
            started = await anext(stream)
            while not isinstance(started, api.EngineStarted):
                started = await anext(stream)
            report["account"] = started.account
            report["started_ts"] = started.ts.isoformat() if started.ts else None
            ack = await handle.submit(api.PauseEntries(origin="tui", reason="fake console"))
            report["ack"] = [ack.accepted, ack.reason]
            paused = await anext(stream)
            while not isinstance(paused, api.EntriesPaused):
                paused = await anext(stream)
            report["paused"] = [paused.origin, paused.reason]
            await stream.aclose()  # type: ignore[attr-defined]
        if attached:  # what the console does after losing the engine: open it again
            async with open_handle() as again:
                report["reopened_paused_reason"] = again.snapshot().paused_reason
    report["engine_running_after"] = engine_running(profile)
    report["socket_answers_after"] = answers(socket_path(profile))


def main(argv: list[str]) -> int:
    report_path, cli_args = Path(argv[0]), argv[1:]
    report: dict[str, Any] = {}

    def run_console(open_handle: Any, *, attached: bool, profile: str) -> int:
        report.update(attached=attached, profile=profile)
        asyncio.run(_session(open_handle, attached, profile, report))
        return 0

    sys.modules["tui"] = types.SimpleNamespace(run_console=run_console)  # type: ignore[assignment]
    from condordesk.app.cli import main as condordesk

    code = condordesk(cli_args)
    report["exit_code"] = code
    report["textual_loaded"] = "textual" in sys.modules
    report_path.write_text(json.dumps(report), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
