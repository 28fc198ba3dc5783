"""Real processes for the end-to-end tests: a headless engine, ``condordesk`` commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def cd(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``condordesk ARGS`` to completion (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "condordesk.app.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CONDORDESK_HOME": str(home)},
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def ctl_json(*args: str, home: Path) -> Any:
    """``condordesk ctl ARGS --json``, which must succeed; its JSON."""
    run = cd("ctl", *args, "--json", home=home)
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
    return json.loads(run.stdout)


class HeadlessEngine:
    """``condordesk --autotrade`` in a process of its own; its log lines are collected as they
    come (so the pipe never fills up) and can be awaited."""

    def __init__(self, home: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "condordesk.app.cli", "--autotrade", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "CONDORDESK_HOME": str(home)},
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:  # closed here, at end of stream: never under the thread's feet
            for line in self.proc.stderr:
                with self._seen:
                    self.lines.append(line)
                    self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The first log line containing ``text`` (fails after ``timeout`` s or if it exits)."""

        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._seen:
            self._seen.wait_for(
                lambda: found() is not None or not self._reader.is_alive(), timeout=timeout
            )
            line = found()
        assert line is not None, f"no {text!r} in the engine's log:\n" + "".join(self.lines[-30:])
        return line

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, and the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close()

    def kill(self) -> None:
        """Make sure it is gone (a test's cleanup)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=30)
