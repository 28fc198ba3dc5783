"""Every override from the window: confirmed (the exact command reaches the engine with origin
gui and the window follows the engine's events), refused (nothing is sent), rejected by the
engine (shown in red), from the toolbar, the condors' context menu and the keyboard."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from condordesk.engine import api
from gui.dialogs import ConfirmDialog, PriceDialog
from gui.window import MainWindow
from tests.gui.conftest import Run
from tests.gui.helpers import cells, live, shown, until
from tests.tui.fakes import FakeEngine, snapshot, view

D = Decimal
CID = "20261130-01"


def window_over(engine: FakeEngine, **kw: Any) -> MainWindow:
    return MainWindow(engine.open_handle, attached=kw.pop("attached", True), profile="sim",
                      refresh_per_s=50, **kw)  # fmt: skip


async def confirm(w: MainWindow, *texts: str) -> ConfirmDialog:
    await until(lambda: isinstance(w.dialog, ConfirmDialog), "the confirmation")
    dialog = w.dialog
    assert isinstance(dialog, ConfirmDialog)
    shown_text = dialog.text()
    for text in texts:
        assert text in shown_text, f"{text!r} not in\n{shown_text}"
    return dialog


async def press(w: MainWindow, key: Qt.Key, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed in the window (once the operator's focus is on it)."""
    w.activateWindow()
    await until(lambda: QApplication.activeWindow() is w, "the window to be active")
    QTest.keyClick(w, key, modifier)


def condor_row(w: MainWindow) -> dict[str, str]:
    return next(r for r in cells(w.condors) if r["Condor"] == CID)


async def trigger(w: MainWindow, action: str) -> None:
    """A toolbar button clicked."""
    button = w.toolbar.widgetForAction(w.actions_by_name[action])
    assert button.isVisible() and button.isEnabled()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


Act = Callable[[MainWindow], Coroutine[Any, Any, None]]
CASES: list[tuple[str, Act, str, type[api.Command], str]] = [
    ("pause", lambda w: trigger(w, "pause"),
     "PauseEntries(reason='operator', origin='gui')", api.PauseEntries, "paused: operator"),
    ("stop up", lambda w: press(w, Qt.Key.Key_Plus),
     f"MoveStop(condor_id='{CID}', trigger=2.95, origin='gui')", api.MoveStop, "2.95"),
    ("stop down", lambda w: press(w, Qt.Key.Key_Minus),
     f"MoveStop(condor_id='{CID}', trigger=2.85, origin='gui')", api.MoveStop, "2.85"),
    ("cancel stop", lambda w: press(w, Qt.Key.Key_X),
     f"CancelStop(condor_id='{CID}', origin='gui')", api.CancelStop, "UNPROTECTED"),
    ("close at market", lambda w: trigger(w, "close_market"),
     f"CloseCondor(condor_id='{CID}', limit=None, origin='gui')", api.CloseCondor, "closed"),
    ("flatten", lambda w: press(w, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier),
     "FlattenAll(origin='gui')", api.FlattenAll, "closed"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "act", "wire", "kind", "after"), CASES, ids=[c[0] for c in CASES])
def test_a_confirmed_action_sends_exactly_what_the_dialog_says_and_the_window_follows(
    gui_run: Run, name: str, act: Act, wire: str,
    kind: type[api.Command], after: str,
) -> None:  # fmt: skip
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            await act(w)
            dialog = await confirm(w, f"Will send: {wire}")
            assert dialog.cancel_button.isDefault()  # Enter alone never sends
            dialog.send_button.click()
            await until(lambda: len(engine.commands) == 1, "the command")
            (sent,) = engine.commands
            assert isinstance(sent, kind) and sent.origin == "gui"
            shown_after = lambda: after in str(condor_row(w)) or after in w.header.values[  # noqa: E731
                "engine"].text()  # fmt: skip
            await until(shown_after, f"{after!r} in the window")
            await until(lambda: "accepted" in w.header.notice.text(), "the ack")

    gui_run(scenario())


