"""The console's model of the engine: built from a :class:`Snapshot`, kept current by events.

Pure (no Textual, no I/O). :func:`apply` folds one event into a :class:`Model` and returns
the parts of the screen that changed, so the app re-renders only those, and only from
events. Lists (orders, fills, log) keep a bounded tail; a snapshot's ``recent`` events fill
them on attach without repeating what the console already listed.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from condordesk.engine import api
from tui.format import et_stamp, et_time, money, price

Part = Literal["header", "market", "condors", "pnl", "orders", "fills", "log", "journal"]
ALL_PARTS: frozenset[Part] = frozenset(
    {"header", "market", "condors", "pnl", "orders", "fills", "log", "journal"}
)
Level = Literal["info", "ok", "warning", "critical", "error"]

_D0 = Decimal(0)
PNL_SAMPLE_EVERY = timedelta(minutes=1)
MAX_ORDERS = 300
MAX_FILLS = 300
MAX_LOG = 2000
MAX_HISTORY = 500
LIVE_STATES = ("working", "open", "closing")
DONE_STATES = ("closed", "cancelled")
_LABEL = re.compile(r"^(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)P (\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)C$")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the console's log; alerts are ``warning`` or ``critical``."""

    ts: datetime | None
    level: Level
    text: str


@dataclass
class OrderRow:
    """An order as the console follows it from its events."""

    order_ref: str
    condor_id: str
    role: str
    order_type: str
    quantity: int
    limit_price: Decimal | None
    stop_price: Decimal | None
    ts: datetime | None
    status: str = "submitted"  # submitted | filled | rejected | cancelled | not filled
    filled_legs: int = 0
    reason: str = ""


@dataclass
class Model:
    """Everything the console shows."""

    profile: str
    attached: bool
    mode: str = ""
    account: str = ""
    link: str = "connecting"  # connecting | live | lost (attached) | stopped (embedded)
    link_detail: str = ""
    link_attempt: int = 0
    seq: int = 0
    listed_seq: int = 0  # highest seq already in the lists and log
    ts: datetime | None = None  # engine time of the latest event
    engine_state: str = "starting"
    paused_reason: str | None = None
    broker_connected: bool = False
    spot: Decimal | None = None
    expected_move: Decimal | None = None
    greeks: api.PositionGreeks | None = None
    next_event: str = ""
    next_event_at: datetime | None = None
    day: date | None = None
    condors: dict[str, api.CondorView] = field(default_factory=dict)
    realized_pnl: Decimal = _D0
    pnl_history: list[api.PnlPoint] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    orders: dict[str, OrderRow] = field(default_factory=dict)
    fills: deque[api.FillRecorded] = field(default_factory=lambda: deque(maxlen=MAX_FILLS))
    log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=MAX_LOG))
    log_total: int = 0  # lines ever appended (widgets append only the new ones)
    history: list[api.CondorView] = field(default_factory=list)  # condors of earlier days
    days: list[api.SessionClosed] = field(default_factory=list)

    @property
    def unrealized_pnl(self) -> Decimal:
        """Open marks of the live condors (dollars)."""
        return sum(
            (v.unrealized_pnl for v in self.condors.values() if v.unrealized_pnl is not None),
            _D0,
        )

    @property
    def total_pnl(self) -> Decimal:
        """Today's realized plus open P&L (dollars)."""
        return self.realized_pnl + self.unrealized_pnl

    @property
    def live_condors(self) -> list[api.CondorView]:
        """Condors that hold or may hold positions (working, open, closing)."""
        return [v for v in self.condors.values() if v.state in LIVE_STATES]

    def note(self, level: Level, text: str, ts: datetime | None = None) -> None:
        """Append a line to the log."""
        self.log.append(LogLine(ts or self.ts, level, text))
        self.log_total += 1


