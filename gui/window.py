"""The main window: header, toolbar, the live view (condors, charts, log, orders, fills) and the
history view, over an :class:`~condordesk.engine.api.EngineHandle` reached through
:class:`~console.link.EngineLink`.

Events fold into the :class:`~gui.state.Model` as they arrive; a timer redraws what changed at
most ``refresh_per_s`` times a second, so 400 marks a second never stall the window. Every
override is a :class:`~console.commands.Proposal` confirmed in a dialog that states the exact
command, then sent with ``submit()``; the window changes only when the engine's events say what
happened, and a rejected ack is shown in red.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHeaderView,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from condordesk.engine import api
from console import commands as cmds
from console.format import et_time
from console.link import RETRY_DELAYS, EngineLink, OpenHandle, Sleep
from gui import risk, theme
from gui.actions import ACTIONS, ENGINE_ACTIONS, ActionSpec
from gui.charts import ChartPanel, MarkChart, PnlChart, SpxChart, condor_color
from gui.dialogs import ConfirmDialog, PriceDialog
from gui.header import Header, window_title
from gui.history import HistoryView
from gui.operate import Overrides
from gui.riskchart import RiskChart
from gui.state import LIVE_STATES, Model, Part, apply
from gui.tables import condors_model, fills_model, orders_model

_KEYS = {"+": Qt.Key.Key_Plus, "-": Qt.Key.Key_Minus, "=": Qt.Key.Key_Equal,
         "?": Qt.Key.Key_Question}  # fmt: skip


def _table(model: Any) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.horizontalHeader().setStretchLastSection(True)
    model.modelReset.connect(table.resizeColumnsToContents)  # new rows: fit the columns
    return table


def _split(orientation: Qt.Orientation, *widgets: QWidget, sizes: Sequence[int] = ()) -> QSplitter:
    split = QSplitter(orientation)
    for w in widgets:
        split.addWidget(w)
    if sizes:
        split.setSizes(list(sizes))
    return split


class MainWindow(QMainWindow, Overrides):
    """The desktop console.

    Args:
        open_handle: entered (in the running loop) to reach the engine.
        attached: True when attached to an engine in another process (closing leaves it
            trading); False for an embedded engine (closing stops it, after a confirmation).
        profile: the profile name (shown until the engine says more).
        sleep: how the link waits between reconnection attempts (tests inject their own).
        retry_delays: the reconnection backoff.
        refresh_per_s: most redraws a second.
        on_first_data: called once, after the first redraw that shows the engine's data.
    """

    def __init__(
        self,
        open_handle: OpenHandle,
        *,
        attached: bool,
        profile: str,
        sleep: Sleep | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        refresh_per_s: float = 10.0,
        on_first_data: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.model = Model(profile=profile, attached=attached)
        self.selected: str | None = None
        self._picked = False  # the operator chose the selected condor (else it follows)
        self._syncing = False  # the window itself moves the table's selection
        self.link = EngineLink(
            open_handle, attached=attached, on_event=self.deliver, on_link=self.link_changed,
            sleep=sleep or asyncio.sleep, retry_delays=retry_delays,
        )  # fmt: skip
        self.dialog: ConfirmDialog | PriceDialog | None = None
        self.file_dialog: QFileDialog | None = None
        self.sent: list[tuple[cmds.Proposal, api.Ack | None, str]] = []
        self.proposals = cmds.Proposer("gui")
        self._on_first_data = on_first_data
        self._dirty: set[Part] = {"header"}
        self._log_shown = 0
        self._frame = 0
        self._stale_pricing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._link_task: asyncio.Task[None] | None = None
        self._history_wanted = False
        self._history_task: asyncio.Task[None] | None = None
        self._quitting = False
        self._closed: asyncio.Future[int] | None = None
        self.setWindowTitle(window_title(self.model))
        self.resize(1600, 1000)
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, round(1000 / refresh_per_s)))
        self.timer.timeout.connect(self.render_dirty)

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.header = Header()
        self.condors = condors_model(lambda cid: condor_color(self.model, cid))
        self.condor_table = _table(self.condors)
        self.condor_table.horizontalHeader().setSectionResizeMode(  # a few rows: always fit
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.condor_table.horizontalHeader().setStretchLastSection(True)
        self.condor_table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.condor_table.customContextMenuRequested.connect(self._condor_menu)
        self.condor_table.selectionModel().currentRowChanged.connect(self._row_selected)
        self.orders, self.fills = orders_model(), fills_model()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.spx_chart = SpxChart(self._stop_levels)
        self.pnl_chart, self.mark_chart, self.risk_chart = PnlChart(), MarkChart(), RiskChart()
        self.risk_chart.scope.currentTextChanged.connect(lambda _: self._dirty.add("market"))
        self.history = HistoryView()
        self.history.refresh_requested.connect(self.fetch_history)
        self.charts: dict[str, ChartPanel] = {
            p.name: p for p in (self.spx_chart, self.pnl_chart, self.mark_chart, self.risk_chart,
                                self.history.daily, self.history.total)
        }  # fmt: skip
        for panel in self.charts.values():
            panel.export_requested.connect(self.ask_export)
        lists = self.lists = QTabWidget()
        lists.addTab(_table(self.orders), "Orders")
        lists.addTab(_table(self.fills), "Fills")
        V, H = Qt.Orientation.Vertical, Qt.Orientation.Horizontal
        grid = _split(V, _split(H, self.spx_chart, self.risk_chart),
                      _split(H, self.pnl_chart, self.mark_chart))  # fmt: skip
        bottom = _split(H, self.log, lists, sizes=(800, 800))
        live = _split(V, self.condor_table, grid, bottom, sizes=(150, 620, 200))
        self.tabs = QTabWidget()
        self.tabs.tabBar().setUsesScrollButtons(False)
        self.tabs.addTab(live, "Live")
        self.tabs.addTab(self.history, "History")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._build_actions()

    def _build_actions(self) -> None:
        self.toolbar = QToolBar("Actions")
        self.toolbar.setMovable(False)
        self.addToolBar(self.toolbar)
        self.actions_by_name: dict[str, QAction] = {}
        for spec in ACTIONS:
            action = QAction(spec.label, self)
            action.setShortcuts([QKeySequence(_KEYS.get(k, k)) for k in spec.keys])
            action.setToolTip(f"{spec.help} ({' / '.join(spec.keys)})")
            action.triggered.connect(getattr(self, f"act_{spec.name}"))
            self.addAction(action)
            self.actions_by_name[spec.name] = action
            if spec.name not in ("help", "quit"):
                self.toolbar.addAction(action)
                if spec.danger:
                    self.toolbar.widgetForAction(action).setObjectName("danger")
            if spec.name in ("resume", "close_limit", "acknowledge"):
                self.toolbar.addSeparator()
        self.export_menu = QMenu(self)
        for panel in self.charts.values():
            item = self.export_menu.addAction(panel.title.text().split("  ")[0] or panel.name)
            item.triggered.connect(functools.partial(self.ask_export, panel))
        button = self.toolbar.widgetForAction(self.actions_by_name["export"])
        if isinstance(button, QToolButton):
            button.setMenu(self.export_menu)
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start following the engine (call with the asyncio loop running)."""
        self._closed = asyncio.get_running_loop().create_future()
        self._link_task = asyncio.create_task(self.link.run(), name="gui-engine-link")
        self.timer.start()

    def fit_to(self, available: QRect) -> None:
        """Size the window for a desktop of ``available`` pixels: 1600x1000 where there is
        room, else the whole desktop (a 1280x800 VNC screen), never off its edges."""
        self.resize(min(1600, available.width()), min(1000, available.height()))
        self.move(available.topLeft())

    async def run(self) -> int:
        """Show the window and run until it is closed; returns the exit code."""
        screen = self.screen()
        if screen is not None:
            self.fit_to(screen.availableGeometry())
        self.show()
        self.start()
        assert self._closed is not None
        return await self._closed

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed is None or self._closed.done():
            event.accept()
            return
        event.ignore()
        if self._quitting:
            return
        if self.model.attached or self.model.link == "stopped":
            self._shutdown()
            return
        simulated = self.model.mode == "sim"
        self._confirm(cmds.quit_embedded(simulated=simulated), lambda _p: self._shutdown())

    def is_closed(self) -> bool:
        """The run is over: the engine link is let go (an embedded engine has stopped)."""
        return self._closed is not None and self._closed.done()

    async def wait_closed(self) -> None:
        """Return once the run is over (after :meth:`start`)."""
        assert self._closed is not None
        await asyncio.shield(self._closed)

    @property
    def pending_redraw(self) -> bool:
        """Something changed that the next redraw shows."""
        return bool(self._dirty) or self._stale_pricing

    def close_now(self) -> None:
        """Close without asking (SIGTERM / SIGHUP / Ctrl-C): an embedded engine stops at a safe
        point, an attached one goes on."""
        if not self._quitting and self._closed is not None and not self._closed.done():
            self._shutdown()

    def _shutdown(self) -> None:
        """Let go of the engine (an embedded one stops at a safe point), then close."""
        self._quitting = True
        self.model.note("warning", "stopping: closing the engine link…")
        self._dirty.add("log")
        self._spawn(self._finish())

    async def _finish(self) -> None:
        task = self._link_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self.timer.stop()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(0)
        self.close()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- engine ---------------------------------------------------------------------------

    def deliver(self, event: api.Event) -> None:
        """Fold an engine event into the model (redrawn by the timer)."""
        self._dirty |= apply(self.model, event)
        if isinstance(event, api.CondorClosed | api.DailyReset | api.SessionClosed):
            self.fetch_history()

    def link_changed(self, state: str, detail: str, attempt: int) -> None:
        """The link to the engine changed (live, lost, connecting, stopped)."""
        m = self.model
        m.link, m.link_detail, m.link_attempt = state, detail, attempt
        if state == "lost":
            m.note("critical", f"ENGINE LOST: {detail}")
        elif state == "stopped":
            m.note("critical", f"ENGINE STOPPED: {detail}")
        elif state == "live":
            m.note("ok", "attached to the engine" if m.attached else "engine running")
            self.fetch_history()
        self._dirty |= {"header", "log"}

    def fetch_history(self) -> None:
        """Ask the engine for the journal's trades (one request at a time, the last wins)."""
        self._history_wanted = True
        if self._history_task is None or self._history_task.done():
            self._history_task = self._spawn(self._load_history())

    async def _load_history(self) -> None:
        while self._history_wanted:
            self._history_wanted = False
            handle = self.link.handle
            if handle is None:
                return
            try:
                trades = await handle.history()
            except Exception as exc:  # shown in the log; the history just stays as it was
                self.model.note("error", f"history not loaded: {exc}")
                self._dirty.add("log")
                return
            self.model.trades = trades
            self._dirty.add("history")

    # -- drawing --------------------------------------------------------------------------

    def render_dirty(self) -> None:
        """Redraw the parts that changed since the last redraw."""
        if not self._dirty:
            if self._stale_pricing:  # no news since: price what the last frames skipped
                self._stale_pricing = False
                self.spx_chart.draw(self.model, heavy=True)
                self.risk_chart.draw(self.model, heavy=True)
            return
        parts, self._dirty = self._dirty, set()
        m = self.model
        self._keep_selection()
        self.header.draw(m)
        self.setWindowTitle(window_title(m))
        if "condors" in parts:
            self._show_condors()
        if parts & {"market", "condors"}:
            self._draw_market()
        if "pnl" in parts:
            self.pnl_chart.draw(m)
        self._draw_lists(parts)
        self._enable_actions()
        if self._on_first_data is not None and m.link == "live":
            callback, self._on_first_data = self._on_first_data, None
            callback()

    def flush(self) -> None:
        """Redraw everything pending now, the pricing model included (a screenshot's frame)."""
        self.render_dirty()
        self.render_dirty()

    def _draw_lists(self, parts: set[Part]) -> None:
        m = self.model
        if "orders" in parts:
            self.orders.set_rows(list(reversed(m.orders.values())))
        if "fills" in parts:
            self.fills.set_rows(list(reversed(m.fills)))
        if "log" in parts:
            self._show_log()
        if "history" in parts:
            self.history.set_trades(m.trades)

    def _draw_market(self) -> None:
        m = self.model
        self._frame += 1  # the pricing model runs on every fifth redraw (twice a second)
        heavy = self._frame % 5 == 1
        self._stale_pricing = not heavy
        self.spx_chart.draw(m, heavy=heavy)
        self.risk_chart.draw(m, heavy=heavy)
        self.mark_chart.draw(m, m.condors.get(self.selected or ""))

    def _show_condors(self) -> None:
        views = list(self.model.condors.values())
        self.condors.set_rows(views)
        row = self.condors.row_of(self.selected or "")
        current = self.condor_table.currentIndex()
        if row is not None and (not current.isValid() or current.row() != row):
            self._syncing = True
            try:
                self.condor_table.selectionModel().setCurrentIndex(
                    self.condors.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
            finally:
                self._syncing = False

    def _show_log(self) -> None:
        m = self.model
        new = min(m.log_total - self._log_shown, len(m.log))
        lines = list(m.log)[len(m.log) - new :] if new > 0 else []
        for line in lines:
            color = theme.LEVEL_COLORS.get(line.level, theme.TEXT)
            weight = "bold" if line.level in ("critical", "error", "warning") else "normal"
            bg = "background-color:#4a1215;" if line.level in ("critical", "error") else ""
            text = line.text.replace("&", "&amp;").replace("<", "&lt;")
            self.log.appendHtml(
                f'<span style="color:{theme.MUTED}">{et_time(line.ts)}</span> '
                f'<span style="color:{color};font-weight:{weight};{bg}">{text}</span>'
            )
        self._log_shown = m.log_total

    def _enable_actions(self) -> None:
        live = self.model.link == "live"
        for name in ENGINE_ACTIONS:
            self.actions_by_name[name].setEnabled(live)

    def _stop_levels(self, view: api.CondorView) -> tuple[float | None, float | None]:
        m = self.model
        years = risk.years_left(m.ts, m.session_close)
        vol = risk.model_vol(view, m.spot, years, m.expected_move)
        if vol is None or m.spot is None:
            return None, None
        return risk.stop_levels(view, float(m.spot), years, vol)

    # -- selection ------------------------------------------------------------------------

    def _keep_selection(self) -> None:
        """Keep the operator's pick; otherwise follow the newest live condor."""
        condors = self.model.condors
        current = condors.get(self.selected or "")
        if current is not None and (self._picked or current.state in LIVE_STATES):
            return
        live = [v.id for v in condors.values() if v.state in LIVE_STATES]
        self.selected = live[-1] if live else (current.id if current else next(iter(condors), None))

    def _row_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid() or current.row() >= len(self.condors.keys):
            return
        self.select(self.condors.keys[current.row()])

    def select(self, condor_id: str) -> None:
        """The operator picks a condor (a click in the table): actions and charts follow it."""
        if condor_id != self.selected or not self._picked:
            self.selected, self._picked = condor_id, True
            self._dirty.add("condors")

    def target(self) -> api.CondorView | None:
        """The condor an override applies to: the selection, else the first live one."""
        self._keep_selection()
        return self.model.condors.get(self.selected or "")

    def _condor_menu(self, pos: QPoint) -> None:
        index = self.condor_table.indexAt(pos)
        if index.isValid():
            self.select(self.condors.keys[index.row()])
        menu = self.condor_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a new one every right-click
        menu.popup(self.condor_table.viewport().mapToGlobal(pos))

    def condor_menu(self) -> QMenu:
        """The context menu of the selected condor."""
        menu = QMenu(self)
        menu.addSection(f"Condor {self.selected or '—'}")
        specs: list[ActionSpec] = [a for a in ACTIONS if a.on_condor]
        for spec in specs:
            menu.addAction(self.actions_by_name[spec.name])
        return menu
