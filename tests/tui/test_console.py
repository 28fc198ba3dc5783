"""The console driven with keys over a fake engine: what the operator sees, and exactly what
reaches the engine."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from textual.pilot import Pilot

from condordesk.engine import api
from tests.tui.fakes import T0, FakeEngine, snapshot, view
from tests.tui.helpers import Gate, screen_text, until, until_shown
from tui import ConsoleApp
from tui.screens import ConfirmScreen, PriceScreen

D = Decimal
SIZE = (160, 45)
ROOT = Path(__file__).resolve().parents[2]
CID = "20261130-01"


def make_app(engine: FakeEngine, *, attached: bool = True, gate: Gate | None = None) -> ConsoleApp:
    return ConsoleApp(
        engine.open_handle,
        attached=attached,
        profile="sim",
        sleep=(gate or Gate()).sleep,
        refresh_per_s=50,
        cursor_blink=False,
    )


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(snapshot(view()))


@pytest.fixture
async def pilot(engine: FakeEngine) -> AsyncIterator[Pilot[None]]:
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        yield pilot


async def confirm_shown(pilot: Pilot[None], *texts: str) -> str:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "a confirmation")
    return await until_shown(pilot, *texts)


# -- what the dashboard shows -------------------------------------------------------------


async def test_attaching_while_a_condor_is_open_shows_it_with_distances_stops_and_risk(
    pilot: Pilot[None],
) -> None:
    shown = screen_text(pilot.app)
    assert "ATTACHED to engine" in shown and "SIM" in shown and "account SIM-0001" in shown
    assert "engine ARMED" in shown and "● connected" in shown
    assert "SPX 6001.50" in shown and "EM ±21.85" in shown
    assert "next: entries close 14:30 (in 4h20m)" in shown  # engine time 10:10 ET
    row = next(line for line in shown.splitlines() if line.startswith(f" {CID}"))
    for cell in ("5950/5960P 6040/6050C", "1.45", "0.90", "+$55.00", "41.5pt 1.90EM",
                 "38.5pt 1.76EM", "2.90 verified", "0.70", "open ★1st"):  # fmt: skip
        assert cell in row, cell
    assert "Δ -3.47  Γ -0.767  V -25.88" in shown
    # theta as what the book earns by the close with SPX unchanged (mark 0.90, worth 0 at
    # expiry at 6001.50): never more than the credit still open, unlike theta per day
    assert "Θ +$90.00 to the close" in shown and "/day" not in shown
    assert "Max loss   -$855.00" in shown and "Max profit +$145.00" in shown
    assert "Breakevens 5958.6 / 6041.5" in shown  # points round half up
    assert "P&L today +$55.00" in shown
    assert "OPENED 20261130-01 5950/5960P 6040/6050C x1 for 1.45" in shown  # log from snapshot


async def test_a_live_account_is_marked_unmistakably_and_an_embedded_engine_says_so() -> None:
    live = FakeEngine(snapshot(view(), mode="live", account="U7654321", profile="live"))
    app = make_app(live, attached=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        shown = await until_shown(pilot, "engine running", "━" * 100)
        lines = shown.splitlines()
        assert set(lines[0].strip()) == {"━"}  # a heavy red rule above everything
        assert lines[1].startswith(" LIVE ACCOUNT  REAL MONEY  live · account U7654321 · EMBEDDED")
        assert app.screen.query_one("StatusBar").has_class("-live")


async def test_events_update_the_screen_live(pilot: Pilot[None], engine: FakeEngine) -> None:
    engine.emit(api.CondorMarked(condor_id=CID, spot=D("6031.25"), mark=D("1.80"),
                                 debit=D("1.95"), unrealized_pnl=D("-35.00")))  # fmt: skip
    shown = await until_shown(pilot, "SPX 6031.25", "-$35.00", "8.8pt 0.40EM")
    assert "P&L today -$35.00" in shown
    engine.emit(api.BrokerConnectionChanged(connected=False, reason="1100 connectivity lost"))
    await until_shown(pilot, "● DISCONNECTED", "BROKER DISCONNECTED: 1100 connectivity lost")


# -- overrides: each key, its confirmation, what is sent -----------------------------------


async def test_pause_is_confirmed_sent_with_origin_tui_and_shown_from_the_event(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("p")
    await confirm_shown(pilot, "Will send: PauseEntries(reason='operator', origin='tui')")
    assert engine.commands == []
    await pilot.press("y")
    await until_shown(pilot, "engine PAUSED: operator", "entries PAUSED: operator (by tui)")
    assert engine.commands == [api.PauseEntries(origin="tui", reason="operator")]
    await pilot.press("r")
    await confirm_shown(pilot, "ResumeEntries(origin='tui')", "This lifts the pause: operator")
    await pilot.press("y")
    await until_shown(pilot, "engine ARMED", "entries resumed (by tui)")
    assert engine.commands[-1] == api.ResumeEntries(origin="tui")


@pytest.mark.parametrize("refuse", ["n", "escape", "enter"], ids=["n", "esc", "enter-on-cancel"])
async def test_refusing_a_confirmation_sends_nothing(
    pilot: Pilot[None], engine: FakeEngine, refuse: str
) -> None:
    await pilot.press("x")
    await confirm_shown(pilot, "UNPROTECTED", "CancelStop(condor_id='20261130-01'")
    await pilot.press(refuse)  # Enter presses the focused button: Cancel
    await until_shown(pilot, "Cancel stop: cancelled, nothing sent")
    assert engine.commands == []
    assert "2.90 verified" in screen_text(pilot.app)


async def test_moving_the_stop_up_a_tick_and_another_sends_the_exact_trigger(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("plus")
    await until(pilot, lambda: isinstance(pilot.app.screen, PriceScreen), "the stop box")
    await until_shown(pilot, "Stop trigger 2.90 → 2.95", "MoveStop(condor_id='20261130-01', "
                      "trigger=2.95, origin='tui')")  # fmt: skip
    await pilot.press("up")
    shown = await until_shown(pilot, "Stop trigger 2.90 → 3.00", "(limit 3.50)", "to 3.30")
    assert "trigger=3.00" in shown
    await pilot.press("enter")
    await until_shown(pilot, "3.00 verified", "stop placed 20261130-01: trigger 3.00 limit 3.50")
    assert engine.commands == [api.MoveStop(origin="tui", condor_id=CID, trigger=D("3.00"))]


async def test_a_typed_stop_price_off_the_tick_is_refused_before_anything_is_sent(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("s")
    await until(pilot, lambda: isinstance(pilot.app.screen, PriceScreen), "the stop box")
    await pilot.press("ctrl+a", "ctrl+k", *"3.47")
    await until_shown(pilot, "Not sent: the price must be a multiple of the 0.05 combo tick")
    await pilot.press("enter")
    assert isinstance(pilot.app.screen, PriceScreen) and engine.commands == []
    await pilot.press("backspace", "5", "minus")  # "-" types into the box, not a stop step
    await until_shown(pilot, "Not sent: 3.45- is not a price")
    await pilot.press("backspace", "enter")
    await until_shown(pilot, "3.45 verified", "trigger 3.45 limit 3.95, backup 3.75")
    assert engine.commands == [api.MoveStop(origin="tui", condor_id=CID, trigger=D("3.45"))]


async def test_moving_the_stop_down_from_the_dashboard(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("minus")
    await until_shown(pilot, "Stop trigger 2.90 → 2.85")
    await pilot.press("down", "enter")
    await until_shown(pilot, "2.80 verified")
    assert engine.commands == [api.MoveStop(origin="tui", condor_id=CID, trigger=D("2.80"))]


async def test_cancelling_a_stop_warns_then_shows_the_condor_unprotected_and_re_arm_restores_it(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("x")
    await confirm_shown(pilot, "The position becomes UNPROTECTED")
    await pilot.press("y")
    await until_shown(pilot, "2.90 UNPROTECTED", "⚠ 1 alert(s): k",
                      "ALERT unprotected: condor 20261130-01 has no stop")  # fmt: skip
    assert engine.commands == [api.CancelStop(origin="tui", condor_id=CID)]
    await pilot.press("a")
    await confirm_shown(pilot, "ArmStops(condor_id='20261130-01', origin='tui')",
                        "places a new OCA stop pair triggering at 2.90")  # fmt: skip
    await pilot.press("y")
    await until_shown(pilot, "2.90 verified", "alert cleared (stops verified at the broker")
    assert pilot.app.model.log[-1].text == (  # type: ignore[attr-defined]
        "alert cleared (stops verified at the broker again): unprotected: condor "
        "20261130-01 has no stop"
    )
    assert engine.commands[-1] == api.ArmStops(origin="tui", condor_id=CID)
    assert "alert(s): k" not in screen_text(pilot.app)
    await pilot.press("k")
    await confirm_shown(pilot, "AcknowledgeAlerts(origin='tui')", "(no open alert)")
    await pilot.press("y")
    await until_shown(pilot, "alerts acknowledged (by tui)")


async def test_closing_at_market(pilot: Pilot[None], engine: FakeEngine) -> None:
    await pilot.press("c")
    await confirm_shown(pilot, "CloseCondor(condor_id='20261130-01', limit=None, origin='tui')",
                        "Mark now 0.90, natural 1.05")  # fmt: skip
    await pilot.press("y")
    shown = await until_shown(pilot, "CLOSED 20261130-01 (manual)", "closed (manual)")
    assert "realized +$39.72" in shown  # (1.45 - 1.00) x 100 - 5.28 commissions
    assert engine.commands == [api.CloseCondor(origin="tui", condor_id=CID, limit=None)]


async def test_closing_at_a_typed_limit(pilot: Pilot[None], engine: FakeEngine) -> None:
    await pilot.press("l")
    await until(pilot, lambda: isinstance(pilot.app.screen, PriceScreen), "the limit box")
    await until_shown(pilot, "limit=0.90", "If it fills: P&L +$55.00")  # starts at the mark
    await pilot.press("ctrl+a", "ctrl+k", *"0.80")
    await until_shown(pilot, "limit=0.80", "If it fills: P&L +$65.00")
    await pilot.press("enter")
    await until_shown(pilot, "CLOSED 20261130-01 (manual) exit 0.80")
    assert engine.commands == [api.CloseCondor(origin="tui", condor_id=CID, limit=D("0.80"))]


async def test_flatten_all_lists_what_it_closes() -> None:
    two = FakeEngine(snapshot(view(), view("20261130-02", label="5900/5910P 6090/6100C",
                                           long_put=D(5900), short_put=D(5910),
                                           short_call=D(6090), long_call=D(6100))))  # fmt: skip
    app = make_app(two)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        await pilot.press("F")
        await confirm_shown(pilot, "FLATTEN ALL", "FlattenAll(origin='tui')",
                            "Condor 20261130-01  5950/5960P 6040/6050C",
                            "Condor 20261130-02  5900/5910P 6090/6100C",
                            "Every open position is closed at the market price")  # fmt: skip
        await pilot.press("y")
        await until_shown(pilot, "engine PAUSED: flatten", "CLOSED 20261130-01 (flatten)",
                          "CLOSED 20261130-02 (flatten)")  # fmt: skip
        assert two.commands == [api.FlattenAll(origin="tui")]


async def test_a_rejected_command_is_shown_clearly_and_changes_nothing(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    engine.reject[api.MoveStop] = "condor 20261130-01 is closing, not open"
    await pilot.press("plus")
    await until(pilot, lambda: isinstance(pilot.app.screen, PriceScreen), "the stop box")
    await pilot.press("enter")
    shown = await until_shown(
        pilot, "Move stop REJECTED by the engine:", "is closing, not open", "from tui REFUSED"
    )
    assert "2.90 verified" in shown  # nothing moved


async def test_a_condor_must_be_open_for_condor_keys() -> None:
    closed = view(state="closed", mark=None, unrealized_pnl=None, realized_pnl=D("-166.62"),
                  exit_reason="stop_limit", stop_state="n/a")  # fmt: skip
    engine = FakeEngine(snapshot(closed))
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        for key in ("x", "plus", "c", "l", "a"):
            await pilot.press(key)
            await until_shown(pilot, "condor 20261130-01 is closed, not open")
            assert not isinstance(app.screen, ConfirmScreen | PriceScreen)
        assert engine.commands == []


async def test_the_arrow_keys_choose_which_condor_a_key_acts_on() -> None:
    second = view("20261130-02", label="5900/5910P 6090/6100C", long_put=D(5900),
                  short_put=D(5910), short_call=D(6090), long_call=D(6100))  # fmt: skip
    engine = FakeEngine(snapshot(view(), second))
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        await pilot.press("down", "x")
        await confirm_shown(pilot, "CancelStop(condor_id='20261130-02'")
        await pilot.press("n", "left_square_bracket", "x")
        await confirm_shown(pilot, "CancelStop(condor_id='20261130-01'")


async def test_console_keys_do_nothing_while_a_confirmation_is_open(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("p")
    await confirm_shown(pilot, "PauseEntries")
    await pilot.press("c", "F", "2", "q")
    assert isinstance(pilot.app.screen, ConfirmScreen)
    assert len(pilot.app.screen_stack) == 2 and pilot.app.current_mode == "dashboard"
    assert "PauseEntries" in screen_text(pilot.app) and engine.commands == []


# -- screens ------------------------------------------------------------------------------


async def test_the_screens_and_the_help(pilot: Pilot[None], engine: FakeEngine) -> None:
    engine.emit(api.FillRecorded(condor_id=CID, order_ref="cd:20261130-01:entry",
                                 exec_id="0001.01", symbol="SPXW 20261130 5960P", side="SELL",
                                 quantity=1, price=D("2.10")))  # fmt: skip
    await pilot.press("2")
    await until_shown(pilot, "long 5950P  short 5960P  short 6040C  long 6050C",
                      "SPX to short put   41.5 pt = 1.90 EM", "Orders and fills",
                      "trigger 2.90  limit 3.40  backup 3.20 (limit 10.00)")  # fmt: skip
    await pilot.press("3")
    await until_shown(pilot, "cd:20261130-01:entry", "0001.01", "SPXW 20261130 5960P")
    await pilot.press("4")
    await until_shown(pilot, "Today 2026-11-30", "5950/5960P 6040/6050C")
    await pilot.press("5")
    await until_shown(pilot, "No open alert.", "fill SPXW 20261130 5960P SELL 1 @ 2.10")
    await pilot.press("question_mark")
    shown = await until_shown(pilot, "condordesk console — keys")
    for text in ("Cancel the selected condor's stop: UNPROTECTED", "Flatten all (shift+f)",
                 "Close the selected condor at a limit you type", "? / F1"):  # fmt: skip
        assert text in shown
    await pilot.press("escape", "1")
    await until_shown(pilot, "Greeks · max loss", "P&L at expiry")


# -- the engine link ----------------------------------------------------------------------


async def test_losing_the_engine_is_unmistakable_and_the_console_resyncs_when_it_returns() -> None:
    engine, gate = FakeEngine(snapshot(view())), Gate()
    app = make_app(engine, gate=gate)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        engine.lose()
        shown = await until_shown(pilot, "ENGINE LOST", "engine connection lost",
                                  "Trading is not affected by the console")  # fmt: skip
        assert "the data below is stale" in shown
        await pilot.press("p", "y")
        await until_shown(pilot, "Pause entries was NOT sent: the engine is not connected")
        assert engine.commands == []
        await until(pilot, lambda: gate.waiting == 1, "the first retry wait")
        gate.open()  # the retry fails: the engine is still down
        await until(pilot, lambda: gate.waiting == 2, lambda: (
            f"a failed retry: {gate.waiting} wait(s), {engine.attempts} attempt(s), log "
            f"{[line.text for line in app.model.log][-6:]}"))  # fmt: skip
        assert engine.attempts == 2 and engine.connections == 1
        await until_shown(pilot, "no engine is listening on the control socket")
        # meanwhile the engine closed the condor by its stop; the console must catch up
        stopped = view(state="closed", mark=None, unrealized_pnl=None, realized_pnl=D("-166.62"),
                       exit_reason="stop_limit", stop_state="n/a")  # fmt: skip
        engine.come_back(snapshot(stopped, realized_pnl=D("-166.62"), state="paused",
                                  paused_reason="daily max loss"))  # fmt: skip
        engine.seq += 7
        gate.open()
        shown = await until_shown(pilot, "closed (stop_limit)", "PAUSED: daily max loss")
        assert "the data below is stale" not in shown and "P&L today -$166.62" in shown
        assert engine.connections == 2
        engine.emit(api.EntriesResumed(origin="cli"))  # live again
        await until_shown(pilot, "entries resumed (by cli)", "engine ARMED")


async def test_quitting_an_attached_console_leaves_the_engine_alone(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("q")
    await until(pilot, lambda: pilot.app.return_code == 0, "the console to exit")
    assert engine.commands == []


async def test_quitting_an_embedded_console_asks_then_stops_the_engine() -> None:
    engine = FakeEngine(snapshot(view()))
    left: list[str] = []
    original = engine.open_handle

    def open_handle():  # type: ignore[no-untyped-def]
        cm = original()

        class Tracked:
            async def __aenter__(self) -> api.EngineHandle:
                return await cm.__aenter__()

            async def __aexit__(self, *exc: object) -> None:
                left.append("engine stopped")
                await cm.__aexit__(*exc)

        return Tracked()

    app = ConsoleApp(open_handle, attached=False, profile="sim", refresh_per_s=50)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "engine running")
        await pilot.press("q")
        await confirm_shown(pilot, "Quit and stop the engine", "The simulator runs in this "
                            "process and ends with it", "Will send: nothing")  # fmt: skip
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "back")
        assert left == [] and app.return_code is None
        await pilot.press("q")
        await confirm_shown(pilot, "Quit and stop the engine")
        await pilot.press("y")
        await until(pilot, lambda: app.return_code == 0, "the console to exit")
        assert left == ["engine stopped"]  # left before the app exited


async def test_a_burst_of_quotes_never_delays_a_key(pilot: Pilot[None], engine: FakeEngine) -> None:
    app = pilot.app
    for i in range(4000):
        engine.emit(api.CondorMarked(condor_id=CID, spot=D("6001.50") + D(i) / 100,
                                     mark=D("0.90"), debit=D("1.05"),
                                     unrealized_pnl=D("55.00")))  # fmt: skip
    loop = __import__("asyncio").get_running_loop()
    started = loop.time()
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the pause confirmation")
    assert loop.time() - started < 2.0
    await until_shown(pilot, "SPX 6041.49")  # the last quote, not a stale one
    last = dataclasses.replace(engine.snap)
    assert last.seq <= engine.seq


async def test_a_stop_price_retyped_after_select_all_is_the_one_shown_and_sent(
    pilot: Pilot[None], engine: FakeEngine
) -> None:
    await pilot.press("s")
    await until(pilot, lambda: isinstance(pilot.app.screen, PriceScreen), "the stop box")
    await until_shown(pilot, "trigger=2.90")
    await pilot.press("ctrl+a", *"3.10")  # select all, then type over it
    shown = await until_shown(pilot, "Stop trigger 2.90 → 3.10")
    assert "MoveStop(condor_id='20261130-01', trigger=3.10, origin='tui')" in shown
    await pilot.press("enter")
    await until(pilot, lambda: bool(engine.commands), "a command")
    assert engine.commands == [api.MoveStop(origin="tui", condor_id=CID, trigger=D("3.10"))]


async def test_a_real_money_account_is_live_whatever_the_profile_says() -> None:
    engine = FakeEngine(snapshot(view(), mode="paper", account="U7654321", profile="paper"))
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        shown = await until_shown(pilot, "attached to the engine")
        assert " LIVE ACCOUNT  REAL MONEY  paper · account U7654321" in shown
        assert "PAPER" not in shown.splitlines()[1]
        assert app.screen.query_one("StatusBar").has_class("-live")


@pytest.mark.parametrize(
    ("reasons", "joined", "shown"),
    [(["operator", "daily max loss (-1500.00)"], "operator; daily max loss (-1500.00)",
      "PAUSED: operator · daily max loss (-1500.00)"),
     ([], "operator", "PAUSED: operator")],  # an engine that sends only the joined text
)  # fmt: skip
async def test_every_pause_reason_is_shown(reasons: list[str], joined: str, shown: str) -> None:
    engine = FakeEngine(snapshot(view(), state="paused", paused_reason=joined,
                                 paused_reasons=reasons))  # fmt: skip
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine", shown)
        engine.emit(api.EntriesPaused(reason="reconcile: orphan", origin="engine"))
        await until_shown(pilot, f"{shown} · reconcile: orphan")


async def test_when_the_selected_condor_closes_the_selection_moves_to_a_live_one() -> None:
    second = view("20261130-02", label="5900/5910P 6090/6100C", long_put=D(5900),
                  short_put=D(5910), short_call=D(6090), long_call=D(6100))  # fmt: skip
    engine = FakeEngine(snapshot(view(), second))
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        await pilot.press("down")
        await until(pilot, lambda: app.selected == "20261130-02", "the second condor selected")
        engine.emit(api.CondorClosed(condor_id="20261130-02", reason="stop_limit",
                                     exit_debit=D("3.10"), commissions=D("5.28"),
                                     realized_pnl=D("-170.28")))  # fmt: skip
        await until_shown(pilot, "CLOSED 20261130-02")
        await until(pilot, lambda: app.selected == CID, "the selection on the live condor")
        await pilot.press("x")
        await confirm_shown(pilot, f"CancelStop(condor_id='{CID}'")


async def test_after_a_normal_end_of_day_the_header_says_stopped_not_unknown() -> None:
    engine = FakeEngine(snapshot(view(), next_event="session close",
                                 next_event_at=T0 - timedelta(minutes=1)))  # fmt: skip
    app = make_app(engine, attached=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "engine running")
        engine.emit(api.EngineStopped(reason="end of day"))
        engine.lose()
        shown = await until_shown(pilot, "ENGINE STOPPED")
        header = "\n".join(shown.splitlines()[:2])
        assert "engine STOPPED" in header, header
        for stale in ("UNKNOWN", "broker unknown", "(in now)", "next: session close"):
            assert stale not in header, header
        banner = shown.splitlines()[2]  # the simulator ended with the engine: no broker holds
        assert "Nothing trades now; the simulator ended with it" in banner, banner  # any stop
        assert "stay at the broker" not in shown


def test_the_console_refuses_to_run_when_stdout_is_not_a_terminal(
    condordesk_home: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from condordesk.app.cli import main; "
         "sys.exit(main(['tui', '--profile', 'sim']))"],
        cwd=ROOT, env={**os.environ, "CONDORDESK_HOME": str(condordesk_home)},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "standard output is not a terminal" in done.stderr
    assert done.stdout == ""
    assert not (condordesk_home / "run" / "engine-sim.sock").exists()


async def test_two_unprotected_alerts_close_themselves_once_the_stops_are_re_armed() -> None:
    alerts = [
        "unprotected: condor 20261130-01 has no stop (tui cancelled it)",
        "stop_missing: condor 20261130-01 had no complete, correct stop pair at the broker",
    ]
    engine = FakeEngine(snapshot(view(stop_state="cancelled-by-operator"), open_alerts=alerts))
    app = make_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine", "⚠ 2 alert(s): k")
        await pilot.press("a")
        await confirm_shown(pilot, "ArmStops(condor_id='20261130-01', origin='tui')")
        await pilot.press("y")
        await until_shown(pilot, "2.90 verified", "alert cleared (stops verified at the broker")
        cleared = [line.text for line in app.model.log if line.text.startswith("alert cleared")]
        assert cleared == [f"alert cleared (stops verified at the broker again): {a}"
                           for a in alerts]  # fmt: skip
        assert "alert(s)" not in screen_text(pilot.app)
        assert app.model.alerts == []


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_no_row_wraps_and_the_clock_and_keys_stay_on_a_small_terminal(
    size: tuple[int, int],
) -> None:
    alert = "unprotected: condor 20261130-01 has no stop"
    engine = FakeEngine(snapshot(view(), state="paused", paused_reason="operator",
                                 open_alerts=[alert]))  # fmt: skip
    app = make_app(engine)
    async with app.run_test(size=size, notifications=True) as pilot:
        shown = await until_shown(pilot, "attached to the engine")
        lines = shown.splitlines()
        assert len(lines) == size[1]
        assert all(len(line) <= size[0] for line in lines)
        assert "10:10:00 ET" in lines[0]  # the engine's clock
        assert "⚠ 1 alert(s): k" in lines[1] and "P&L today +$55.00" in lines[1]
        row = next(line for line in lines if "#01" in line or CID in line)
        assert "2.90 verified" in row and "+$55.00" in row  # one row: its stop and P&L
        keys = lines[-1]
        for hint in ("? Help", "q Quit", "p Pause", "F FLATTEN"):
            assert hint in keys, keys


async def test_recent_orders_and_fills_keep_one_line_each_at_80x24() -> None:
    engine = FakeEngine(snapshot(view()))
    app = make_app(engine)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until_shown(pilot, "attached to the engine")
        for i, role in enumerate(("stop-limit", "stop-market")):
            engine.emit(api.OrderSubmitted(
                condor_id=CID, role=role, order_ref=f"cd:{CID}:{role}", order_type="STP LMT",
                quantity=1, limit_price=D("3.40") + i, stop_price=D("2.90") + D(i) / 10,
            ))  # fmt: skip
            engine.emit(api.FillRecorded(
                condor_id=CID, order_ref=f"cd:{CID}:entry", exec_id=f"e{i}", side="BUY",
                symbol=f"SPXW 20261130 60{4 + i}0C", quantity=1, price=D("0.20"),
            ))  # fmt: skip
        lines = (await until_shown(pilot, "BUY 1")).splitlines()
        top = next(i for i, line in enumerate(lines) if "Recent orders" in line)
        rows = []
        for line in lines[top + 1 :]:
            if line.startswith("╰"):
                break
            rows.append(line.split("│")[1].strip())
        assert len(rows) >= 2, lines  # each row: an order's time on the left, a fill's right
        row = re.compile(r"(\d\d:\d\d:\d\d #01 \S+( \d\d:\d\d:\d\d BUY 1.*)?)?$")
        assert all(row.match(r) for r in rows), rows  # never a fill's tail on a line of its own


async def test_the_stopped_banner_is_read_whole_at_80x24() -> None:
    engine = FakeEngine(snapshot(view()))
    app = make_app(engine, attached=False)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until_shown(pilot, "engine running")
        engine.emit(api.EngineStopped(reason="done"))
        engine.lose()
        shown = await until_shown(pilot, "ENGINE STOPPED")
        lines = shown.splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        banner = " ".join(line.strip() for line in lines[2:5])
        assert "the simulator ended with it. q quits." in banner, lines[:5]
        assert "q Quit" in lines[-1]