def parse_label(label: str) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """Strikes from a condor label ``5950/5960P 6040/6050C`` (None if it is not one)."""
    m = _LABEL.match(label.strip())
    if m is None:
        return None
    lp, sp, sc, lc = (Decimal(g) for g in m.groups())
    return (lp, sp, sc, lc)


# ------------------------------------------------------------------------------- snapshot


def apply_snapshot(model: Model, snap: api.Snapshot) -> set[Part]:
    """Replace the engine state with ``snap``; list its recent events the console lacks."""
    if snap.seq < model.seq:  # another engine run, on a fresh journal: numbering starts over
        model.listed_seq = 0
        model.note("warning", f"the engine restarted (events from #{snap.seq})", snap.ts)
    model.seq = snap.seq
    model.ts = snap.ts
    model.profile, model.mode, model.account = snap.profile, snap.mode, snap.account
    model.engine_state, model.paused_reason = snap.state, snap.paused_reason
    model.broker_connected, model.spot, model.day = snap.connected, snap.spot, snap.day
    model.expected_move, model.greeks = snap.expected_move, snap.greeks
    model.next_event, model.next_event_at = snap.next_event, snap.next_event_at
    model.condors = {v.id: v for v in snap.condors}
    model.realized_pnl = snap.realized_pnl
    model.pnl_history = list(snap.pnl_history)[-MAX_HISTORY:]
    model.alerts = list(snap.open_alerts)
    for event in snap.recent:
        if event.seq > model.listed_seq:
            _list(model, event)
    model.listed_seq = max(model.listed_seq, snap.seq)
    return set(ALL_PARTS)


# --------------------------------------------------------------------------------- events


def apply(model: Model, event: api.Event) -> set[Part]:
    """Fold one event into the model; returns the parts that changed."""
    if isinstance(event, api.Resync):
        if model.link == "live":  # (the snapshot a link starts with is not news)
            model.note("warning", "console fell behind the engine: resynchronised")
        return apply_snapshot(model, event.snapshot)
    if event.seq and event.seq <= model.seq:
        return set()  # already applied (a replay after a reconnect)
    model.seq = max(model.seq, event.seq)
    if event.ts is not None:
        model.ts = event.ts
    handler = _HANDLERS.get(type(event))
    changed: set[Part] = {"header"}
    if handler is not None:
        changed |= handler(model, event)
    if event.seq > model.listed_seq:
        changed |= _list(model, event)
        model.listed_seq = event.seq
    return changed


def _replace(model: Model, condor_id: str, **changes: Any) -> bool:
    view = model.condors.get(condor_id)
    if view is None:
        return False
    model.condors[condor_id] = dataclasses.replace(view, **changes)
    return True


def _sample_pnl(model: Model, ts: datetime | None) -> None:
    if ts is None:
        return
    if model.pnl_history and ts - model.pnl_history[-1].ts < PNL_SAMPLE_EVERY:
        return
    model.pnl_history.append(api.PnlPoint(ts=ts, pnl=model.total_pnl))
    del model.pnl_history[:-MAX_HISTORY]


def _on_started(model: Model, e: api.EngineStarted) -> set[Part]:
    model.profile, model.mode, model.account = e.profile, e.mode, e.account
    model.broker_connected = True
    return set()


def _on_stopped(model: Model, e: api.EngineStopped) -> set[Part]:
    model.engine_state = "stopped"
    return set()


def _on_hibernating(model: Model, e: api.Hibernating) -> set[Part]:
    model.engine_state = "hibernating"
    model.next_event, model.next_event_at = "daily reset", e.until
    return set()


def _on_reset(model: Model, e: api.DailyReset) -> set[Part]:
    done = [v for v in model.condors.values() if v.state in DONE_STATES]
    model.history = (model.history + done)[-MAX_HISTORY:]
    model.condors = {k: v for k, v in model.condors.items() if v.state not in DONE_STATES}
    model.day, model.realized_pnl = e.day, _D0
    model.pnl_history, model.expected_move = [], None
    return {"condors", "pnl", "journal", "market"}


