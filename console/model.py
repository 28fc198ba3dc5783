"""The console's model of the engine: built from a :class:`Snapshot`, kept current by events.

Pure (no UI toolkit, no I/O). :func:`apply` folds one event into a :class:`Model` and returns
the parts of the screen that changed, so a console re-renders only those, and only from
events. Lists (orders, fills, log) keep a bounded tail; a snapshot's ``recent`` events fill
them on attach without repeating what the console already listed. A console that keeps more
(the desktop console's intraday series) subclasses :class:`Model` and extends
:meth:`Model.sample` and :meth:`Model.new_day`.
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
from console.events import Level, describe
from console.format import duration, et_time

Part = Literal["header", "market", "condors", "pnl", "orders", "fills", "log", "history"]
ALL_PARTS: frozenset[Part] = frozenset(
    {"header", "market", "condors", "pnl", "orders", "fills", "log", "history"}
)

_D0 = Decimal(0)
PNL_SAMPLE_EVERY = timedelta(minutes=1)
MAX_ORDERS = 300
MAX_FILLS = 300
MAX_LOG = 2000
MAX_HISTORY = 2000
LIVE_STATES = ("working", "open", "closing")
HELD_STATES = ("open", "closing")
DONE_STATES = ("closed", "cancelled")
_LABEL = re.compile(r"^(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)P (\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)C$")
_IB_ACCOUNT = re.compile(r"^[A-Z]{1,3}\d{3,}$")
PAPER_PREFIXES = ("DU", "DF")
"""Interactive Brokers paper accounts start with these; every other IB account id (U..., F...,
I...) trades real money."""


def is_real_money_account(account: str) -> bool:
    """True for an Interactive Brokers account id that is not a paper one (``U1234567``)."""
    account = account.strip().upper()
    return bool(_IB_ACCOUNT.match(account)) and not account.startswith(PAPER_PREFIXES)


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
    """Everything a console shows."""

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
    paused_reasons: list[str] = field(default_factory=list)
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
    log_total: int = 0  # lines ever appended (widgets append only the new ones)
    history: list[api.CondorView] = field(default_factory=list)  # condors of earlier days
    days: list[api.SessionClosed] = field(default_factory=list)

    @property
    def paused_reason(self) -> str | None:
        """Every reason entries are paused, joined (None when they are not)."""
        return "; ".join(self.paused_reasons) or None

    @property
    def real_money(self) -> bool:
        """The account trades real money: the engine says ``live``, or (a second guard) the
        account id is a real Interactive Brokers one, whatever the profile's mode says. The
        embedded simulator (mode ``sim``: the engine's broker is in its own process) holds no
        broker's account, whatever its id looks like (``SIM0001``)."""
        if self.mode == "sim":
            return False
        return self.mode == "live" or is_real_money_account(self.account)

    @property
    def badge(self) -> str:
        """The mode a console's badge shows: ``live`` for any real-money account."""
        return "live" if self.real_money else (self.mode or "sim")

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
    def live_condors(self) -> list[api.CondorView]:
        """Condors that hold or may hold positions (working, open, closing)."""
        return [v for v in self.condors.values() if v.state in LIVE_STATES]

    @property
    def held(self) -> list[api.CondorView]:
        """Condors holding a position with a known credit (open or closing)."""
        views = self.condors.values()
        return [v for v in views if v.state in HELD_STATES and v.credit is not None]

    def note(self, level: Level, text: str, ts: datetime | None = None) -> None:
        """Append a line to the log."""
        self.log.append(LogLine(ts or self.ts, level, text))
        self.log_total += 1

    def sample(self, ts: datetime | None) -> None:
        """Record the day's total P&L (once a minute) at engine time ``ts``."""
        if ts is None:
            return
        history = self.pnl_history
        if history and ts - history[-1].ts < PNL_SAMPLE_EVERY:
            return
        history.append(api.PnlPoint(ts=ts, pnl=self.total_pnl))
        del history[:-MAX_HISTORY]

    def new_day(self) -> None:
        """Forget the intraday series of the day that ended."""
        self.pnl_history, self.session_close = [], None


def expiry_value(view: api.CondorView, spot: Decimal) -> Decimal:
    """What the condor's four legs are worth at expiry with SPX at ``spot`` (per share)."""
    puts = max(view.short_put - spot, _D0) - max(view.long_put - spot, _D0)
    calls = max(spot - view.short_call, _D0) - max(spot - view.long_call, _D0)
    return puts + calls


def decay_to_close(model: Model) -> Decimal | None:
    """What the open condors earn by the close if SPX stays where it is (dollars): their time
    value now, the mark less what they are worth at expiry at today's SPX. On a 0DTE book
    this is the theta that matters (at most the credit still open), not theta per day."""
    views = [v for v in model.held if v.mark is not None]
    if model.spot is None or not views:
        return None
    total = _D0
    for v in views:
        assert v.mark is not None
        total += (v.mark - expiry_value(v, model.spot)) * 100 * v.quantity
    return total


def next_text(model: Model) -> str:
    """What the schedule does next: ``entries close 14:30 (in 4h20m)``; an event whose time
    has come reads ``(due)``, and nothing is said without a time."""
    at = model.next_event_at
    if not model.next_event or at is None:
        return ""
    when = f"{model.next_event} {et_time(at, seconds=False)}"
    if model.ts is None:
        return when
    left = at - model.ts
    return f"{when} (in {duration(left)})" if left.total_seconds() > 0 else f"{when} (due)"


def parse_label(label: str) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """Strikes from a condor label ``5950/5960P 6040/6050C`` (None if it is not one)."""
    m = _LABEL.match(label.strip())
    if m is None:
        return None
    lp, sp, sc, lc = (Decimal(g) for g in m.groups())
    return (lp, sp, sc, lc)


def select_live(model: Model, selected: str | None) -> str | None:
    """The condor a console's selection should rest on: ``selected`` while it is live, else
    the first live condor (so a key never acts on a condor that just closed), else the
    selection as it was if that condor is still listed, else the first listed one."""
    condors = model.condors
    view = condors.get(selected or "")
    if view is not None and view.state in LIVE_STATES:
        return selected
    live = [v.id for v in condors.values() if v.state in LIVE_STATES]
    if live:
        return live[0]
    return selected if view is not None else next(iter(condors), None)


# ------------------------------------------------------------------------------- snapshot


def _reasons(snap: api.Snapshot) -> list[str]:
    if snap.paused_reasons:
        return list(snap.paused_reasons)
    return [snap.paused_reason] if snap.paused_reason else []


def apply_snapshot(model: Model, snap: api.Snapshot) -> set[Part]:
    """Replace the engine state with ``snap``; list its recent events the console lacks."""
    if snap.seq < model.seq:  # another engine run, on a fresh journal: numbering starts over
        model.listed_seq = 0
        model.note("warning", f"the engine restarted (events from #{snap.seq})", snap.ts)
    if snap.day != model.day:
        model.new_day()
    model.seq, model.ts = snap.seq, snap.ts
    model.profile, model.mode, model.account = snap.profile, snap.mode, snap.account
    model.engine_state, model.paused_reasons = snap.state, _reasons(snap)
    model.broker_connected, model.spot, model.day = snap.connected, snap.spot, snap.day
    model.expected_move, model.greeks = snap.expected_move, snap.greeks
    _next(model, snap.next_event, snap.next_event_at)
    model.condors = {v.id: v for v in snap.condors}
    model.realized_pnl = snap.realized_pnl
    model.pnl_history = list(snap.pnl_history)[-MAX_HISTORY:]
    model.alerts = list(snap.open_alerts)
    for event in snap.recent:
        if event.seq > model.listed_seq:
            _list(model, event)
    model.listed_seq = max(model.listed_seq, snap.seq)
    model.sample(snap.ts)
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
    done = [v for v in model.condors.values() if v.state in DONE_STATES]
    model.history = (model.history + done)[-MAX_HISTORY:]
    model.condors = {k: v for k, v in model.condors.items() if v.state not in DONE_STATES}
    model.new_day()
    model.day, model.realized_pnl, model.expected_move = e.day, _D0, None
    return {"condors", "pnl", "history", "market"}


def _on_session_opened(model: Model, e: api.SessionOpened) -> set[Part]:
    model.day, model.session_close = e.day, e.close
    model.engine_state = "paused" if model.paused_reasons else "armed"
    return set()


def _on_session_closed(model: Model, e: api.SessionClosed) -> set[Part]:
    model.days = [*model.days, e][-60:]
    return {"history"}


def _on_paused(model: Model, e: api.EntriesPaused) -> set[Part]:
    if e.reason not in model.paused_reasons:
        model.paused_reasons = [*model.paused_reasons, e.reason]
    if model.engine_state in ("armed", "paused"):
        model.engine_state = "paused"
    return set()


def _on_pause_lifted(model: Model, e: api.PauseLifted) -> set[Part]:
    model.paused_reasons = list(e.remaining)
    return set()


def _on_resumed(model: Model, e: api.EntriesResumed) -> set[Part]:
    model.paused_reasons = []
    if model.engine_state in ("armed", "paused"):
        model.engine_state = "armed"
    return set()


def _on_opened(model: Model, e: api.CondorOpened) -> set[Part]:
    changes = {"state": "open", "credit": e.credit, "first_trade": e.first_trade}
    if _replace(model, e.condor_id, **changes, opened_ts=e.ts):
        return {"condors", "market"}
    strikes = parse_label(e.label)
    if strikes is not None:  # else the next market update brings the whole view
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
    model.sample(e.ts)
    return {"condors", "market", "pnl"}


def _on_closing(model: Model, e: api.CondorClosing) -> set[Part]:
    _replace(model, e.condor_id, state="closing")
    return {"condors"}


def _on_closed(model: Model, e: api.CondorClosed) -> set[Part]:
    _replace(model, e.condor_id, state="closed", realized_pnl=e.realized_pnl,
             exit_reason=e.reason, mark=None, debit=None, unrealized_pnl=None,
             stop_state="n/a")  # fmt: skip
    if e.day is None or model.day is None or e.day == model.day:  # another day's: not today's
        model.realized_pnl += e.realized_pnl
    model.sample(e.ts)
    return {"condors", "pnl", "market", "history"}


def _on_amended(model: Model, e: api.CondorAmended) -> set[Part]:
    _replace(model, e.condor_id, realized_pnl=e.realized_pnl)
    if model.day is None or e.day == model.day:
        model.realized_pnl += e.change
    return {"condors", "pnl", "history"}


def _on_alert(model: Model, e: api.AlertRaised) -> set[Part]:
    if e.level != "info":
        model.alerts.append(f"{e.code}: {e.message}")
    return set()


def _on_cleared(model: Model, e: api.AlertCleared) -> set[Part]:
    if e.alert in model.alerts:
        model.alerts.remove(e.alert)
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
    model.sample(e.ts)
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
    api.PauseLifted: _on_pause_lifted,
    api.CondorOpened: _on_opened,
    api.EntryNotFilled: _on_not_filled,
    api.StopPlaced: _on_stop_placed,
    api.StopVerified: _stop_state("verified"),
    api.StopTriggered: _stop_state("triggered"),
    api.StopCancelled: _stop_state("cancelled"),
    api.CondorMarked: _on_marked,
    api.CondorClosing: _on_closing,
    api.CondorClosed: _on_closed,
    api.CondorAmended: _on_amended,
    api.AlertRaised: _on_alert,
    api.AlertCleared: _on_cleared,
    api.AlertsAcknowledged: _on_acknowledged,
    api.BrokerConnectionChanged: _on_connection,
    api.MarketUpdated: _on_market,
}


# -------------------------------------------------------------------- lists and the log


def _list(model: Model, event: api.Event) -> set[Part]:
    """Record ``event`` in the orders/fills lists and the log (once per seq)."""
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
    line = describe(event, simulated=model.mode == "sim")
    if line is not None:
        model.note(line[0], line[1], event.ts)
        changed.add("log")
    return changed
