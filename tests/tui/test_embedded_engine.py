"""The console over a real engine embedded in it, trading the simulator at 600x: what the
operator sees of a condor the engine opens, and an override that reaches the engine."""

from __future__ import annotations

import re
from typing import Any

import pytest

from condordesk.app.consoles import embedded_opener
from condordesk.config.profile import Profile
from tests.tui.helpers import screen_text, until, until_shown
from tui import ConsoleApp
from tui.screens import ConfirmScreen

pytestmark = pytest.mark.usefixtures("warm_calendar")


def sim_profile(**simulator: Any) -> Profile:
    raw: dict[str, Any] = {
        "simulator": {
            "speed": 600,
            "sessions": 1,
            "seed": 11,
            "scenario": "calm",
            "start_date": "2026-11-30",
            "start_time": "09:44",
            "greeks_missing_prob": 0.0,
            **simulator,
        },
        "strategy": {"max_concurrent": 1},
        "logging": {"file": False},
    }
    return Profile.model_validate(raw)


async def test_an_engine_condor_appears_live_and_a_cancelled_stop_is_re_armed_by_the_engine() -> (
    None
):
    app = ConsoleApp(embedded_opener(sim_profile()), attached=False, profile="sim",
                     refresh_per_s=20, cursor_blink=False)  # fmt: skip
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await until_shown(pilot, "EMBEDDED engine", "engine running")
        shown = await until_shown(pilot, "OPENED 20261130-0", " verified", limit_s=60)
        opened = re.search(r"OPENED (\d{8}-\d\d)", shown)  # (an entry may not fill first)
        assert opened is not None
        cid = opened[1]
        row = next(line for line in shown.splitlines() if line.startswith(f" {cid}"))
        assert re.search(r"\d+\.\dpt \d\.\d\dEM .* \d+\.\dpt \d\.\d\dEM", row), row
        await until(pilot, lambda: "EM n/a" not in screen_text(app), "the expected move", 30)
        theta = re.compile(r"Θ \+\$[\d,]+\.\d\d to the close")  # a short condor earns decay
        await until(pilot, lambda: bool(theta.search(screen_text(app))), "net greeks", 30)
        assert re.search(r"Max loss   -\$[\d,]+\.\d\d", screen_text(app))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until_shown(pilot, " UNPROTECTED ", "alert(s): k")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: " UNPROTECTED " not in screen_text(app), "re-armed stops")
        await pilot.press("5")  # the log: what the engine reported, with the origin
        await until_shown(pilot, "ArmStops from tui accepted", "stop verified at the broker")
        logged = [line.text for line in app.model.log]  # the log scrolls back to these
        assert "CancelStop from tui accepted" in logged
        assert f"ALERT unprotected: condor {cid} has no stop (tui cancelled it)" in logged
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the quit question")
        await pilot.press("y")
        await until(pilot, lambda: app.return_code == 0, "the engine to stop", 60)