def _on_session_opened(model: Model, e: api.SessionOpened) -> set[Part]:
    model.day = e.day
    model.engine_state = "paused" if model.paused_reason else "armed"
    return set()


def _on_session_closed(model: Model, e: api.SessionClosed) -> set[Part]:
    model.days = [*model.days, e][-60:]
    return {"journal"}


def _on_paused(model: Model, e: api.EntriesPaused) -> set[Part]:
    model.paused_reason = e.reason
    if model.engine_state in ("armed", "paused"):
        model.engine_state = "paused"
    return set()


def _on_resumed(model: Model, e: api.EntriesResumed) -> set[Part]:
    model.paused_reason = None
    if model.engine_state in ("armed", "paused"):
        model.engine_state = "armed"
    return set()


def _on_opened(model: Model, e: api.CondorOpened) -> set[Part]:
    changes = {"state": "open", "credit": e.credit, "first_trade": e.first_trade}
    if not _replace(model, e.condor_id, **changes, opened_ts=e.ts):
        strikes = parse_label(e.label)
        if strikes is None:
            return set()  # the next market update brings the whole view
        lp, sp, sc, lc = strikes
        model.condors[e.condor_id] = api.CondorView(
            id=e.condor_id, state="open", label=e.label, long_put=lp, short_put=sp,
            short_call=sc, long_call=lc, quantity=e.quantity, credit=e.credit, mark=None,
            debit=None, unrealized_pnl=None, realized_pnl=None, profit_target=None,
            stop_trigger=None, stop_limit=None, stop_backup=None, stop_state="none",
            first_trade=e.first_trade, opened_ts=e.ts, exit_reason=None,
        )  # fmt: skip
    return {"condors", "market"}


def _on_not_filled(model: Model, e: api.EntryNotFilled) -> set[Part]:
    _replace(model, e.condor_id, state="cancelled", exit_reason="not_filled")
    for row in model.orders.values():
        if row.condor_id == e.condor_id and row.role == "entry" and row.status == "submitted":
            row.status, row.reason = "not filled", e.reason
    return {"condors", "orders"}


def _on_stop_placed(model: Model, e: api.StopPlaced) -> set[Part]:
    _replace(
        model, e.condor_id, stop_trigger=e.trigger, stop_limit=e.limit,
        stop_backup=e.backup_trigger, stop_state="placed",
    )  # fmt: skip
    return {"condors"}


def _stop_state(state: str) -> Callable[[Model, Any], set[Part]]:
    def handler(model: Model, e: Any) -> set[Part]:
        _replace(model, e.condor_id, stop_state=state)
        return {"condors"}

    return handler


def _on_marked(model: Model, e: api.CondorMarked) -> set[Part]:
    model.spot = e.spot
    _replace(model, e.condor_id, mark=e.mark, debit=e.debit, unrealized_pnl=e.unrealized_pnl)
    _sample_pnl(model, e.ts)
    return {"condors", "market", "pnl"}


def _on_closing(model: Model, e: api.CondorClosing) -> set[Part]:
    _replace(model, e.condor_id, state="closing")
    return {"condors"}


def _on_closed(model: Model, e: api.CondorClosed) -> set[Part]:
    _replace(
        model, e.condor_id, state="closed", realized_pnl=e.realized_pnl, exit_reason=e.reason,
        mark=None, debit=None, unrealized_pnl=None, stop_state="n/a",
    )  # fmt: skip
    model.realized_pnl += e.realized_pnl
    _sample_pnl(model, e.ts)
    return {"condors", "pnl", "journal", "market"}


def _on_alert(model: Model, e: api.AlertRaised) -> set[Part]:
    if e.level != "info":
        model.alerts.append(f"{e.code}: {e.message}")
    return set()


def _on_acknowledged(model: Model, e: api.AlertsAcknowledged) -> set[Part]:
    model.alerts.clear()
    return set()


