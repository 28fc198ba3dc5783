"""The log line of each engine event: its level (alerts are ``warning`` or ``critical``) and
what it says in plain words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from condordesk.engine import api
from console.format import et_stamp, et_time, money, price

Level = Literal["info", "ok", "warning", "critical", "error"]


def left_working(simulated: bool) -> str:
    """What still works once an engine stopped: its stops at a broker; nothing of the simulator,
    which runs in the engine's process."""
    return "the simulator ended with it" if simulated else "working stops stay at the broker"


def _order(e: api.OrderSubmitted) -> tuple[Level, str]:
    px = price(e.limit_price) if e.limit_price is not None else "MKT"
    stop = f" stop {price(e.stop_price)}" if e.stop_price is not None else ""
    return "info", f"order {e.order_ref} {e.order_type} x{e.quantity} {px}{stop}"


def _connection(e: api.BrokerConnectionChanged) -> tuple[Level, str]:
    if e.connected:
        return "ok", f"broker connected ({e.reason})"
    return "critical", f"BROKER DISCONNECTED: {e.reason}"


def _closed(e: api.CondorClosed) -> tuple[Level, str]:
    level: Level = "ok" if e.realized_pnl >= 0 else "warning"
    text = f"CLOSED {e.condor_id} ({e.reason}) exit {price(e.exit_debit)}"
    estimated = " (commissions estimated)" if e.commissions_estimated else ""
    return level, f"{text} P&L {money(e.realized_pnl)}{estimated}"


def _amended(e: api.CondorAmended) -> tuple[Level, str]:
    return "info", (
        f"{e.condor_id} ({e.day}): late commission report, commissions "
        f"{money(e.commissions)}, P&L {money(e.realized_pnl)}"
    )


def _session(e: api.SessionOpened) -> tuple[Level, str]:
    early = " (early close)" if e.early_close else ""
    return "info", f"session {e.day} open until {et_time(e.close, seconds=False)}{early}"


def _command(e: api.CommandReceived) -> tuple[Level, str]:
    verdict = "accepted" if e.accepted else "REFUSED"
    return ("info" if e.accepted else "error"), f"{e.command} from {e.origin} {verdict}"


def _reconciled(e: api.ReconcileCompleted) -> tuple[Level, str]:
    text = (
        f"reconciled ({e.reason}): {e.open_condors} open, stops ok {e.stops_ok}, "
        f"{len(e.findings)} finding(s), {e.unexplained} unexplained"
    )
    return ("warning" if e.unexplained else "info"), text


_LINES: dict[type[api.Event], Callable[[Any], tuple[Level, str]]] = {
    api.EngineStarted: lambda e: (
        "ok", f"engine started: profile {e.profile} ({e.mode}) account {e.account}"),
    api.Hibernating: lambda e: ("info", f"hibernating until {et_stamp(e.until)}"),
    api.DailyReset: lambda e: ("info", f"daily reset for {e.day}"),
    api.SessionOpened: _session,
    api.SessionClosed: lambda e: (
        "ok", f"session {e.day} closed: {e.condors_opened} opened, {e.condors_closed} closed, "
        f"realized {money(e.realized_pnl)}"),
    api.EntriesPaused: lambda e: ("warning", f"entries PAUSED: {e.reason} (by {e.origin})"),
    api.EntriesResumed: lambda e: ("ok", f"entries resumed (by {e.origin})"),
    api.PauseLifted: lambda e: (
        "info", f"pause lifted: {e.reason} (by {e.origin}); entries stay paused: "
        f"{'; '.join(e.remaining)}"),
    api.EntrySkipped: lambda e: ("info", f"no entry: {e.reason} ({e.detail})"),
    api.CondorOpened: lambda e: (
        "ok", f"OPENED {e.condor_id} {e.label} x{e.quantity} for {price(e.credit)}"),
    api.EntryNotFilled: lambda e: ("info", f"entry {e.condor_id} not filled: {e.reason}"),
    api.StopPlaced: lambda e: (
        "info", f"stop placed {e.condor_id}: trigger {price(e.trigger)} limit {price(e.limit)}, "
        f"backup {price(e.backup_trigger)}"),
    api.StopVerified: lambda e: ("ok", f"stop verified at the broker for {e.condor_id}"),
    api.StopTriggered: lambda e: (
        "warning", f"STOP TRIGGERED {e.condor_id} ({e.role}) at {price(e.price)}"),
    api.StopCancelled: lambda e: ("warning", f"stop cancelled {e.condor_id}: {e.reason}"),
    api.CondorClosing: lambda e: (
        "info", f"closing {e.condor_id} ({e.reason}) at {price(e.limit)}"),
    api.CondorClosed: _closed,
    api.CondorAmended: _amended,
    api.OrderSubmitted: _order,
    api.OrderRejected: lambda e: ("error", f"order REJECTED {e.order_ref}: {e.reason}"),
    api.OrderCancelled: lambda e: ("info", f"order cancelled {e.order_ref}: {e.reason}"),
    api.FillRecorded: lambda e: (
        "info", f"fill {e.symbol} {e.side} {e.quantity} @ {price(e.price)}"),
    api.AlertRaised: lambda e: (e.level, f"ALERT {e.code}: {e.message}"),
    api.AlertCleared: lambda e: ("ok", f"alert cleared ({e.reason}): {e.alert}"),
    api.AlertsAcknowledged: lambda e: ("ok", f"alerts acknowledged (by {e.origin})"),
    api.BrokerConnectionChanged: _connection,
    api.CommandReceived: _command,
    api.ReconcileCompleted: _reconciled,
}  # fmt: skip


def describe(event: api.Event, *, simulated: bool = False) -> tuple[Level, str] | None:
    """The log line for an event (None for marks and market updates); ``simulated``: the
    engine's broker is the simulator."""
    if isinstance(event, api.EngineStopped):
        return "warning", f"engine stopped ({event.reason}); {left_working(simulated)}"
    line = _LINES.get(type(event))
    return None if line is None else line(event)
