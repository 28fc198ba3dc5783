"""``condordesk gui`` starts on Qt's real xcb platform under Xvfb (as on the VNC desktop) with
the embedded simulator, and a user sees the engine at work: once the window's title says a
condor is held (the redraw that says so also fills the table and the charts), the X screen is
grabbed; the window covers the 1280x800 screen, shows the SIM badge and draws the condor.
Skipped, saying why, where xvfb-run, xwininfo or the xcb libraries are missing (``.ci/run``
installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from gui import theme
from tests.gui.xcb_grab import BUSY_COLOURS, colours

ROOT = Path(__file__).resolve().parents[2]
SCREEN = (1280, 800)
QXCB = Path(sys.modules["PySide6"].__file__ or "").parent / "Qt/plugins/platforms/libqxcb.so"
# a condor opens a minute into the simulated day (seed 5): about a second at speed 120
GUI_ARGS = ["gui", "--profile", "sim", "--speed", "120", "--seed", "5", "--sessions", "1",
            "--start-date", "2026-11-30", "--set", "simulator.start_time=09:44"]  # fmt: skip
HELD = r"^condordesk — \w+ sim · \w+ · [1-9]\d* open · P&L "
LIMIT_S = 45


def _missing_libraries() -> list[str]:
    done = subprocess.run(["ldd", str(QXCB)], capture_output=True, text=True, check=False,
                          timeout=30)  # fmt: skip
    return [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]


def _why_not() -> str | None:
    if shutil.which("xvfb-run") is None:
        return "xvfb-run is not installed (apt-get install xvfb xauth; .ci/run does)"
    if shutil.which("xwininfo") is None:
        return "xwininfo is not installed (apt-get install x11-utils; .ci/run does)"
    if not QXCB.exists() or shutil.which("ldd") is None:
        return f"Qt's xcb plugin {QXCB} cannot be checked"
    missing = _missing_libraries()
    if missing:
        return f"Qt's xcb plugin lacks {', '.join(missing)} (see README: the VNC libraries)"
    return None


def near(image: QImage, color: str, within: int = 24) -> int:
    """Pixels of ``image`` within ``within`` (in each of red, green and blue) of ``color``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    rows = np.frombuffer(rgb.constBits(), np.uint8, stride * height).reshape(height, stride)
    pixels = rows[:, : width * 3].reshape(height, width, 3).astype(np.int16)
    want = QColor(color)
    target = np.array([want.red(), want.green(), want.blue()], np.int16)
    return int(np.all(np.abs(pixels - target) <= within, axis=2).sum())


@pytest.mark.usefixtures("warm_calendar")
def test_condordesk_gui_starts_under_xvfb_on_xcb_and_shows_the_engine_at_work(
    tmp_path: Path, condordesk_home: Path
) -> None:
    why = _why_not()
    if why is not None:
        pytest.skip(why)
    shot, out = tmp_path / "xcb.png", tmp_path / "gui.out"
    gui = f"{sys.executable} -c \"import sys; from condordesk.app.cli import main; " \
          f"sys.exit(main({GUI_ARGS!r}))\""  # fmt: skip
    grab = f"{sys.executable} {ROOT / 'tests/gui/xcb_grab.py'} {shot} {LIMIT_S} '{HELD}'"
    script = tmp_path / "run.sh"
    script.write_text(
        f"{gui} > {out} 2>&1 &\n"
        "pid=$!\n"
        f"{grab}\n"
        "rc=$?\n"
        f'kill -TERM $pid 2>/dev/null; wait $pid; echo "gui exit $?" >> {out}\n'
        "exit $rc\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(CONDORDESK_HOME=str(condordesk_home), QT_QPA_PLATFORM="xcb")
    screen = f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24"
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", screen, "bash", str(script)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    log = out.read_text() if out.exists() else ""
    report = json.loads(shot.with_suffix(".json").read_text()) if shot.exists() else {}
    assert "exit 134" not in log and "could not load the Qt platform plugin" not in log, log
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{report}\n--- gui ---\n{log}"
    window = report["window"]
    assert window["title"].startswith("condordesk — SIM sim · armed · "), window
    # the whole window on the screen, and all of the screen used: nothing is off its edges
    assert (window["width"], window["height"], window["x"], window["y"]) == (*SCREEN, 0, 0)
    image = QImage(str(shot))
    if os.environ.get("CONDORDESK_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["CONDORDESK_SCREENSHOTS"]) / "gui-xcb-1280x800.png")
    assert (image.width(), image.height()) == SCREEN
    assert colours(image) >= BUSY_COLOURS
    badge = near(image, theme.MODE_BADGES["sim"][2], within=4)
    assert badge > 400, f"the SIM badge: {badge} pixels"
    assert near(image, theme.MODE_BADGES["live"][2], within=4) == 0, "a LIVE badge on the sim"
    condor = near(image, theme.SERIES[0])  # its row, its strikes on SPX, its P&L and mark
    assert condor > 300, f"the first condor's colour: {condor} pixels"