def _on_connection(model: Model, e: api.BrokerConnectionChanged) -> set[Part]:
    model.broker_connected = e.connected
    return set()


def _on_market(model: Model, e: api.MarketUpdated) -> set[Part]:
    model.spot, model.expected_move, model.greeks = e.spot, e.expected_move, e.greeks
    model.next_event, model.next_event_at = e.next_event, e.next_event_at
    for view in e.condors:  # a condor this console saw finish keeps its final view
        current = model.condors.get(view.id)
        if current is None or current.state not in DONE_STATES:
            model.condors[view.id] = view
    _sample_pnl(model, e.ts)
    return {"condors", "market", "pnl"}


_HANDLERS: dict[type[api.Event], Callable[[Model, Any], set[Part]]] = {
    api.EngineStarted: _on_started,
    api.EngineStopped: _on_stopped,
    api.Hibernating: _on_hibernating,
    api.DailyReset: _on_reset,
    api.SessionOpened: _on_session_opened,
    api.SessionClosed: _on_session_closed,
    api.EntriesPaused: _on_paused,
    api.EntriesResumed: _on_resumed,
    api.CondorOpened: _on_opened,
    api.EntryNotFilled: _on_not_filled,
    api.StopPlaced: _on_stop_placed,
    api.StopVerified: _stop_state("verified"),
    api.StopTriggered: _stop_state("triggered"),
    api.StopCancelled: _stop_state("cancelled"),
    api.CondorMarked: _on_marked,
    api.CondorClosing: _on_closing,
    api.CondorClosed: _on_closed,
    api.AlertRaised: _on_alert,
    api.AlertsAcknowledged: _on_acknowledged,
    api.BrokerConnectionChanged: _on_connection,
    api.MarketUpdated: _on_market,
}


# -------------------------------------------------------------------- lists and the log


def _list(model: Model, event: api.Event) -> set[Part]:
    """Record ``event`` in the orders/fills lists and the log (once per seq)."""
    changed: set[Part] = set()
    if isinstance(event, api.OrderSubmitted | api.OrderRejected | api.OrderCancelled):
        _order_event(model, event)
        changed.add("orders")
    elif isinstance(event, api.FillRecorded):
        model.fills.append(event)
        row = model.orders.get(event.order_ref)
        if row is not None:
            row.filled_legs += event.quantity
            if row.filled_legs >= 4 * row.quantity:
                row.status = "filled"
        changed |= {"fills", "orders"}
    line = describe(event)
    if line is not None:
        model.note(line[0], line[1], event.ts)
        changed.add("log")
    return changed


def _order_event(
    model: Model, e: api.OrderSubmitted | api.OrderRejected | api.OrderCancelled
) -> None:
    if isinstance(e, api.OrderSubmitted):
        model.orders[e.order_ref] = OrderRow(
            e.order_ref, e.condor_id, e.role, e.order_type, e.quantity, e.limit_price,
            e.stop_price, e.ts,
        )  # fmt: skip
        if len(model.orders) > MAX_ORDERS:
            del model.orders[next(iter(model.orders))]
        return
    row = model.orders.get(e.order_ref)
    if row is not None:
        row.status = "rejected" if isinstance(e, api.OrderRejected) else "cancelled"
        row.reason = e.reason


def _early(e: api.SessionOpened) -> str:
    return " (early close)" if e.early_close else ""


def _order_text(e: api.OrderSubmitted) -> str:
    px = price(e.limit_price) if e.limit_price is not None else "MKT"
    stop = f" stop {price(e.stop_price)}" if e.stop_price is not None else ""
    return f"order {e.order_ref} {e.order_type} x{e.quantity} {px}{stop}"


def _connection(e: api.BrokerConnectionChanged) -> tuple[Level, str]:
    if e.connected:
        return "ok", f"broker connected ({e.reason})"
    return "critical", f"BROKER DISCONNECTED: {e.reason}"


