"""The operator console: a Textual app over an :class:`~condordesk.engine.api.EngineHandle`.

A worker holds the engine link: it enters ``open_handle()`` (an embedded engine starts, an
attached one is connected), takes a snapshot, follows ``events(since=snapshot.seq)`` and
drops each event into an inbox, posting one :class:`EngineEventsReady` per burst. The app
folds the inbox into its :class:`~console.model.Model` and re-renders the visible screen at
most ``refresh_per_s`` times a second, so a flood of quotes never delays a key press.
When an attached engine is lost the link worker says so on every screen and enters
``open_handle()`` again with a bounded backoff until it is back, then resyncs; an embedded
engine that stopped is shown stopped, never restarted behind the operator's back.

Every override is a proposal confirmed in a modal, then a Command with origin ``tui``
sent by :meth:`EngineHandle.submit`; the screen changes only when the engine's events say
what happened. A rejected ack is shown in red.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.engine import api
from console import commands as cmds
from console.link import RETRY_DELAYS, EngineLink, OpenHandle, Sleep
from console.model import Model, Part, apply, select_live
from tui.keys import KEYS, help_keys
from tui.messages import CommandAnswered, EngineEventsReady, EngineLinkChanged
from tui.screens import (
    CondorScreen,
    ConfirmScreen,
    DashboardScreen,
    HelpScreen,
    JournalScreen,
    LogScreen,
    OrdersScreen,
    PriceScreen,
)
from tui.screens.base import ConsoleScreen
from tui.screens.price import Describe
from tui.widgets import CondorTable

_CONSOLE_ACTIONS = frozenset(a.split("(")[0] for _, a, _, _ in KEYS)


def _bindings() -> list[BindingType]:
    return [
        Binding(keys, action, label or action, show=bool(label)) for keys, action, label, _ in KEYS
    ]


class ConsoleApp(App[None]):
    """The operator console.

    Args:
        open_handle: entered in the app's loop to reach the engine (see the module doc).
        attached: True when attached to a separate engine process (quitting leaves it
            trading); False for an embedded engine (quitting stops it, after a confirmation).
        profile: the profile name (shown until the engine says more).
        sleep: how the link waits between reconnection attempts (tests inject their own).
        retry_delays: the backoff between attempts; the last one repeats.
        refresh_per_s: most screen refreshes a second.
        on_first_frame: called once, after the first frame that shows the engine's data.
        cursor_blink: False freezes the price box cursor (snapshots).
        handle_signals: stop cleanly on SIGTERM / SIGHUP (the real terminal app).
    """

    CSS_PATH = Path(__file__).with_name("console.tcss")  # (subclasses elsewhere find it too)
    TITLE = "condordesk"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "dashboard": DashboardScreen,
        "condor": CondorScreen,
        "orders": OrdersScreen,
        "journal": JournalScreen,
        "log": LogScreen,
    }
    DEFAULT_MODE = "dashboard"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal")]  # noqa: RUF012 (Textual's)
    """Below 100 columns the dashboard is compact (condors, stops, P&L, log, keys)."""
    BINDINGS: ClassVar[list[BindingType]] = _bindings()

    def __init__(
        self,
        open_handle: OpenHandle,
        *,
        attached: bool,
        profile: str,
        sleep: Sleep | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        refresh_per_s: float = 10.0,
        on_first_frame: Callable[[], None] | None = None,
        cursor_blink: bool = True,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.model = Model(profile=profile, attached=attached)
        self.selected: str | None = None
        self.proposals = cmds.Proposer("tui")
        self.link = EngineLink(
            open_handle,
            attached=attached,
            on_event=self._deliver,
            on_link=self._link_changed,
            sleep=sleep or asyncio.sleep,
            retry_delays=retry_delays,
        )
        self._refresh_s = 1.0 / refresh_per_s
        self._on_first_frame = on_first_frame
        self._blink = cursor_blink
        self._handle_signals = handle_signals
        self._inbox: deque[api.Event] = deque()
        self._signalled = False
        self._dirty: set[Part] = set()
        self._link_worker: Worker[None] | None = None
        self._stopping = False
        self._terminal_gone = False

    # -- life cycle -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._link_worker = self._link()
        self.set_interval(self._refresh_s, self._render_dirty)
        self._dirty.add("header")
        if self._handle_signals:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self._stop_and_exit)
            loop.add_signal_handler(signal.SIGHUP, self._hang_up)

    def _link_changed(self, link: str, detail: str, attempt: int) -> None:
        self.post_message(EngineLinkChanged(link, detail, attempt))

    @property
    def handle(self) -> api.EngineHandle | None:
        """The engine handle while the link holds one."""
        return self.link.handle

    @work(group="engine-link", exclusive=True, exit_on_error=False)
    async def _link(self) -> None:
        await self.link.run()

    def _deliver(self, event: api.Event) -> None:
        self._inbox.append(event)
        if not self._signalled:
            self._signalled = True
            self.post_message(EngineEventsReady())

    def on_engine_events_ready(self, _message: EngineEventsReady) -> None:
        self._signalled = False
        inbox, model = self._inbox, self.model
        while inbox:
            self._dirty |= apply(model, inbox.popleft())

    def on_engine_link_changed(self, message: EngineLinkChanged) -> None:
        model = self.model
        model.link, model.link_detail, model.link_attempt = (
            message.link, message.detail, message.attempt,
        )  # fmt: skip
        if message.link == "lost":
            model.note("critical", f"ENGINE LOST: {message.detail}")
        elif message.link == "stopped":
            model.note("critical", f"ENGINE STOPPED: {message.detail}")
        elif message.link == "live":
            model.note("ok", "attached to the engine" if model.attached else "engine running")
        self._dirty |= {"header", "log"}

    def _render_dirty(self) -> None:
        if not self._dirty:
            return
        if isinstance(self.screen, ModalScreen):
            return  # the view waits behind the dialog; it catches up when the dialog closes
        views = [s for s in self.screen_stack if isinstance(s, ConsoleScreen)]
        if not all(s.is_mounted for s in views):
            return  # still being built: render once it is
        parts, self._dirty = self._dirty, set()
        self._keep_selection()
        for screen in views:
            screen.show(self.model, parts, self.selected)
        if self._on_first_frame is not None and self.model.link == "live":
            callback, self._on_first_frame = self._on_first_frame, None
            self.call_after_refresh(callback)

    def _keep_selection(self) -> None:
        self.selected = select_live(self.model, self.selected)

    async def action_quit(self) -> None:
        if self.model.attached or self.model.link == "stopped":
            self.exit(return_code=0)
            return
        self.push_screen(
            ConfirmScreen(cmds.quit_embedded(simulated=self.model.mode == "sim")),
            callback=lambda ok: self._stop_and_exit() if ok else None,
        )

    def _hang_up(self) -> None:
        """The terminal is gone (an SSH session dropped): stop the engine link cleanly, then
        leave without restoring a terminal that no longer exists (Textual would block on it)."""
        self._terminal_gone = True
        self._stop_and_exit()

    def _stop_and_exit(self) -> None:
        if not self._stopping:
            self._stopping = True
            self._stop_engine()

    @work(group="shutdown", exclusive=True)
    async def _stop_engine(self) -> None:
        self.model.note("warning", "stopping: closing the engine link…")
        self._dirty.add("log")
        worker = self._link_worker
        if worker is not None and not worker.is_finished:
            worker.cancel()
            with contextlib.suppress(Exception):
                await worker.wait()
        if self._terminal_gone:
            os._exit(0)  # the engine link is closed (an embedded engine stopped at a safe point)
        self.exit(return_code=0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Console keys do nothing while a modal is open (it has its own keys)."""
        return not (action in _CONSOLE_ACTIONS and isinstance(self.screen, ModalScreen))

    # -- screens and selection ------------------------------------------------------------

    def action_view(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_keys()))

    def on_condor_table_selected(self, message: CondorTable.Selected) -> None:
        if message.condor_id != self.selected:
            self.selected = message.condor_id
            self._dirty.add("condors")

    def action_select(self, step: int) -> None:
        ids = list(self.model.condors)
        if not ids:
            return
        at = ids.index(self.selected) if self.selected in ids else -step
        self.selected = ids[(at + step) % len(ids)]
        self._dirty.add("condors")

    def _target(self) -> api.CondorView | None:
        """The condor an override applies to: the selection, else the only open condor."""
        self._keep_selection()
        return self.model.condors.get(self.selected or "")

    # -- overrides ------------------------------------------------------------------------

    def _propose(self, build: Callable[[], cmds.Proposal]) -> None:
        try:
            proposal = build()
        except cmds.NotPossible as exc:
            self.notify(str(exc), title="Nothing to send", severity="warning")
            return
        self.push_screen(ConfirmScreen(proposal), callback=lambda ok: self._answer(proposal, ok))

    def _answer(self, proposal: cmds.Proposal | None, send: bool | None) -> None:
        if proposal is None:
            return
        if send:
            self._send(proposal)
        else:
            self.model.note("info", f"{proposal.title}: cancelled, nothing sent")
            self._dirty.add("log")

    def _ask_price(self, title: str, initial: Decimal, describe: Describe) -> None:
        screen = PriceScreen(title, initial, describe, blink=self._blink)
        self.push_screen(screen, callback=lambda p: self._answer(p, p is not None))

    def action_pause(self) -> None:
        self._propose(lambda: self.proposals.pause(self.model.paused_reasons))

    def action_resume(self) -> None:
        self._propose(lambda: self.proposals.resume(self.model.paused_reasons))

    def action_move_stop(self, ticks: int) -> None:
        view = self._target()
        try:
            initial = cmds.stepped_trigger(view, ticks)
        except cmds.NotPossible as exc:
            self.notify(str(exc), title="Nothing to send", severity="warning")
            return
        assert view is not None
        self._ask_price(f"Move stop — condor {view.id}", initial,
                        lambda trigger: self.proposals.move_stop(view, trigger))  # fmt: skip

    def action_cancel_stop(self) -> None:
        view = self._target()
        self._propose(lambda: self.proposals.cancel_stop(view))

    def action_arm_stops(self) -> None:
        view = self._target()
        self._propose(lambda: self.proposals.arm_stops(view))

    def action_close_market(self) -> None:
        view = self._target()
        self._propose(lambda: self.proposals.close_at_market(view))

    def action_close_limit(self) -> None:
        view = self._target()
        try:
            self.proposals.close_at_market(view)  # the same checks: an open condor is selected
        except cmds.NotPossible as exc:
            self.notify(str(exc), title="Nothing to send", severity="warning")
            return
        assert view is not None
        start = view.mark if view.mark is not None else (view.credit or COMBO_TICK)
        initial = max(round_to_tick(start, COMBO_TICK, "up"), COMBO_TICK)
        self._ask_price(f"Close at limit — condor {view.id}", initial,
                        lambda limit: self.proposals.close_at_limit(view, limit))  # fmt: skip

    def action_flatten(self) -> None:
        self._propose(lambda: self.proposals.flatten(list(self.model.condors.values())))

    def action_acknowledge(self) -> None:
        model = self.model
        self._propose(lambda: self.proposals.acknowledge(model.alerts, model.paused_reasons))

    @work(group="commands")
    async def _send(self, proposal: cmds.Proposal) -> None:
        handle = self.handle
        if handle is None or self.model.link != "live":
            self.post_message(CommandAnswered(proposal, None, "the engine is not connected"))
            return
        assert proposal.command is not None
        try:
            ack = await handle.submit(proposal.command)
        except api.EngineUnavailable as exc:
            self.post_message(CommandAnswered(proposal, None, f"engine unavailable: {exc}"))
        except Exception as exc:  # shown, never a crash of the console
            self.post_message(CommandAnswered(proposal, None, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(CommandAnswered(proposal, ack))

    def on_command_answered(self, message: CommandAnswered) -> None:
        p, ack, model = message.proposal, message.ack, self.model
        if ack is None:
            model.note("error", f"NOT SENT {p.wire}: {message.error}")
            self.notify(f"{p.title} was NOT sent: {message.error}", title="Not sent",
                        severity="error", timeout=15)  # fmt: skip
        elif ack.accepted:
            model.note("ok", f"sent {p.wire}: accepted")
            self.notify(f"{p.title}: accepted by the engine", timeout=4)
        else:
            model.note("error", f"REJECTED {p.wire}: {ack.reason}")
            self.notify(f"{p.title} REJECTED by the engine: {ack.reason}",
                        title="Command rejected", severity="error", timeout=20)  # fmt: skip
        self._dirty.add("log")
