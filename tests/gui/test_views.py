"""What the window shows, from the engine's snapshot and events: the header and its banners,
the tables, the charts, the history, a chart exported as PNG, and the engine lost and found."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QMenu

from condordesk.engine import api
from gui.dialogs import ConfirmDialog
from gui.window import MainWindow
from tests.gui.conftest import Run
from tests.gui.helpers import Gate, cells, live, plain, shown, until
from tests.tui.fakes import T0, FakeEngine, snapshot, view

D = Decimal
CID = "20261130-01"


def window_over(engine: FakeEngine, **kw: Any) -> MainWindow:
    return MainWindow(engine.open_handle, attached=kw.pop("attached", True), profile="sim",
                      refresh_per_s=50, **kw)  # fmt: skip


def curve(item: Any) -> tuple[list[float], list[float]]:
    xs, ys = item.getData()
    return ([] if xs is None else list(xs)), ([] if ys is None else list(ys))


def trade(cid: str, day: date, pnl: str, reason: str) -> api.TradeRecord:
    closed = datetime.combine(day, datetime.min.time()).replace(hour=19, tzinfo=T0.tzinfo)
    return api.TradeRecord(
        id=cid, day=day, label="5950/5960P 6040/6050C", quantity=1, state="closed",
        credit=D("1.45"), exit_debit=D("1.45") - D(pnl) / 100, commissions=D("5.28"),
        realized_pnl=D(pnl), exit_reason=reason, opened_ts=closed - timedelta(hours=3),
        closed_ts=closed,
    )  # fmt: skip


def test_the_header_marks_the_mode_and_a_live_account_is_unmistakable(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view(), mode="live", account="U7654321", profile="live"))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            h = w.header
            assert h.badge.text() == "LIVE ACCOUNT\nREAL MONEY"
            assert "background: #c4141b" in h.badge.styleSheet() and "14pt" in h.badge.styleSheet()
            assert h.where.text() == "ATTACHED to engine · profile live · account U7654321"
            values = {k: v.text() for k, v in h.values.items()}
            assert values["engine"] == "armed" and values["broker"] == "connected"
            assert values["next"] == "entries close 14:30 (in 4h20m)"
            assert values["spx"] == "6001.50" and values["em"] == "±21.9"
            assert values["pnl"] == "+$55.00"
            assert not h.banner.isVisible() and not h.alerts.isVisible()

    gui_run(scenario())


def test_tables_follow_the_engine_events(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            (row,) = cells(w.condors)
            assert row["Strikes"] == "5950/5960P 6040/6050C" and row["Mark"] == "0.90"
            assert row["P&L"] == "+$55.00" and row["Stop"] == "2.90"
            engine.emit(api.CondorMarked(condor_id=CID, spot=D("6010.25"), mark=D("1.20"),
                                         debit=D("1.35"), unrealized_pnl=D("25.00")))  # fmt: skip
            await until(lambda: cells(w.condors)[0]["Mark"] == "1.20", "the new mark")
            assert cells(w.condors)[0]["P&L"] == "+$25.00"
            assert w.header.values["spx"].text() == "6010.25"
            engine.emit(api.OrderSubmitted(
                condor_id=CID, role="close", order_ref=f"cd:{CID}:close.1", order_type="LMT",
                quantity=1, limit_price=D("1.25"), stop_price=None,
            ))  # fmt: skip
            await until(lambda: len(cells(w.orders)) == 2, "the close order")
            newest = cells(w.orders)[0]
            assert newest["Order ref"] == f"cd:{CID}:close.1" and newest["Status"] == "submitted"
            for i, (symbol, side) in enumerate(
                (("SPXW 5950P", "SELL"), ("SPXW 5960P", "BUY"), ("SPXW 6040C", "BUY"),
                 ("SPXW 6050C", "SELL"))
            ):  # fmt: skip
                engine.emit(api.FillRecorded(
                    condor_id=CID, order_ref=f"cd:{CID}:close.1", exec_id=f"e{i}",
                    symbol=symbol, side=side, quantity=1, price=D("0.30"),
                ))  # fmt: skip
            await until(lambda: len(cells(w.fills)) == 4, "the fills")
            assert cells(w.fills)[0]["Contract"] == "SPXW 6050C"
            await until(lambda: cells(w.orders)[0]["Status"] == "filled", "the order filled")
            engine.emit(api.CondorClosed(
                condor_id=CID, reason="manual", exit_debit=D("1.25"), commissions=D("5.28"),
                realized_pnl=D("14.72"),
            ))  # fmt: skip
            await until(lambda: cells(w.condors)[0]["State"] == "closed", "the close")
            assert cells(w.condors)[0]["P&L"] == "+$14.72"
            assert cells(w.condors)[0]["Exit"] == "manual"
            assert "CLOSED 20261130-01 (manual) exit 1.25 P&L +$14.72" in w.log.toPlainText()

    gui_run(scenario())


def test_charts_draw_spx_the_condor_the_pnl_and_the_risk(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            for i, spot in enumerate(("6002.00", "6004.00", "6001.00", "5995.50")):
                engine.now = T0 + timedelta(minutes=i + 1) - timedelta(seconds=1)
                engine.emit(api.MarketUpdated(
                    spot=D(spot), expected_move=D("21.85"), greeks=engine.snap.greeks,
                    next_event="entries close", next_event_at=engine.snap.next_event_at,
                    condors=[view(mark=D("0.90") + D(i) / 10, unrealized_pnl=D(55 - 10 * i))],
                ))  # fmt: skip
            await until(lambda: len(curve(w.spx_chart.curve)[1]) == 5, "SPX through the day")
            await until(lambda: not w.pending_redraw, "the redraw")
            xs, ys = curve(w.spx_chart.curve)
            assert ys[-1] == 5995.5 and xs[-1] == 10 * 60 + 14  # 10:14 New York
            bands = [i for i in w.spx_chart.extras if type(i).__name__ == "LinearRegionItem"]
            assert sorted(b.getRegion() for b in bands) == [(5950.0, 5960.0), (6040.0, 6050.0)]
            stops = w.spx_chart.stop_labels  # where the stop would trigger, below and above
            assert len(stops) == 2 and all(s.startswith("#01 stop ≈ ") for s in stops)
            _, marks = curve(w.mark_chart.curve)
            assert marks[-1] == 1.2
            assert "stop 2.90" in plain(w.mark_chart.title.text())
            _, condor_pnl = curve(w.pnl_chart._curves[CID])
            assert condor_pnl[-1] == 25.0
            _, total = curve(w.pnl_chart.total)
            assert total[-1] == 25.0

            def t0_at_spot() -> float | None:
                graph = w.risk_chart.graph
                if graph is None or graph.now is None:
                    return None
                at = min(range(len(graph.xs)), key=lambda i: abs(graph.xs[i] - 5995.5))
                return graph.now[at]

            # T+0 passes through today's open P&L (repriced twice a second)
            await until(lambda: abs((t0_at_spot() or 1e9) - 25.0) < 15, "T+0 at the mark")
            graph = w.risk_chart.graph
            assert graph is not None
            assert max(graph.expiry) == 145.0 and min(graph.expiry) == -855.0
            assert "Θ +691.88 $/day" in plain(w.risk_chart.greeks.text())
            assert "by the close (SPX unchanged) +$" in plain(w.risk_chart.greeks.text())

    gui_run(scenario())


def test_the_risk_graph_shows_one_condor_or_the_whole_book(gui_run: Run) -> None:
    wide = view("20261130-02", label="5880/5900P 6100/6120C", long_put=D(5880),
                short_put=D(5900), short_call=D(6100), long_call=D(6120), quantity=2,
                credit=D("2.10"), mark=D("1.00"), unrealized_pnl=D("220.00"))  # fmt: skip
    engine = FakeEngine(snapshot(view(), wide))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            graph = w.risk_chart.graph
            assert graph is not None and graph.max_profit == D(145 + 420)
            assert "Whole book" in w.risk_chart.scope.currentText()
            w.risk_chart.scope.setCurrentText("20261130-02")
            await until(lambda: w.risk_chart.graph is not None
                        and w.risk_chart.graph.max_profit == D(420), "one condor")  # fmt: skip
            assert w.risk_chart.graph is not None
            assert w.risk_chart.graph.breakevens == [D("5897.90"), D("6102.10")]
            assert w.risk_chart.greeks.text().startswith("Model greeks")

    gui_run(scenario())


def test_a_lost_engine_is_announced_and_the_window_resyncs_when_it_is_back(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))
    gate = Gate()

    async def scenario() -> None:
        async with shown(window_over(engine, sleep=gate.sleep)) as w:
            await until(live(w), "the engine's data")
            engine.lose()
            await until(lambda: w.header.banner.isVisible(), "the banner")
            assert w.header.banner.text().startswith("ENGINE LOST: engine connection lost")
            assert w.header.values["engine"].text() == "unknown"
            gate.open()  # the first retry fails: the engine is still down
            await until(lambda: engine.attempts == 2 and gate.waiting == 2
                        and not w.pending_redraw, "a second attempt")  # fmt: skip
            assert "attempt 2" in w.header.banner.text()
            engine.come_back(snapshot(view(stop_trigger=D("3.30"))))
            gate.open()
            await until(lambda: w.model.link == "live" and not w.pending_redraw, "the resync")
            assert not w.header.banner.isVisible()
            assert cells(w.condors)[0]["Stop"] == "3.30"
            log = w.log.toPlainText()
            assert "ENGINE LOST: engine connection lost" in log and "attached to the engine" in log

    gui_run(scenario())


def zero_shown(chart: Any) -> bool:
    """The chart's y range holds zero and every point (so a loss reads as one)."""
    lo, hi = chart.plot.getViewBox().viewRange()[1]
    ys = curve(chart.plot.getPlotItem().listDataItems()[0])[1]
    return bool(ys) and lo < min([0.0, *ys]) and hi > max([0.0, *ys])


