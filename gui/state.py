"""The desktop console's model of the engine: built from a :class:`Snapshot`, kept current by
events, plus the intraday series its charts draw.

Pure (no Qt, no I/O). :func:`apply` folds one event into a :class:`Model` and returns the
parts of the window that changed; the window redraws only those, at most ten times a second.
This is the GUI's own small reducer: the TUI has one of its own (consoles never import each
other, and the engine API carries no reducer), and the payoff math both need lives in
:mod:`condordesk.domain.payoff`.
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
from gui.format import minutes_et
from gui.logtext import Level, describe

Part = Literal["header", "market", "condors", "pnl", "orders", "fills", "log", "history"]
ALL_PARTS: frozenset[Part] = frozenset(
    {"header", "market", "condors", "pnl", "orders", "fills", "log", "history"}
)
LIVE_STATES = ("working", "open", "closing")
HELD_STATES = ("open", "closing")
DONE_STATES = ("closed", "cancelled")
SAMPLE_EVERY = timedelta(seconds=15)
PNL_SAMPLE_EVERY = timedelta(minutes=1)
MAX_POINTS = 2000  # a regular session is 1560 samples of 15 s
MAX_ORDERS = 300
MAX_FILLS = 300
MAX_LOG = 2000
_D0 = Decimal(0)
_LABEL = re.compile(r"^(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)P (\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)C$")


@dataclass
class Trail:
    """An intraday series on engine time: at most one point per :data:`SAMPLE_EVERY` (a newer
    value within the period replaces the last point, so the line always ends at the latest).
    ``xs`` are minutes since midnight in New York."""

    xs: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    ys: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    last_ts: datetime | None = None

    def add(self, ts: datetime, value: float) -> None:
        if self.last_ts is not None and self.xs and ts - self.last_ts < SAMPLE_EVERY:
            self.xs[-1], self.ys[-1] = minutes_et(ts), value
            return
        self.xs.append(minutes_et(ts))
        self.ys.append(value)
        self.last_ts = ts


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the log; alerts are ``warning`` or ``critical``."""

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
    """Everything the window shows."""

    profile: str
    attached: bool
    mode: str = ""
    account: str = ""
    link: str = "connecting"  # connecting | live | lost (attached) | stopped (embedded)
    link_detail: str = ""
    link_attempt: int = 0
    seq: int = 0
    listed_seq: int = 0
    ts: datetime | None = None
    engine_state: str = "starting"
    paused_reason: str | None = None
    broker_connected: bool = False
    spot: Decimal | None = None
    expected_move: Decimal | None = None
    greeks: api.PositionGreeks | None = None
    next_event: str = ""
    next_event_at: datetime | None = None
    day: date | None = None
    session_close: datetime | None = None
    condors: dict[str, api.CondorView] = field(default_factory=dict)
    realized_pnl: Decimal = _D0
    pnl_history: list[api.PnlPoint] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    orders: dict[str, OrderRow] = field(default_factory=dict)
    fills: deque[api.FillRecorded] = field(default_factory=lambda: deque(maxlen=MAX_FILLS))
    log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=MAX_LOG))
    log_total: int = 0
    spx: Trail = field(default_factory=Trail)
    condor_pnl: dict[str, Trail] = field(default_factory=dict)
    condor_mark: dict[str, Trail] = field(default_factory=dict)
    trades: list[api.TradeRecord] = field(default_factory=list)

    @property
    def unrealized_pnl(self) -> Decimal:
        """Open marks of the live condors (dollars)."""
        views = self.condors.values()
        return sum((v.unrealized_pnl for v in views if v.unrealized_pnl is not None), _D0)

    @property
    def total_pnl(self) -> Decimal:
        """Today's realized plus open P&L (dollars)."""
        return self.realized_pnl + self.unrealized_pnl

    @property
    def held(self) -> list[api.CondorView]:
        """Condors holding a position with a known credit (open or closing)."""
        views = self.condors.values()
        return [v for v in views if v.state in HELD_STATES and v.credit is not None]

    def color_index(self, condor_id: str) -> int:
        """A condor's place among the day's condors (ids sort in the order they were made):
        its colour in every chart and in the table."""
        ids = sorted(set(self.condors) | set(self.condor_pnl))
        return ids.index(condor_id) if condor_id in ids else 0

    def note(self, level: Level, text: str, ts: datetime | None = None) -> None:
        """Append a line to the log."""
        self.log.append(LogLine(ts or self.ts, level, text))
        self.log_total += 1


def apply_snapshot(model: Model, snap: api.Snapshot) -> set[Part]:
    """Replace the engine state with ``snap``; list its recent events the console lacks."""
    if snap.day != model.day:
        _new_day(model)
    model.seq, model.ts = snap.seq, snap.ts
    model.profile, model.mode, model.account = snap.profile, snap.mode, snap.account
    model.engine_state, model.paused_reason = snap.state, snap.paused_reason
    model.broker_connected, model.spot, model.day = snap.connected, snap.spot, snap.day
    model.expected_move, model.greeks = snap.expected_move, snap.greeks
    _next(model, snap.next_event, snap.next_event_at)
    model.condors = {v.id: v for v in snap.condors}
    model.realized_pnl = snap.realized_pnl
    model.pnl_history = list(snap.pnl_history)
    model.alerts = list(snap.open_alerts)
    for event in snap.recent:
        if event.seq > model.listed_seq:
            _list(model, event)
    model.listed_seq = max(model.listed_seq, snap.seq)
    _sample(model, snap.ts)
    return set(ALL_PARTS)


def apply(model: Model, event: api.Event) -> set[Part]:
    """Fold one event into the model; returns the parts that changed."""
    if isinstance(event, api.Resync):
        if model.link == "live":
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


