"""The engine API: the only engine module the consoles (and the CLI's clients) import.

Front-ends never change engine state directly. They read a :class:`Snapshot`, follow
:class:`Event` s (frozen dataclasses, past tense, each with a monotonic ``seq`` and a UTC
``ts``), and send :class:`Command` s (imperative) with :meth:`EngineHandle.submit`, which
answers with an :class:`Ack`. Payloads are plain data (str, int, float, bool, Decimal,
datetime, lists) so they cross a socket unchanged; :func:`to_wire` / :func:`from_wire` convert.

A late-attaching console calls ``snapshot()`` then ``events(since=snapshot.seq)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

Origin = Literal["engine", "tui", "gui", "cli", "telegram", "test"]

# ---------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event. ``transient`` events (marks, quotes) are not journaled."""

    seq: int = 0
    ts: datetime | None = None
    transient: ClassVar[bool] = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStarted(Event):
    """The engine is up and connected to its broker."""

    profile: str
    mode: str
    account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStopped(Event):
    """The engine shut down; working stops stay at the broker."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Hibernating(Event):
    """The market is closed; the engine sleeps until ``until``."""

    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyReset(Event):
    """The 09:27 reset: daily counters and the first-trade flag start over."""

    day: date


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOpened(Event):
    """The trading session began."""

    day: date
    close: datetime
    early_close: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionClosed(Event):
    """The trading session ended; figures for the day."""

    day: date
    realized_pnl: Decimal
    commissions: Decimal
    condors_opened: int
    condors_closed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EntriesPaused(Event):
    """New entries are paused (existing condors stay managed)."""

    reason: str
    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseLifted(Event):
    """One reason entries were paused is lifted, but others hold (``remaining``, each as the
    operator reads it): entries stay paused. When the last one goes, EntriesResumed."""

    reason: str
    origin: str
    remaining: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntriesResumed(Event):
    """New entries are allowed again."""

    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EntrySkipped(Event):
    """An entry was considered and not made."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(Event):
    """An order left for the broker (its intent was journaled first)."""

    condor_id: str
    role: str
    order_ref: str
    order_type: str
    quantity: int
    limit_price: Decimal | None
    stop_price: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    """The broker refused an order."""

    condor_id: str
    order_ref: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(Event):
    """An order was cancelled at the broker."""

    condor_id: str
    order_ref: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FillRecorded(Event):
    """A leg execution was journaled (replays of the same exec id are not)."""

    condor_id: str
    order_ref: str
    exec_id: str
    symbol: str
    side: str
    quantity: int
    price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorOpened(Event):
    """An entry order filled: the condor is on."""

    condor_id: str
    label: str
    quantity: int
    credit: Decimal
    first_trade: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryNotFilled(Event):
    """An entry order did not fill; nothing was left at the broker."""

    condor_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopPlaced(Event):
    """The OCA stop pair was sent."""

    condor_id: str
    trigger: Decimal
    limit: Decimal
    backup_trigger: Decimal
    order_ids: list[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class StopVerified(Event):
    """Both stops were seen working at the broker with the right quantity and prices."""

    condor_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopTriggered(Event):
    """A stop filled (``role`` says which: stop-limit or stop-market)."""

    condor_id: str
    role: str
    price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class StopCancelled(Event):
    """A condor's stop pair is no longer working."""

    condor_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorMarked(Event):
    """Fresh marks for an open condor (transient: coalesced, not journaled)."""

    transient: ClassVar[bool] = True
    condor_id: str
    spot: Decimal
    mark: Decimal
    debit: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorClosing(Event):
    """A closing order was sent for a condor."""

    condor_id: str
    reason: str
    limit: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorClosed(Event):
    """The condor is flat. ``day`` is the trading day its money is booked on (None from an
    older engine: today); ``commissions_estimated`` says some commission reports have not
    come yet and the schedule's estimate stands in (see :class:`CondorAmended`)."""

    condor_id: str
    reason: str
    exit_debit: Decimal
    commissions: Decimal
    realized_pnl: Decimal
    day: date | None = None
    commissions_estimated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorAmended(Event):
    """A closed condor's money changed after its close (a commission report came late):
    its new totals, and ``change``, what its realized P&L moved by, booked on ``day``."""

    condor_id: str
    day: date
    commissions: Decimal
    realized_pnl: Decimal
    change: Decimal
    commissions_estimated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRaised(Event):
    """Something an operator must see (and may need to acknowledge)."""

    level: Literal["info", "warning", "critical"]
    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertCleared(Event):
    """An open alert's condition is over (a condor's stops are verified at the broker again):
    it is no longer open. ``alert`` is the open alert as it read (``"code: message"``)."""

    code: str
    condor_id: str
    alert: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsAcknowledged(Event):
    """The operator acknowledged the open alerts."""

    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerConnectionChanged(Event):
    """The broker link went down or came back."""

    connected: bool
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandReceived(Event):
    """A command reached the engine (journaled with its origin)."""

    command: str
    origin: str
    detail: str
    accepted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileCompleted(Event):
    """The journal was reconciled with the broker (``findings`` in plain words)."""

    reason: str
    open_condors: int
    stops_ok: int
    findings: list[str]
    unexplained: int


# -------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command; ``origin`` says which front-end sent it."""

    origin: Origin = "cli"


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseEntries(Command):
    """Stop opening new condors (open ones stay managed)."""

    reason: str = "operator"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeEntries(Command):
    """Allow new condors again (clears an operator or daily-loss pause for today)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseCondor(Command):
    """Buy a condor back: at ``limit`` if given, else at the natural price (chasing)."""

    condor_id: str
    limit: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FlattenAll(Command):
    """Pause entries and close every open condor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveStop(Command):
    """Move a condor's stop pair to trigger at ``trigger``: the two working orders are
    modified in place (same orders, same OCA group; nothing is cancelled first). The engine
    refuses a trigger off the 0.05 grid, not above zero, above the condor's wing width, or at
    or below its current mark (that is a close)."""

    condor_id: str
    trigger: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelStop(Command):
    """Cancel a condor's stop pair: the position becomes unprotected."""

    condor_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmStops(Command):
    """Place the planned stop pair for a condor that has none working."""

    condor_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgeAlerts(Command):
    """Acknowledge the open alerts (and lift a pause that waits for acknowledgement)."""


@dataclass(frozen=True, slots=True)
class Ack:
    """The answer to a command."""

    accepted: bool
    reason: str = ""


# -------------------------------------------------------------------------------- snapshot


@dataclass(frozen=True, slots=True)
class CondorView:
    """A live or finished condor as consoles show it."""

    id: str
    state: str
    label: str
    long_put: Decimal
    short_put: Decimal
    short_call: Decimal
    long_call: Decimal
    quantity: int
    credit: Decimal | None
    mark: Decimal | None
    debit: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal | None
    profit_target: Decimal | None
    stop_trigger: Decimal | None
    stop_limit: Decimal | None
    stop_backup: Decimal | None
    stop_state: str
    first_trade: bool
    opened_ts: datetime | None
    exit_reason: str | None


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """Net greeks of a position in dollars: ``delta`` per SPX point, ``gamma`` the change of
    that delta per point, ``theta`` per calendar day, ``vega`` per volatility point."""

    delta: float
    gamma: float
    theta: float
    vega: float


@dataclass(frozen=True, slots=True)
class PnlPoint:
    """Today's P&L (realized plus open marks, dollars) at one moment (a sparkline point)."""

    ts: datetime
    pnl: Decimal


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A finished condor from the journal (closed, or an entry that never filled), for a
    console's history: ``realized_pnl`` is net of ``commissions``; ``day`` is its trading day."""

    id: str
    day: date
    label: str
    quantity: int
    state: str  # closed | cancelled
    credit: Decimal | None
    exit_debit: Decimal | None
    commissions: Decimal
    realized_pnl: Decimal | None
    exit_reason: str | None
    opened_ts: datetime | None
    closed_ts: datetime | None
    commissions_estimated: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole engine state a console needs, as of event ``seq``.

    ``expected_move`` is the day's expected SPX move in points (from the at-the-money implied
    vol over the session; None until measured); ``greeks`` the net greeks of the open condors
    (None without fresh greeks for every leg); ``next_event`` / ``next_event_at`` what the
    schedule does next; ``pnl_history`` today's P&L sampled through the day; ``recent`` the
    latest journaled events (fills, orders, alerts, commands) for a console's lists and log.
    """

    seq: int
    ts: datetime
    profile: str
    mode: str
    account: str
    state: str  # starting | armed | paused | hibernating | stopped
    paused_reason: str | None  # every reason, joined with "; " (see paused_reasons)
    connected: bool
    spot: Decimal | None
    day: date | None
    condors: list[CondorView] = field(default_factory=list)
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    open_alerts: list[str] = field(default_factory=list)
    expected_move: Decimal | None = None
    greeks: PositionGreeks | None = None
    next_event: str = ""
    next_event_at: datetime | None = None
    pnl_history: list[PnlPoint] = field(default_factory=list)
    recent: list[Event] = field(default_factory=list)
    paused_reasons: list[str] = field(default_factory=list)  # each reason entries are paused


@dataclass(frozen=True, slots=True, kw_only=True)
class Resync(Event):
    """Sent to a subscriber that fell behind: replace everything with ``snapshot``."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketUpdated(Event):
    """After each trading cycle: SPX, the day's expected move, the net greeks, what the
    schedule does next, and the live condors as they stand (transient: coalesced, not
    journaled). A console that missed a condor change converges on the next one."""

    transient: ClassVar[bool] = True
    spot: Decimal
    expected_move: Decimal | None
    greeks: PositionGreeks | None
    next_event: str
    next_event_at: datetime | None
    condors: list[CondorView] = field(default_factory=list)


