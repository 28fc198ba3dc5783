"""What every ``doctor`` check returns, and how the checks run a system command (shared by
:mod:`condordesk.ops.doctor` and :mod:`condordesk.ops.doctor_firewall`, which import it and
never each other)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]
TCP_TIMEOUT_S = 3.0
COMMAND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Check:
    """One check's answer."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class Options:
    """What the checks look at besides the profile (tests point these elsewhere).

    Attributes:
        root: the filesystem root of the installation (``systemctl --root``, credential
            store); None for this machine.
        fail_below_mb: free disk space under which ``disk`` fails.
        warn_below_mb: free disk space under which ``disk`` warns.
        tcp_timeout_s: the gateway connect timeout.
    """

    root: Path | None = None
    fail_below_mb: int = 200
    warn_below_mb: int = 1024
    tcp_timeout_s: float = TCP_TIMEOUT_S


def run_command(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    """Run a system command (bounded); None when it is not installed."""
    exe = shutil.which(argv[0])
    if exe is None:
        return None
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [exe, *argv[1:]],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
