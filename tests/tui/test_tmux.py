"""The real terminal app, driven through tmux: ``condordesk tui`` embedding a simulator engine
at 600x, keys sent to the pane, and what the pane shows read back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from condordesk.config.loader import load_profile
from condordesk.config.paths import journal_path
from condordesk.engine import api
from condordesk.store.journal import Journal

pytestmark = [
    pytest.mark.usefixtures("warm_calendar"),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

CLI = Path(sys.executable).with_name("condordesk")
SETTINGS = [
    "simulator.start_time=09:44", "simulator.scenario=calm", "simulator.greeks_missing_prob=0",
    "strategy.max_concurrent=1", "logging.file=false",
]  # fmt: skip


class Pane:
    """One tmux session on a private server, running one command."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env

    async def tmux(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "tmux", "-L", self.socket, *args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 10)
        if proc.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {err.decode().strip()}")
        return out.decode()

    async def start(self, command: list[str]) -> None:
        await self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "console", "-x", "160",
                        "-y", "45", *command)  # fmt: skip
        await self.tmux("set-option", "-t", "console", "remain-on-exit", "on")

    async def screen(self) -> str:
        return await self.tmux("capture-pane", "-p", "-t", "console")

    async def keys(self, *keys: str) -> None:
        await self.tmux("send-keys", "-t", "console", *keys)

    async def shows(self, *texts: str, within: float = 30.0) -> str:
        """Wait (bounded) until the pane shows every one of ``texts``."""
        shown = ""
        try:
            async with asyncio.timeout(within):
                while True:
                    shown = await self.screen()
                    if all(t in shown for t in texts):
                        break
                    await asyncio.sleep(0.05)  # the pane has no event to wait on: poll it
        except TimeoutError:
            raise AssertionError(f"pane never showed {texts!r}:\n{shown}") from None
        return shown

    async def exit_status(self, status_file: Path, within: float = 30.0) -> int:
        """Wait (bounded) for the command started with :func:`report_exit` to end."""
        async with asyncio.timeout(within):
            while not (status := _read(status_file)):  # noqa: ASYNC110 - polling a file
                await asyncio.sleep(0.05)
        return int(status)


def _read(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def report_exit(command: list[str], status_file: Path) -> list[str]:
    """``command`` run by a shell that writes its exit status to ``status_file`` (tmux does
    not always tell a dead pane's status, nor keep what was printed after the app left)."""
    return ["sh", "-c", f"{shlex.join(command)}; echo $? > {shlex.quote(str(status_file))}"]


@pytest.fixture
async def pane(tmp_path: Path, condordesk_home: Path) -> object:
    env = {**os.environ, "CONDORDESK_HOME": str(condordesk_home), "TERM": "xterm-256color",
           "TMUX_TMPDIR": str(tmp_path)}  # fmt: skip
    env.pop("TMUX", None)
    p = Pane(f"cd-{os.getpid()}", env)
    yield p
    with contextlib.suppress(RuntimeError):
        await p.tmux("kill-server")


SETS = [arg for s in SETTINGS for arg in ("--set", s)]
COMMAND = [str(CLI), "tui", "--profile", "sim", "--speed", "600", "--seed", "11",
           "--start-date", "2026-11-30", *SETS]  # fmt: skip


def journaled() -> list[tuple[str, dict[str, object]]]:
    """(kind, payload) of every event the sim profile's engine journaled."""
    journal = Journal(journal_path(load_profile("sim", []).profile))
    try:
        return [(kind, payload) for _, _, kind, payload in journal.events(limit=100_000)]
    finally:
        journal.close()


async def test_the_console_in_a_real_terminal_trades_pauses_and_quits(
    pane: Pane, tmp_path: Path
) -> None:
    status = tmp_path / "status"
    await pane.start(report_exit(COMMAND, status))
    shown = await pane.shows("SIM", "EMBEDDED engine", "engine running")
    assert "SPX " in shown and "P&L today" in shown
    shown = await pane.shows("OPENED 20261130-0", " verified")
    condor = re.search(r"OPENED (\d{8}-\d\d)", shown)
    assert condor and condor[1] in shown.split("Strikes", 1)[1]  # a row in the condors table
    await pane.keys("p")
    await pane.shows("Pause entries", "Will send: PauseEntries(reason='operator', origin='tui')")
    await pane.keys("y")
    await pane.shows("engine PAUSED: operator", "entries PAUSED: operator (by tui)")
    await pane.keys("?")
    await pane.shows("condordesk console — keys", "Cancel the selected condor's stop")
    await pane.keys("?")  # closes it (Esc then q would read as alt+q in a terminal)
    await pane.shows("Greeks · max loss")
    await pane.keys("q")
    await pane.shows("Quit and stop the engine", "The simulator runs in this process")
    await pane.keys("y")
    assert await pane.exit_status(status) == 0
    # the engine journaled the operator's command with its origin
    kinds = journaled()
    commands = [api.from_wire(p) for k, p in kinds if k == "CommandReceived"]
    assert [(c.command, c.origin, c.accepted) for c in commands] == [("PauseEntries", "tui", True)]
    assert kinds[-1][0] == "EngineStopped"


async def test_a_dropped_terminal_stops_the_embedded_engine_cleanly(pane: Pane) -> None:
    await pane.start(COMMAND)
    await pane.shows("EMBEDDED engine", "engine running")
    pid = int(await pane.tmux("display-message", "-p", "-t", "console", "#{pane_pid}"))
    await pane.tmux("kill-session", "-t", "console")  # the SSH session is gone: SIGHUP
    async with asyncio.timeout(30):
        while True:  # the console exits by itself
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
    kind, payload = journaled()[-1]
    assert (kind, payload["reason"]) == ("EngineStopped", "stop requested")
