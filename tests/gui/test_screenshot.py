"""Screenshots for reviewers, checked not to be blank: the main window over a simulated session
(an engine embedded on the simulator, run to the early afternoon) as gui-main.png, and the
history view over eight simulated sessions' journal as gui-history.png.

They are written to $CONDORDESK_SCREENSHOTS when it is set (``CONDORDESK_SCREENSHOTS=
docs/screenshots ./check`` refreshes the committed ones), else to the test's temporary
directory, so a test run leaves the working tree clean."""

from __future__ import annotations

import os
import statistics
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from condordesk.app.consoles import embedded_opener
from condordesk.config.profile import Profile
from console.format import ET, money
from gui.window import MainWindow
from tests.engine.harness import make_profile, run_engine
from tests.gui.conftest import Run
from tests.gui.helpers import cells, shown, until
from tests.tui.fakes import FakeEngine, snapshot

pytestmark = pytest.mark.usefixtures("warm_calendar")
SHOTS_ENV = "CONDORDESK_SCREENSHOTS"
UNTIL = time(13, 20)  # New York, simulated


def session_profile() -> Profile:
    return Profile.model_validate({
        "simulator": {
            "speed": 2400, "sessions": 1, "seed": 5, "scenario": "whipsaw",
            "start_date": "2026-11-30", "start_time": "09:40", "greeks_missing_prob": 0.0,
        },
        "strategy": {"max_concurrent": 2, "reentry_interval_min": 45},
        "logging": {"file": False},
    })  # fmt: skip


def luminance_stats(image: QImage) -> tuple[float, int]:
    """Standard deviation of the pixels' luminance and the number of distinct colours."""
    values, colors = [], set()
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            rgb = image.pixel(x, y)
            colors.add(rgb)
            r, g, b = (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255
            values.append(0.299 * r + 0.587 * g + 0.114 * b)
    return statistics.pstdev(values), len(colors)


def test_the_main_window_over_a_simulated_session(gui_run: Run, shots_dir: Path) -> None:
    w = MainWindow(embedded_opener(session_profile()), attached=False, profile="sim",
                   refresh_per_s=10)  # fmt: skip
    shots: dict[str, QImage] = {}

    def afternoon() -> bool:
        ts = w.model.ts
        return ts is not None and ts.astimezone(ET).time() >= UNTIL

    async def scenario() -> None:
        async with shown(w, limit_s=60):
            await until(afternoon, "the simulated afternoon", 120)
            w.timer.stop()  # freeze the picture: what is drawn stays drawn
            w.flush()
            shots["main"] = w.grab().toImage()
            assert w.model.condor_pnl, "the session traded"
            assert len(w.model.spx.ys) > 30

    gui_run(scenario(), limit_s=240)
    save(shots["main"], shots_dir, "gui-main.png")


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    wanted = os.environ.get(SHOTS_ENV)
    return Path(wanted) if wanted else tmp_path


def save(image: QImage, where: Path, name: str) -> None:
    assert image.width() >= 1600 and image.height() >= 1000
    spread, colors = luminance_stats(image)
    assert spread > 12 and colors > 200, f"{name}: the screenshot looks blank"
    where.mkdir(parents=True, exist_ok=True)
    assert image.save(str(where / name))


def test_the_history_view_over_eight_simulated_sessions(
    gui_run: Run, tmp_path: Path, shots_dir: Path
) -> None:
    days = run_engine(make_profile(simulator={"sessions": 8, "seed": 7, "scenario": "mixed"}),
                      tmp_path)  # fmt: skip
    journal = days.runtime.journal
    closed = [r for r in journal.condors() if r.state.value == "closed"]
    engine = FakeEngine(snapshot())
    shots: dict[str, QImage] = {}

    async def scenario() -> None:
        engine.trades = await days.runtime.engine.history()  # the engine reads its journal
        w = MainWindow(engine.open_handle, attached=True, profile="sim", refresh_per_s=20)
        async with shown(w):
            h = w.history
            await until(lambda: len(cells(h.model)) == len(closed), "the journal's trades")
            w.tabs.setCurrentWidget(h)
            await until(lambda: h.isVisible() and not w.pending_redraw, "the history view")
            shots["history"] = w.grab().toImage()
            by_day: dict[Any, Decimal] = {}
            for r in closed:
                by_day[r.day] = by_day.get(r.day, Decimal(0)) + (r.realized_pnl or Decimal(0))
            assert h.day_axis.days == sorted(by_day)
            assert list(h.bars.opts["height"]) == [float(by_day[d]) for d in sorted(by_day)]
            total = sum(by_day.values(), Decimal(0))
            assert h.total_curve.getData()[1][-1] == pytest.approx(float(total))
            assert h.summary.text().endswith(f"total {money(total)}")

    try:
        gui_run(scenario())
    finally:
        journal.close()
    save(shots["history"], shots_dir, "gui-history.png")
