"""Running packaging/install.sh into a temporary root, and the tools the deploy tests need."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import keyring.backend
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
INSTALL = PACKAGING / "install.sh"
HOST_UNITS = Path("/usr/lib/systemd/system")
# programs the units start that a test machine does not have: verify checks that each
# ExecStart= names an executable file, so the temporary root gets an empty one in its place
EXTERNAL = ("usr/sbin/nft", "usr/bin/Xtigervnc", "opt/ibc/scripts/ibcstart.sh", "usr/bin/test")


def need(tool: str) -> str:
    """The path of ``tool``, or skip the test saying how to get it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install systemd nftables)")
    return path


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run install.sh into ``root`` (bounded), returning its output."""
    return subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its mode and size (directories: size 0)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        out[str(path.relative_to(root))] = (st.st_mode, 0 if path.is_dir() else st.st_size)
    return out


def stage_system(root: Path) -> None:
    """Make ``root`` look enough like a system for ``systemd-analyze --root``: the
    distribution's units (sysinit.target and friends) and stand-ins for external programs."""
    units = root / "usr/lib/systemd/system"
    if not units.exists() and HOST_UNITS.is_dir():
        shutil.copytree(HOST_UNITS, units, symlinks=True)
    for rel in (*EXTERNAL, "opt/condordesk/venv/bin/condordesk"):
        exe = root / rel
        if not exe.exists():
            exe.parent.mkdir(parents=True, exist_ok=True)
            exe.write_text("#!/bin/sh\nexit 0\n")
            exe.chmod(0o755)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A dict-backed keyring, so a test never touches (or depends on) the machine's."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)
