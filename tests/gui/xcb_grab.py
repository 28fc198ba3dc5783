"""Run on an X display (Qt's xcb platform): grab the whole screen until something is drawn on
it, then save it as a PNG. ``python xcb_grab.py OUT.png LIMIT_S``; exit 0 once the screen is
busy (many colours), 1 if it stayed blank for ``LIMIT_S`` seconds (the last grab is saved).

Polled from Qt's own event loop (a timer), so nothing sleeps."""

from __future__ import annotations

import sys

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

POLL_MS = 250
BUSY_COLOURS = 24  # a desktop console draws far more; an empty X screen has one


def colours(image: QImage, step: int = 7) -> int:
    """Distinct colours on a grid of sampled pixels."""
    seen = {
        image.pixel(x, y)
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
    }
    return len(seen)


def main(out: str, limit_s: float) -> int:
    """Grab until busy or ``limit_s`` passed; returns the exit code."""
    app = QApplication([sys.argv[0], "-platform", "xcb"])
    clock = QElapsedTimer()
    clock.start()
    result = {"code": 1}

    def grab() -> None:
        image = app.primaryScreen().grabWindow(0).toImage()
        busy = colours(image) >= BUSY_COLOURS
        if busy or clock.elapsed() > limit_s * 1000:
            image.save(out)
            result["code"] = 0 if busy else 1
            app.quit()

    timer = QTimer()
    timer.timeout.connect(grab)
    timer.start(POLL_MS)
    app.exec()
    return result["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
