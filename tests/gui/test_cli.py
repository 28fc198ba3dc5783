"""``condordesk gui``: without the gui extra it says what to install and starts nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_without_qt_the_gui_command_says_how_to_install_it_and_starts_no_engine(
    condordesk_home: Path,
) -> None:
    script = (
        "import sys; sys.modules['PySide6'] = None; sys.modules['qasync'] = None; "
        "from condordesk.app.cli import main; sys.exit(main(['gui', '--profile', 'sim']))"
    )
    env = {**os.environ, "CONDORDESK_HOME": str(condordesk_home)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "the desktop console is not available" in done.stderr
    assert "pip install 'condordesk[gui]'" in done.stderr
    assert "libgl1 libegl1 libxkbcommon0" in done.stderr
    assert not (condordesk_home / "run" / "engine-sim.sock").exists()
