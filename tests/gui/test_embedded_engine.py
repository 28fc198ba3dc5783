"""The window over a real engine embedded in it, trading the simulator at 600x: a condor the
engine opens appears in the table and on the charts, overrides reach the engine, a close lands
in the history read from the journal, and closing the window stops the engine."""

from __future__ import annotations

from typing import Any

import pytest

from condordesk.app.consoles import embedded_opener
from condordesk.config.profile import Profile
from gui.dialogs import ConfirmDialog
from gui.window import MainWindow
from tests.gui.conftest import Run
from tests.gui.helpers import cells, shown, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def sim_profile(**simulator: Any) -> Profile:
    raw: dict[str, Any] = {
        "simulator": {
            "speed": 600, "sessions": 1, "seed": 11, "scenario": "calm",
            "start_date": "2026-11-30", "start_time": "09:44", "greeks_missing_prob": 0.0,
            **simulator,
        },
        "strategy": {"max_concurrent": 1},
        "logging": {"file": False},
    }  # fmt: skip
    return Profile.model_validate(raw)


async def send(w: MainWindow, action: str, *texts: str) -> None:
    w.actions_by_name[action].trigger()
    await until(lambda: isinstance(w.dialog, ConfirmDialog), f"the {action} confirmation")
    assert isinstance(w.dialog, ConfirmDialog)
    for text in texts:
        assert text in w.dialog.text()
    w.dialog.send_button.click()


def test_an_engine_condor_is_charted_overridden_closed_and_in_the_history(gui_run: Run) -> None:
    w = MainWindow(embedded_opener(sim_profile()), attached=False, profile="sim",
                   refresh_per_s=20)  # fmt: skip

    def row() -> dict[str, str]:
        rows = cells(w.condors)
        return rows[0] if rows else {}

    async def scenario() -> None:
        async with shown(w, limit_s=60):
            await until(lambda: w.model.link == "live", "the engine", 60)
            assert w.header.where.text().startswith("EMBEDDED engine · profile sim")
            await until(lambda: row().get("Stop state") == "verified", "a protected condor", 60)
            await until(lambda: w.model.expected_move is not None, "the expected move", 30)
            await until(lambda: len(w.model.spx.ys) > 3 and not w.pending_redraw, "SPX", 30)
            assert w.spx_chart.curve.getData()[1] is not None
            assert w.risk_chart.graph is not None and w.risk_chart.graph.now is not None
            await until(lambda: "Net greeks of the book (engine): Δ" in w.risk_chart.greeks.text(),
                        "the engine's greeks", 30)  # fmt: skip
            cid = row()["Condor"]
            await send(w, "cancel_stop", "UNPROTECTED", f"CancelStop(condor_id='{cid}'")
            await until(lambda: row()["Stop state"] == "UNPROTECTED", "unprotected", 30)
            await send(w, "arm_stops", f"ArmStops(condor_id='{cid}', origin='gui')")
            await until(lambda: row()["Stop state"] == "verified", "re-armed", 60)
            await send(w, "close_market", f"CloseCondor(condor_id='{cid}', limit=None")
            await until(lambda: row()["State"] == "closed", "the close", 60)
            await until(lambda: [r["Condor"] for r in cells(w.history.model)] == [cid],
                        "the trade in the history", 30)  # fmt: skip
            trade = cells(w.history.model)[0]
            assert trade["Exit reason"] == "manual" and trade["P&L"] == row()["P&L"]
            log = w.log.toPlainText()
            for line in ("CancelStop from gui accepted", "ArmStops from gui accepted",
                         "CloseCondor from gui accepted", f"CLOSED {cid} (manual)"):  # fmt: skip
                assert line in log
            w.close()
            await until(lambda: isinstance(w.dialog, ConfirmDialog), "the quit question")
            assert w.dialog is not None
            w.dialog.send_button.click()
            await until(w.is_closed, "the engine to stop", 60)

    gui_run(scenario(), limit_s=180)