def test_history_shows_daily_and_cumulative_pnl_and_filters_its_trades(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))
    engine.trades = [
        trade("20261125-01", date(2026, 11, 25), "120.00", "profit_target"),
        trade("20261125-02", date(2026, 11, 25), "-310.00", "stop_limit"),
        trade("20261127-01", date(2026, 11, 27), "95.00", "profit_target"),
        trade("20261127-02", date(2026, 11, 27), "40.00", "expired"),
    ]

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(lambda: len(cells(w.history.model)) == 4, "the journal's trades")
            h = w.history
            assert next(r["Condor"] for r in cells(h.filtered)) == "20261127-02"  # newest first
            assert h.day_axis.days == [date(2026, 11, 25), date(2026, 11, 27)]
            assert list(h.bars.opts["height"]) == [-190.0, 135.0]
            assert curve(h.total_curve)[1] == [-190.0, -55.0]
            await until(lambda: zero_shown(h.total), "zero in the cumulative chart")
            assert h.summary.text() == "4 trades over 2 days · 75% winners · total -$55.00"
            h.set_reason("profit_target")
            assert [r["Condor"] for r in cells(h.filtered)] == ["20261127-01", "20261125-01"]
            assert curve(h.total_curve)[1] == [120.0, 215.0]
            await until(lambda: zero_shown(h.total), "zero in the cumulative chart")
            h.set_reason(None)
            h.set_range(date(2026, 11, 26), date(2026, 11, 30))
            assert [r["Condor"] for r in cells(h.filtered)] == ["20261127-02", "20261127-01"]
            engine.trades.append(trade(CID, date(2026, 11, 30), "60.00", "manual"))
            engine.emit(api.CondorClosed(
                condor_id=CID, reason="manual", exit_debit=D("0.85"), commissions=D("5.28"),
                realized_pnl=D("60.00"),
            ))  # fmt: skip
            await until(lambda: len(cells(h.filtered)) == 3, "today's trade in the history")

    gui_run(scenario())