_LINES: dict[type[api.Event], Callable[[Any], tuple[Level, str]]] = {
    api.EngineStarted: lambda e: (
        "ok",
        f"engine started: profile {e.profile} ({e.mode}) account {e.account}",
    ),
    api.EngineStopped: lambda e: (
        "warning",
        f"engine stopped ({e.reason}); working stops stay at the broker",
    ),
    api.Hibernating: lambda e: ("info", f"hibernating until {et_stamp(e.until)}"),
    api.DailyReset: lambda e: ("info", f"daily reset for {e.day}"),
    api.SessionOpened: lambda e: (
        "info",
        f"session {e.day} open until {et_time(e.close, seconds=False)}{_early(e)}",
    ),
    api.SessionClosed: lambda e: (
        "ok",
        f"session {e.day} closed: {e.condors_opened} opened, {e.condors_closed} closed, "
        f"realized {money(e.realized_pnl)}",
    ),
    api.EntriesPaused: lambda e: ("warning", f"entries PAUSED: {e.reason} (by {e.origin})"),
    api.EntriesResumed: lambda e: ("ok", f"entries resumed (by {e.origin})"),
    api.EntrySkipped: lambda e: ("info", f"no entry: {e.reason} ({e.detail})"),
    api.CondorOpened: lambda e: (
        "ok",
        f"OPENED {e.condor_id} {e.label} x{e.quantity} for {price(e.credit)}",
    ),
    api.EntryNotFilled: lambda e: ("info", f"entry {e.condor_id} not filled: {e.reason}"),
    api.StopPlaced: lambda e: (
        "info",
        f"stop placed {e.condor_id}: trigger {price(e.trigger)} limit {price(e.limit)}, "
        f"backup {price(e.backup_trigger)}",
    ),
    api.StopVerified: lambda e: ("ok", f"stop verified at the broker for {e.condor_id}"),
    api.StopTriggered: lambda e: (
        "warning",
        f"STOP TRIGGERED {e.condor_id} ({e.role}) at {price(e.price)}",
    ),
    api.StopCancelled: lambda e: ("warning", f"stop cancelled {e.condor_id}: {e.reason}"),
    api.CondorClosing: lambda e: (
        "info",
        f"closing {e.condor_id} ({e.reason}) at {price(e.limit)}",
    ),
    api.CondorClosed: lambda e: (
        "ok" if e.realized_pnl >= 0 else "warning",
        f"CLOSED {e.condor_id} ({e.reason}) exit {price(e.exit_debit)} P&L {money(e.realized_pnl)}",
    ),
    api.OrderSubmitted: lambda e: ("info", _order_text(e)),
    api.OrderRejected: lambda e: ("error", f"order REJECTED {e.order_ref}: {e.reason}"),
    api.OrderCancelled: lambda e: ("info", f"order cancelled {e.order_ref}: {e.reason}"),
    api.FillRecorded: lambda e: (
        "info",
        f"fill {e.symbol} {e.side} {e.quantity} @ {price(e.price)}",
    ),
    api.AlertRaised: lambda e: (e.level, f"ALERT {e.code}: {e.message}"),
    api.AlertsAcknowledged: lambda e: ("ok", f"alerts acknowledged (by {e.origin})"),
    api.BrokerConnectionChanged: _connection,
    api.CommandReceived: lambda e: (
        "info" if e.accepted else "error",
        f"{e.command} from {e.origin} {'accepted' if e.accepted else 'REFUSED'}",
    ),
    api.ReconcileCompleted: lambda e: (
        "warning" if e.unexplained else "info",
        f"reconciled ({e.reason}): {e.open_condors} open, stops ok {e.stops_ok}, "
        f"{len(e.findings)} finding(s), {e.unexplained} unexplained",
    ),
}


def describe(event: api.Event) -> tuple[Level, str] | None:
    """The log line for an event (None for marks and market updates)."""
    line = _LINES.get(type(event))
    return None if line is None else line(event)