class EngineUnavailable(Exception):
    """The engine behind a handle is gone (an attached console lost the control socket, or no
    engine is listening). Raised by ``events()`` iteration, ``submit()`` and by opening a
    handle; the console shows it and may open a new handle later. Trading is not affected."""


class EngineHandle(Protocol):
    """What a console holds: the embedded engine or an attach-mode client look the same.

    ``events()``, ``submit()`` and ``history()`` raise :class:`EngineUnavailable` when the
    engine is lost.
    """

    def snapshot(self) -> Snapshot:
        """The current state."""
        ...

    def events(self, since: int = 0) -> AsyncIterator[Event]:
        """Events with ``seq > since`` (replayed from the journal if needed), then live ones."""
        ...

    async def submit(self, command: Command) -> Ack:
        """Send a command; the ack says whether the engine accepted it."""
        ...

    async def history(self, since: date | None = None) -> list[TradeRecord]:
        """The journal's finished condors (trading day ``since`` or later; all when None),
        oldest first. Read-only: a console's history view."""
        ...


# ----------------------------------------------------------------------------- wire format

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        EngineStarted,
        EngineStopped,
        Hibernating,
        DailyReset,
        SessionOpened,
        SessionClosed,
        EntriesPaused,
        EntriesResumed,
        PauseLifted,
        EntrySkipped,
        OrderSubmitted,
        OrderRejected,
        OrderCancelled,
        FillRecorded,
        CondorOpened,
        EntryNotFilled,
        StopPlaced,
        StopVerified,
        StopTriggered,
        StopCancelled,
        CondorMarked,
        CondorClosing,
        CondorClosed,
        CondorAmended,
        AlertRaised,
        AlertCleared,
        AlertsAcknowledged,
        BrokerConnectionChanged,
        CommandReceived,
        ReconcileCompleted,
        Resync,
        MarketUpdated,
    )
}
COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        PauseEntries,
        ResumeEntries,
        CloseCondor,
        FlattenAll,
        MoveStop,
        CancelStop,
        ArmStops,
        AcknowledgeAlerts,
    )
}
_NESTED: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (Snapshot, CondorView, PositionGreeks, PnlPoint, TradeRecord)
}