def test_a_chart_is_exported_as_a_png_where_the_operator_says(gui_run: Run, tmp_path: Path) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            w.risk_chart.export_button.click()
            await until(lambda: w.file_dialog is not None, "the file dialog")
            assert w.file_dialog is not None
            w.file_dialog.selectFile(str(tmp_path / "risk.png"))
            w.file_dialog.accept()
            await until(lambda: (tmp_path / "risk.png").exists(), "the file")
            assert f"risk chart saved to {tmp_path / 'risk.png'}" in w.header.notice.text()

    gui_run(scenario())
    image = QImage(str(tmp_path / "risk.png"))
    assert image.width() == 1200 and image.height() > 300
    colors = {image.pixel(x, y) for x in range(0, 1200, 7) for y in range(0, image.height(), 7)}
    assert len(colors) > 20  # curves, fills and labels, not a blank image


def test_closing_an_embedded_console_asks_then_stops_the_engine(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))
    left: list[str] = []
    original = engine.open_handle

    def open_handle() -> Any:
        cm = original()

        class Tracked:
            async def __aenter__(self) -> api.EngineHandle:
                return await cm.__aenter__()

            async def __aexit__(self, *exc: object) -> None:
                left.append("engine stopped")
                await cm.__aexit__(*exc)

        return Tracked()

    async def scenario() -> None:
        w = MainWindow(open_handle, attached=False, profile="sim", refresh_per_s=50)
        async with shown(w):
            await until(live(w), "the engine's data")
            assert w.header.where.text().startswith("EMBEDDED engine")
            w.close()
            await until(lambda: isinstance(w.dialog, ConfirmDialog), "the question")
            assert w.dialog is not None  # a simulator: no broker keeps its stops
            assert "The simulator runs in this process and ends with it" in w.dialog.text()
            assert "stay at the broker" not in w.dialog.text()
            w.dialog.cancel_button.click()
            await until(lambda: w.dialog is None, "the answer")
            assert left == [] and not w.is_closed() and w.isVisible()
            w.close()
            await until(lambda: isinstance(w.dialog, ConfirmDialog), "the question again")
            assert w.dialog is not None
            w.dialog.send_button.click()
            await until(w.is_closed, "the engine to stop")
            assert left == ["engine stopped"] and not w.isVisible()

    gui_run(scenario())