def test_refusing_sends_nothing_and_says_so(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            await press(w, Qt.Key.Key_C)
            dialog = await confirm(w, "Close at market", f"CloseCondor(condor_id='{CID}'",
                                   "Mark now 0.90, natural 1.05")  # fmt: skip
            QTest.keyClick(dialog, Qt.Key.Key_Escape)
            await until(lambda: w.dialog is None, "the dialog to go")
            await until(lambda: "Close at market: cancelled, nothing sent" in
                        [line.text for line in w.model.log], "the log line")  # fmt: skip
            await press(w, Qt.Key.Key_C)
            dialog = await confirm(w)
            QTest.keyClick(dialog, Qt.Key.Key_Return)  # Cancel has the focus: Enter refuses
            await until(lambda: w.dialog is None, "the dialog to go")
            assert engine.commands == []
            assert condor_row(w)["State"] == "open"

    gui_run(scenario())


def test_a_rejected_command_is_shown_in_red_and_nothing_changes(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))
    engine.reject[api.MoveStop] = "stop trigger 3.00 is below the mark"

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            w.actions_by_name["stop_up"].trigger()
            (await confirm(w)).send_button.click()
            await until(lambda: "REJECTED" in w.header.notice.text(), "the rejection")
            notice = w.header.notice.text()
            assert "MoveStop(condor_id='20261130-01', trigger=2.95, origin='gui')" in notice
            assert "stop trigger 3.00 is below the mark" in notice
            assert "background: #5c1013" in w.header.notice.styleSheet()
            await until(lambda: "MoveStop from gui REFUSED" in w.log.toPlainText(), "the log")
            assert condor_row(w)["Stop"] == "2.90"
            assert w.sent[-1][1] == api.Ack(False, "stop trigger 3.00 is below the mark")

    gui_run(scenario())


def test_typed_prices_move_the_stop_and_close_at_a_limit(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            await press(w, Qt.Key.Key_S)
            await until(lambda: isinstance(w.dialog, PriceDialog), "the price box")
            price = w.dialog
            assert isinstance(price, PriceDialog) and price.box.value() == 2.90
            price.set_text("3.12")  # off the 0.05 tick: refused in the box
            QTest.keyClick(price.box, Qt.Key.Key_Return)
            await until(lambda: "multiple of the 0.05" in price.error.text(), "the tick error")
            price.set_text("3.10")
            QTest.keyClick(price.box, Qt.Key.Key_Return)
            dialog = await confirm(
                w, "Stop trigger 2.90 → 3.10", "the stop-limit to 3.10 (limit 3.60)",
                "the backup to 3.40", "at most the wing width, 10.00", "same OCA group",
                f"MoveStop(condor_id='{CID}', trigger=3.10, origin='gui')",
            )  # fmt: skip
            dialog.send_button.click()
            await until(lambda: condor_row(w)["Stop"] == "3.10", "the new stop in the table")
            await press(w, Qt.Key.Key_L)
            await until(lambda: isinstance(w.dialog, PriceDialog), "the limit box")
            assert isinstance(w.dialog, PriceDialog) and w.dialog.box.value() == 0.90  # the mark
            w.dialog.set_text("0.85")
            QTest.keyClick(w.dialog.box, Qt.Key.Key_Return)
            dialog = await confirm(
                w, "One buy-back order at a limit of 0.85",
                "If it fills: P&L +$60.00 before commissions",
                f"CloseCondor(condor_id='{CID}', limit=0.85, origin='gui')",
            )  # fmt: skip
            dialog.send_button.click()
            await until(lambda: condor_row(w)["State"] == "closed", "the close")
            assert [type(c) for c in engine.commands] == [api.MoveStop, api.CloseCondor]
            assert condor_row(w)["P&L"] == "+$54.72"

    gui_run(scenario())


def test_cancelling_the_stop_warns_unprotected_and_re_arming_protects_again(
    gui_run: Run,
) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            menu = w.condor_menu()  # what a right-click on the condor opens
            cancel = next(a for a in menu.actions() if a.text() == "Cancel stop")
            cancel.trigger()
            dialog = await confirm(w, "The position becomes UNPROTECTED")
            dialog.send_button.click()
            await until(lambda: condor_row(w)["Stop state"] == "UNPROTECTED", "unprotected")
            await until(lambda: w.header.alerts.isVisible(), "the alerts bar")
            assert "condor 20261130-01 has no stop" in w.header.alerts.text()
            await press(w, Qt.Key.Key_A)
            dialog = await confirm(w, "places a new OCA stop pair triggering at 2.90",
                                   f"ArmStops(condor_id='{CID}', origin='gui')")  # fmt: skip
            dialog.send_button.click()
            await until(lambda: condor_row(w)["Stop state"] == "verified", "re-armed")
            await until(lambda: not w.header.alerts.isVisible(), "the alert cleared by itself")
            assert "alert cleared (stops verified" in w.log.toPlainText()
            await press(w, Qt.Key.Key_K)
            dialog = await confirm(w, "(no open alert)", "AcknowledgeAlerts(origin='gui')")
            dialog.send_button.click()
            await until(lambda: not w.header.alerts.isVisible(), "the alerts acknowledged")
            await press(w, Qt.Key.Key_P)
            (await confirm(w)).send_button.click()
            await until(lambda: "paused" in w.header.values["engine"].text(), "paused")
            await press(w, Qt.Key.Key_R)
            dialog = await confirm(w, "This lifts the pause: operator.",
                                   "ResumeEntries(origin='gui')")  # fmt: skip
            dialog.send_button.click()
            await until(lambda: w.header.values["engine"].text() == "armed", "armed again")
            kinds = [type(c) for c in engine.commands]
            assert kinds == [api.CancelStop, api.ArmStops, api.AcknowledgeAlerts,
                             api.PauseEntries, api.ResumeEntries]  # fmt: skip

    gui_run(scenario())


def test_nothing_to_act_on_is_said_and_nothing_is_asked(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view(state="closed", realized_pnl=D("40.00"))))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            for key in (Qt.Key.Key_Plus, Qt.Key.Key_X, Qt.Key.Key_C, Qt.Key.Key_L, Qt.Key.Key_S):
                await press(w, key)
                await until(lambda: "Nothing to send" in w.header.notice.text(), "the notice")
                assert w.dialog is None
                assert "is closed, not open" in w.header.notice.text()
            assert engine.commands == []

    gui_run(scenario())


