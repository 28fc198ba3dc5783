"""The operator's overrides, mixed into :class:`~gui.window.MainWindow`: each action builds a
:class:`~console.commands.Proposal`, a dialog states the exact command, and only a confirmed one is
sent with ``submit()``; the engine's answer is shown (a rejection in red). Also the PNG export
of a chart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QToolBar, QWidget

from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.engine import api
from console import commands as cmds
from console.link import EngineLink
from gui.charts import ChartPanel
from gui.dialogs import ConfirmDialog, PriceDialog, help_dialog
from gui.header import Header
from gui.state import Model, Part


class Overrides:
    """The actions of the window (``act_<name>``, bound to its toolbar, menus and keys)."""

    model: Model
    header: Header
    link: EngineLink
    proposals: cmds.Proposer
    dialog: ConfirmDialog | PriceDialog | None
    file_dialog: QFileDialog | None
    sent: list[tuple[cmds.Proposal, api.Ack | None, str]]
    toolbar: QToolBar
    actions_by_name: dict[str, QAction]
    export_menu: QMenu
    _dirty: set[Part]

    if TYPE_CHECKING:  # provided by the window

        def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

        def target(self) -> api.CondorView | None: ...

        def close(self) -> bool: ...

    @property
    def _widget(self) -> QWidget:
        return cast(QWidget, self)

    def _propose(self, build: Callable[[], cmds.Proposal]) -> None:
        try:
            proposal = build()
        except cmds.NotPossible as exc:
            self.header.say(f"Nothing to send: {exc}", "warning")
            return
        self._confirm(proposal, self._send)

    def _confirm(self, proposal: cmds.Proposal, then: Callable[[cmds.Proposal], None]) -> None:
        if self.dialog is not None:
            return  # one question at a time
        dialog = self.dialog = ConfirmDialog(proposal, self._widget)

        def done(result: int) -> None:
            self.dialog = None
            dialog.deleteLater()
            if result == ConfirmDialog.DialogCode.Accepted:
                then(proposal)
            else:
                self.model.note("info", f"{proposal.title}: cancelled, nothing sent")
                self._dirty.add("log")

        dialog.finished.connect(done)
        dialog.open()

    def _ask_price(
        self, title: str, what: str, initial: Decimal, build: Callable[[Decimal], cmds.Proposal]
    ) -> None:
        if self.dialog is not None:
            return
        dialog = self.dialog = PriceDialog(title, what, initial, self._widget, build)

        def done(result: int) -> None:
            self.dialog = None
            dialog.deleteLater()
            price = dialog.price
            if result == PriceDialog.DialogCode.Accepted and price is not None:
                self._propose(lambda: build(price))

        dialog.finished.connect(done)
        dialog.open()

    def _send(self, proposal: cmds.Proposal) -> None:
        self._spawn(self._submit(proposal))

    async def _submit(self, proposal: cmds.Proposal) -> None:
        handle = self.link.handle
        assert proposal.command is not None
        ack: api.Ack | None = None
        error = ""
        if handle is None or self.model.link != "live":
            error = "the engine is not connected"
        else:
            try:
                ack = await handle.submit(proposal.command)
            except api.EngineUnavailable as exc:
                error = f"engine unavailable: {exc}"
            except Exception as exc:  # shown, never a crash of the console
                error = f"{type(exc).__name__}: {exc}"
        self.answered(proposal, ack, error)

    def answered(self, proposal: cmds.Proposal, ack: api.Ack | None, error: str = "") -> None:
        """Show the engine's answer to a confirmed command."""
        self.sent.append((proposal, ack, error))
        if ack is None:
            text, level = f"NOT SENT {proposal.wire}: {error}", "error"
        elif ack.accepted:
            text, level = f"sent {proposal.wire}: accepted", "ok"
        else:
            text, level = f"REJECTED {proposal.wire}: {ack.reason}", "error"
        self.model.note("ok" if level == "ok" else "error", text)
        self.header.say(text, level)
        self._dirty.add("log")

    def act_pause(self) -> None:
        self._propose(lambda: self.proposals.pause(self.model.paused_reasons))

    def act_resume(self) -> None:
        self._propose(lambda: self.proposals.resume(self.model.paused_reasons))

    def _step_stop(self, ticks: int) -> None:
        view = self.target()
        self._propose(lambda: self.proposals.move_stop(view, cmds.stepped_trigger(view, ticks)))

    def act_stop_up(self) -> None:
        self._step_stop(1)

    def act_stop_down(self) -> None:
        self._step_stop(-1)

    def act_set_stop(self) -> None:
        view = self.target()
        try:
            initial = cmds.stepped_trigger(view, 0)
        except cmds.NotPossible as exc:
            self.header.say(f"Nothing to send: {exc}", "warning")
            return
        assert view is not None
        self._ask_price(f"Move stop — condor {view.id}",
                        f"New stop trigger for {view.id} {view.label} (now {initial}):", initial,
                        lambda trigger: self.proposals.move_stop(view, trigger))  # fmt: skip

    def act_cancel_stop(self) -> None:
        view = self.target()
        self._propose(lambda: self.proposals.cancel_stop(view))

    def act_arm_stops(self) -> None:
        view = self.target()
        self._propose(lambda: self.proposals.arm_stops(view))

    def act_close_market(self) -> None:
        view = self.target()
        self._propose(lambda: self.proposals.close_at_market(view))

    def act_close_limit(self) -> None:
        view = self.target()
        try:
            self.proposals.close_at_market(view)  # the same checks: an open condor is selected
        except cmds.NotPossible as exc:
            self.header.say(f"Nothing to send: {exc}", "warning")
            return
        assert view is not None
        start = view.mark if view.mark is not None else (view.credit or COMBO_TICK)
        initial = max(round_to_tick(start, COMBO_TICK, "up"), COMBO_TICK)
        self._ask_price(f"Close at limit — condor {view.id}",
                        f"Buy back {view.id} {view.label} at a limit of:", initial,
                        lambda limit: self.proposals.close_at_limit(view, limit))  # fmt: skip

    def act_flatten(self) -> None:
        self._propose(lambda: self.proposals.flatten(list(self.model.condors.values())))

    def act_acknowledge(self) -> None:
        model = self.model
        self._propose(lambda: self.proposals.acknowledge(model.alerts, model.paused_reasons))

    def act_export(self) -> None:
        button = self.toolbar.widgetForAction(self.actions_by_name["export"])
        self.export_menu.popup(button.mapToGlobal(QPoint(0, button.height())))

    def act_help(self) -> None:
        help_dialog(self._widget).open()

    def act_quit(self) -> None:
        self.close()

    # -- export ---------------------------------------------------------------------------

    def ask_export(self, panel: ChartPanel) -> None:
        """Ask where to save ``panel`` as a PNG (a non-blocking file dialog), then save it."""
        dialog = self.file_dialog = QFileDialog(self._widget, f"Export {panel.name} chart as PNG")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("PNG images (*.png)")
        dialog.setDefaultSuffix("png")
        dialog.selectFile(f"condordesk-{panel.name}.png")

        def chosen(path: str) -> None:
            saved = panel.export_png(Path(path))
            self.header.say(f"{panel.name} chart saved to {saved}", "ok")

        dialog.fileSelected.connect(chosen)
        dialog.finished.connect(lambda _r: setattr(self, "file_dialog", None))
        dialog.open()