def to_wire(obj: Any) -> Any:
    """Plain JSON-ready data for an event, command, ack or snapshot (tagged with its type)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = {f.name: to_wire(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        data["type"] = type(obj).__name__
        return data
    if isinstance(obj, Decimal):
        return {"$dec": str(obj)}
    if isinstance(obj, datetime):
        return {"$dt": obj.isoformat()}
    if isinstance(obj, date):
        return {"$date": obj.isoformat()}
    if isinstance(obj, list | tuple):
        return [to_wire(v) for v in obj]
    return obj


def from_wire(data: Any) -> Any:
    """Inverse of :func:`to_wire`."""
    if isinstance(data, list):
        return [from_wire(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$dec" in data:
        return Decimal(data["$dec"])
    if "$dt" in data:
        return datetime.fromisoformat(data["$dt"])
    if "$date" in data:
        return date.fromisoformat(data["$date"])
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind or "") or COMMAND_TYPES.get(kind or "") or _NESTED.get(kind or "")
    if cls is None and kind == "Ack":
        cls = Ack
    if cls is None:
        raise ValueError(f"unknown wire type {kind!r}")
    values = {k: from_wire(v) for k, v in data.items() if k != "type"}
    return cls(**values)


def event_kind(event: Event) -> str:
    """The event's type name (what the journal stores)."""
    return type(event).__name__