def test_while_the_engine_is_lost_no_command_can_be_sent(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))
    from tests.gui.helpers import Gate

    gate = Gate()

    async def scenario() -> None:
        async with shown(window_over(engine, sleep=gate.sleep)) as w:
            await until(live(w), "the engine's data")
            w.actions_by_name["pause"].trigger()
            dialog = await confirm(w)
            engine.lose()  # lost while the operator reads the confirmation
            await until(lambda: w.model.link == "lost", "the loss")
            dialog.send_button.click()
            await until(lambda: "NOT SENT" in w.header.notice.text(), "not sent")
            assert "the engine is not connected" in w.header.notice.text()
            await until(lambda: not w.pending_redraw, "the redraw")
            assert not w.actions_by_name["flatten"].isEnabled()
            assert w.actions_by_name["export"].isEnabled()
            assert engine.commands == []

    gui_run(scenario())


def test_a_stop_price_retyped_after_select_all_is_the_one_confirmed_and_sent(
    gui_run: Run,
) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            await press(w, Qt.Key.Key_S)
            await until(lambda: isinstance(w.dialog, PriceDialog), "the price box")
            price = w.dialog
            assert isinstance(price, PriceDialog)
            price.activateWindow()
            price.box.setFocus()
            QTest.keyClick(price.box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            QTest.keyClicks(price.box, "3.1")  # types over the selection: 3.1 is 3.10
            assert price.box.text() == "3.1"
            wire = f"MoveStop(condor_id='{CID}', trigger=3.10, origin='gui')"
            assert wire in price.preview.text()
            QTest.keyClick(price.box, Qt.Key.Key_Return)
            dialog = await confirm(
                w, "Stop trigger 2.90 → 3.10",
                f"MoveStop(condor_id='{CID}', trigger=3.10, origin='gui')",
            )  # fmt: skip
            dialog.send_button.click()
            await until(lambda: bool(engine.commands), "the command")
            assert engine.commands == [api.MoveStop(origin="gui", condor_id=CID, trigger=D("3.10"))]

    gui_run(scenario())