def test_a_real_money_account_is_live_whatever_the_profile_says(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view(), mode="paper", account="U7654321", profile="paper"))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            assert w.header.badge.text() == "LIVE ACCOUNT\nREAL MONEY"
            assert "background: #c4141b" in w.header.badge.styleSheet()

    gui_run(scenario())


def test_every_pause_reason_is_shown_in_the_header(gui_run: Run) -> None:
    reasons = ["operator", "daily max loss (-1500.00)"]
    engine = FakeEngine(snapshot(view(), state="paused", paused_reason="; ".join(reasons),
                                 paused_reasons=reasons))  # fmt: skip

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            engine_value = w.header.values["engine"]
            assert engine_value.text() == "paused: operator · daily max loss (-1500.00)"
            engine.emit(api.EntriesPaused(reason="reconcile: orphan 6100C", origin="engine"))
            await until(lambda: "reconcile: orphan 6100C" in engine_value.text(), "a third one")
            assert engine_value.text().count(" · ") == 2

    gui_run(scenario())


def test_the_window_title_says_the_engine_state_the_held_condors_and_the_pnl(
    gui_run: Run,
) -> None:
    engine = FakeEngine(snapshot(view(), mode="paper", account="U7654321", profile="paper"))
    gate = Gate()

    async def scenario() -> None:
        w = window_over(engine, sleep=gate.sleep)
        assert w.windowTitle() == "condordesk — SIM sim · engine connecting"
        async with shown(w):
            await until(live(w), "the engine's data")
            assert w.windowTitle() == "condordesk — LIVE paper · armed · 1 open · P&L +$55.00"
            engine.emit(api.CondorClosed(
                condor_id=CID, reason="manual", exit_debit=D("1.25"), commissions=D("5.28"),
                realized_pnl=D("14.72"),
            ))  # fmt: skip
            await until(lambda: " 0 open " in w.windowTitle(), "the close in the title")
            assert w.windowTitle().endswith("· P&L +$14.72")
            engine.lose()
            await until(lambda: w.windowTitle().endswith("engine lost"), "the lost engine")

    gui_run(scenario())


def test_a_condor_context_menu_is_deleted_once_closed(gui_run: Run) -> None:
    engine = FakeEngine(snapshot(view()))

    async def scenario() -> None:
        async with shown(window_over(engine)) as w:
            await until(live(w), "the engine's data")
            before = len(w.findChildren(QMenu))
            for _ in range(3):  # a right-click each
                w.condor_table.customContextMenuRequested.emit(QPoint(5, 5))
                await until(lambda: QApplication.activePopupWidget() is not None, "the menu")
                popup = QApplication.activePopupWidget()
                assert isinstance(popup, QMenu) and popup.title() == ""
                assert any(a.text() == "Cancel stop" for a in popup.actions())
                popup.close()
                await until(lambda: len(w.findChildren(QMenu)) == before, "the menu deleted")

    gui_run(scenario())
