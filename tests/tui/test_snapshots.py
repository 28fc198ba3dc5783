"""SVG snapshots of the console's screens over a fake engine (engine time is fixed, so every
time shown is too). Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and
look at the SVGs under ``__snapshots__`` before committing them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from textual.pilot import Pilot

from condordesk.engine import api
from tests.tui.fakes import FakeEngine, snapshot, view
from tests.tui.helpers import Gate, until_shown
from tui import ConsoleApp

D = Decimal
SIZE = (160, 45)
Compare = Callable[..., bool]


def engine_with_a_day() -> FakeEngine:
    """An open condor, a condor stopped out earlier, an open alert, some fills."""
    stopped = view("20261130-02", label="5930/5940P 6060/6070C", long_put=D(5930),
                   short_put=D(5940), short_call=D(6060), long_call=D(6070), state="closed",
                   mark=None, debit=None, unrealized_pnl=None, realized_pnl=D("-166.62"),
                   exit_reason="stop_limit", first_trade=False)  # fmt: skip
    alert = "stop_missing: condor 20261130-02 had no working stop"
    return FakeEngine(snapshot(view(), stopped, realized_pnl=D("-166.62"), open_alerts=[alert]))


def fill_some(engine: FakeEngine) -> None:
    for i, (symbol, side, px) in enumerate(
        [("SPXW 20261130 5950P", "BUY", "0.35"), ("SPXW 20261130 5960P", "SELL", "1.05"),
         ("SPXW 20261130 6040C", "SELL", "0.95"), ("SPXW 20261130 6050C", "BUY", "0.20")]
    ):  # fmt: skip
        engine.emit(api.FillRecorded(condor_id="20261130-01", order_ref="cd:20261130-01:entry",
                                     exec_id=f"0000e0d5.01.0{i}", symbol=symbol, side=side,
                                     quantity=1, price=D(px)))  # fmt: skip
    engine.emit(api.AlertRaised(level="critical", code="orphan",
                                message="6100C x1 held by no condor; entries paused"))  # fmt: skip


def app_for(engine: FakeEngine, *, attached: bool = True, gate: Gate | None = None) -> ConsoleApp:
    return ConsoleApp(engine.open_handle, attached=attached, profile="sim", cursor_blink=False,
                      sleep=(gate or Gate()).sleep, refresh_per_s=50)  # fmt: skip


def ready(*texts: str, then: Callable[[Pilot[Any]], Awaitable[None]] | None = None) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        attached = pilot.app.model.attached
        # the link's own log line is the last thing the first frame draws: the whole
        # dashboard is on screen before a key is pressed or the picture taken
        await until_shown(
            pilot,
            "ATTACHED" if attached else "EMBEDDED",
            "attached to the engine" if attached else "engine running",
            *texts,
        )
        if then is not None:
            await then(pilot)

    return run_before


def test_dashboard(snap_compare: Compare) -> None:
    engine = engine_with_a_day()

    async def events(pilot: Pilot[Any]) -> None:
        fill_some(engine)
        await until_shown(pilot, "ALERT orphan")

    assert snap_compare(app_for(engine), terminal_size=SIZE, run_before=ready(then=events))


def test_dashboard_of_a_live_account_embedded(snap_compare: Compare) -> None:
    engine = FakeEngine(snapshot(view(quantity=3, unrealized_pnl=D("165.00")), mode="live",
                                 account="U7654321", profile="live"))  # fmt: skip
    app = app_for(engine, attached=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("engine running"))


def test_condor_detail(snap_compare: Compare) -> None:
    engine = engine_with_a_day()

    async def events(pilot: Pilot[Any]) -> None:
        fill_some(engine)
        await pilot.press("2")
        await until_shown(pilot, "0000e0d5.01.03")

    assert snap_compare(app_for(engine), terminal_size=SIZE, run_before=ready(then=events))


def test_orders(snap_compare: Compare) -> None:
    engine = engine_with_a_day()

    async def events(pilot: Pilot[Any]) -> None:
        fill_some(engine)
        await pilot.press("3")
        await until_shown(pilot, "0000e0d5.01.03", "4/4")

    assert snap_compare(app_for(engine), terminal_size=SIZE, run_before=ready(then=events))


def test_journal(snap_compare: Compare) -> None:
    engine = engine_with_a_day()

    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        await until_shown(pilot, "stop_limit", "Today 2026-11-30")

    assert snap_compare(app_for(engine), terminal_size=SIZE, run_before=ready(then=show))


def test_log_with_alerts(snap_compare: Compare) -> None:
    engine = engine_with_a_day()

    async def events(pilot: Pilot[Any]) -> None:
        fill_some(engine)
        await pilot.press("5")
        await until_shown(pilot, "2 open alert(s)", "ALERT orphan")

    assert snap_compare(app_for(engine), terminal_size=SIZE, run_before=ready(then=events))


def test_help(snap_compare: Compare) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await until_shown(pilot, "condordesk console — keys")

    app = app_for(engine_with_a_day())
    assert snap_compare(app, terminal_size=SIZE, run_before=ready(then=show))


def test_cancel_stop_confirmation(snap_compare: Compare) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("x")
        await until_shown(pilot, "Will send: CancelStop")

    app = app_for(engine_with_a_day())
    assert snap_compare(app, terminal_size=SIZE, run_before=ready(then=show))


def test_move_stop_box(snap_compare: Compare) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("plus", "up", "up")
        await until_shown(pilot, "trigger=3.05")

    app = app_for(engine_with_a_day())
    assert snap_compare(app, terminal_size=SIZE, run_before=ready(then=show))


def test_engine_lost(snap_compare: Compare) -> None:
    engine = engine_with_a_day()

    async def lose(pilot: Pilot[Any]) -> None:
        engine.lose()
        await until_shown(pilot, "ENGINE LOST", "the data below is stale")

    app = app_for(engine)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready(then=lose))


def test_dashboard_at_80x24(snap_compare: Compare) -> None:
    """The compact layout: condors with their stops, P&L, greeks, log and the keys."""

    async def compact(pilot: Pilot[Any]) -> None:  # (the link's words give way at 80)
        await until_shown(pilot, "attached to the engine", "#01", "? Help")

    assert snap_compare(app_for(engine_with_a_day()), terminal_size=(80, 24),
                        run_before=compact)  # fmt: skip


def test_dashboard_at_120x40(snap_compare: Compare) -> None:
    assert snap_compare(app_for(engine_with_a_day()), terminal_size=(120, 40),
                        run_before=ready())  # fmt: skip