# ---------------------------------------------------------------------------------- helpers


def _new_day(model: Model) -> None:
    model.spx = Trail()
    model.condor_pnl, model.condor_mark = {}, {}
    model.pnl_history, model.session_close = [], None


def _next(model: Model, label: str, at: datetime | None) -> None:
    model.next_event, model.next_event_at = label, at
    if label == "session close" and at is not None:
        model.session_close = at


def _replace(model: Model, condor_id: str, **changes: Any) -> bool:
    view = model.condors.get(condor_id)
    if view is None:
        return False
    model.condors[condor_id] = dataclasses.replace(view, **changes)
    return True


def _sample(model: Model, ts: datetime | None) -> None:
    """Record SPX, each condor's P&L and mark, and (once a minute) the day's total P&L."""
    if ts is None:
        return
    if model.spot is not None:
        model.spx.add(ts, float(model.spot))
    for view in model.condors.values():
        pnl = view.unrealized_pnl if view.state in LIVE_STATES else view.realized_pnl
        if pnl is not None and view.state != "cancelled":
            model.condor_pnl.setdefault(view.id, Trail()).add(ts, float(pnl))
        if view.mark is not None and view.state in HELD_STATES:
            model.condor_mark.setdefault(view.id, Trail()).add(ts, float(view.mark))
    history = model.pnl_history
    if not history or ts - history[-1].ts >= PNL_SAMPLE_EVERY:
        history.append(api.PnlPoint(ts=ts, pnl=model.total_pnl))
        del history[:-MAX_POINTS]


# --------------------------------------------------------------------------------- handlers


def _on_started(model: Model, e: api.EngineStarted) -> set[Part]:
    model.profile, model.mode, model.account = e.profile, e.mode, e.account
    model.broker_connected = True
    return set()


def _on_stopped(model: Model, e: api.EngineStopped) -> set[Part]:
    model.engine_state = "stopped"
    return set()


def _on_hibernating(model: Model, e: api.Hibernating) -> set[Part]:
    model.engine_state = "hibernating"
    _next(model, "daily reset", e.until)
    return set()


def _on_reset(model: Model, e: api.DailyReset) -> set[Part]:
    model.condors = {k: v for k, v in model.condors.items() if v.state not in DONE_STATES}
    _new_day(model)
    model.day, model.realized_pnl, model.expected_move = e.day, _D0, None
    return {"condors", "pnl", "market", "history"}


def _on_session_opened(model: Model, e: api.SessionOpened) -> set[Part]:
    model.day, model.session_close = e.day, e.close
    model.engine_state = "paused" if model.paused_reason else "armed"
    return set()


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
    if _replace(model, e.condor_id, **changes, opened_ts=e.ts):
        return {"condors", "market"}
    m = _LABEL.match(e.label.strip())
    if m is not None:  # else the next market update brings the whole view
        lp, sp, sc, lc = (Decimal(g) for g in m.groups())
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
    _replace(model, e.condor_id, stop_trigger=e.trigger, stop_limit=e.limit,
             stop_backup=e.backup_trigger, stop_state="placed")  # fmt: skip
    return {"condors", "market"}


def _stop_state(state: str) -> Callable[[Model, Any], set[Part]]:
    def handler(model: Model, e: Any) -> set[Part]:
        _replace(model, e.condor_id, stop_state=state)
        return {"condors", "market"}

    return handler


def _on_marked(model: Model, e: api.CondorMarked) -> set[Part]:
    model.spot = e.spot
    _replace(model, e.condor_id, mark=e.mark, debit=e.debit, unrealized_pnl=e.unrealized_pnl)
    _sample(model, e.ts)
    return {"condors", "market", "pnl"}


def _on_closing(model: Model, e: api.CondorClosing) -> set[Part]:
    _replace(model, e.condor_id, state="closing")
    return {"condors"}


def _on_closed(model: Model, e: api.CondorClosed) -> set[Part]:
    _replace(model, e.condor_id, state="closed", realized_pnl=e.realized_pnl,
             exit_reason=e.reason, mark=None, debit=None, unrealized_pnl=None,
             stop_state="n/a")  # fmt: skip
    model.realized_pnl += e.realized_pnl
    _sample(model, e.ts)
    return {"condors", "pnl", "market", "history"}


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
    _next(model, e.next_event, e.next_event_at)
    for view in e.condors:  # a condor this console saw finish keeps its final view
        current = model.condors.get(view.id)
        if current is None or current.state not in DONE_STATES:
            model.condors[view.id] = view
    _sample(model, e.ts)
    return {"condors", "market", "pnl"}


_HANDLERS: dict[type[api.Event], Callable[[Model, Any], set[Part]]] = {
    api.EngineStarted: _on_started,
    api.EngineStopped: _on_stopped,
    api.Hibernating: _on_hibernating,
    api.DailyReset: _on_reset,
    api.SessionOpened: _on_session_opened,
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


# ---------------------------------------------------------------------- lists and the log


def _list(model: Model, event: api.Event) -> set[Part]:
    """Record ``event`` in the orders/fills tables and the log (once per seq)."""
    changed: set[Part] = set()
    if isinstance(event, api.OrderSubmitted):
        model.orders[event.order_ref] = OrderRow(
            event.order_ref, event.condor_id, event.role, event.order_type, event.quantity,
            event.limit_price, event.stop_price, event.ts,
        )  # fmt: skip
        if len(model.orders) > MAX_ORDERS:
            del model.orders[next(iter(model.orders))]
        changed.add("orders")
    elif isinstance(event, api.OrderRejected | api.OrderCancelled):
        row = model.orders.get(event.order_ref)
        if row is not None:
            row.status = "rejected" if isinstance(event, api.OrderRejected) else "cancelled"
            row.reason = event.reason
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
