"""Run on an X display (Qt's xcb platform): wait until the condordesk window shows the engine's
state, then grab the whole screen as a PNG.

``python xcb_grab.py OUT.png LIMIT_S PATTERN``: polls the X server's windows (``xwininfo``)
from Qt's own event loop (a timer, so nothing sleeps) for a top-level window whose title
matches the regular expression PATTERN. The console's title says what it draws (the engine's
state, the condors held, today's P&L: :func:`gui.header.window_title`), set by the same redraw
that fills the table and the charts. Once the title has matched on two polls in a row (that
redraw is painted by then), the screen is grabbed and saved as OUT.png, and the window's title
and geometry as OUT.json. Exit 0; 1 when no window matched within ``LIMIT_S`` seconds (the last
grab and the windows seen are saved all the same)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

POLL_MS = 250
BUSY_COLOURS = 24  # a desktop console draws far more; an empty X screen has one
_WINDOW = re.compile(
    r'^\s*0x[0-9a-f]+ "(?P<title>.*)": \(.*\)\s+(?P<w>\d+)x(?P<h>\d+)\+(?P<x>-?\d+)\+(?P<y>-?\d+)'
)


@dataclass(frozen=True, slots=True)
class Window:
    """A window on the X screen: its title and its geometry (relative to its parent)."""

    title: str
    width: int
    height: int
    x: int
    y: int


def windows(tree: str) -> list[Window]:
    """The named windows in ``xwininfo -root -tree``'s output."""
    found = []
    for line in tree.splitlines():
        m = _WINDOW.match(line)
        if m:
            found.append(Window(m["title"], int(m["w"]), int(m["h"]), int(m["x"]), int(m["y"])))
    return found


def colours(image: QImage, step: int = 7) -> int:
    """Distinct colours on a grid of sampled pixels."""
    seen = {
        image.pixel(x, y)
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
    }
    return len(seen)


def _tree() -> str:
    done = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, check=False,
                          timeout=10)  # fmt: skip
    return done.stdout.decode("utf-8", errors="replace")


def main(out: str, limit_s: float, pattern: str) -> int:
    """Grab once a window's title matches ``pattern`` or ``limit_s`` passed; the exit code."""
    app = QApplication([sys.argv[0], "-platform", "xcb"])
    wanted = re.compile(pattern)
    clock = QElapsedTimer()
    clock.start()
    code, matched = 1, 0

    def poll() -> None:
        nonlocal code, matched
        seen = windows(_tree())
        match = next((w for w in seen if wanted.search(w.title)), None)
        matched = matched + 1 if match else 0
        done = matched == 2  # the matching redraw has been painted
        if not done and clock.elapsed() <= limit_s * 1000:
            return
        app.primaryScreen().grabWindow(0).toImage().save(out)
        report = {"window": asdict(match) if match else None, "seen": [asdict(w) for w in seen]}
        Path(out).with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False))
        code = 0 if done else 1
        app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(POLL_MS)
    app.exec()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
