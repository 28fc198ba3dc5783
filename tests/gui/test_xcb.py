"""``condordesk gui`` starts on Qt's real xcb platform under Xvfb (as on the VNC desktop) with
the embedded simulator, and draws: a screenshot of the X screen is not blank. Skipped, saying
why, where xvfb-run or the xcb libraries are missing (``.ci/run`` installs them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.gui.xcb_grab import BUSY_COLOURS, colours

ROOT = Path(__file__).resolve().parents[2]
SCREEN = "1280x800x24"
QXCB = Path(sys.modules["PySide6"].__file__ or "").parent / "Qt/plugins/platforms/libqxcb.so"


def _missing_libraries() -> list[str]:
    done = subprocess.run(["ldd", str(QXCB)], capture_output=True, text=True, check=False,
                          timeout=30)  # fmt: skip
    return [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]


def _why_not() -> str | None:
    if shutil.which("xvfb-run") is None:
        return "xvfb-run is not installed (apt-get install xvfb xauth; .ci/run does)"
    if not QXCB.exists() or shutil.which("ldd") is None:
        return f"Qt's xcb plugin {QXCB} cannot be checked"
    missing = _missing_libraries()
    if missing:
        return f"Qt's xcb plugin lacks {', '.join(missing)} (see README: the VNC libraries)"
    return None


@pytest.mark.usefixtures("warm_calendar")
def test_condordesk_gui_starts_under_xvfb_on_xcb_and_draws(
    tmp_path: Path, condordesk_home: Path
) -> None:
    why = _why_not()
    if why is not None:
        pytest.skip(why)
    shot = tmp_path / "xcb.png"
    gui = (
        f'{sys.executable} -c "import sys; from condordesk.app.cli import main; '
        f"sys.exit(main(['gui', '--profile', 'sim', '--speed', '30']))\""
    )
    grab = f"{sys.executable} {ROOT / 'tests/gui/xcb_grab.py'} {shot} 90"
    script = tmp_path / "run.sh"
    script.write_text(
        f"{gui} > {tmp_path / 'gui.out'} 2>&1 &\n"
        "pid=$!\n"
        f"{grab}\n"
        "rc=$?\n"
        'kill -TERM $pid 2>/dev/null; wait $pid; echo "gui exit $?" >> '
        f"{tmp_path / 'gui.out'}\n"
        "exit $rc\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(CONDORDESK_HOME=str(condordesk_home), QT_QPA_PLATFORM="xcb")
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", "bash", str(script)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    log = (tmp_path / "gui.out").read_text() if (tmp_path / "gui.out").exists() else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- gui ---\n{log}"
    assert "exit 134" not in log and "could not load the Qt platform plugin" not in log, log
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    assert colours(image) >= BUSY_COLOURS
    if os.environ.get("CONDORDESK_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["CONDORDESK_SCREENSHOTS"]) / "gui-xcb-1280x800.png")
