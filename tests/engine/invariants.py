"""The money-safety invariants of issue 12, checked against the simulated broker's truth and the
journal after every step of a randomized run (tests/engine/stateful.py) or of any test.

Each invariant has a short name; :meth:`Checker.check` returns the violations found at this
step (empty when everything holds). The checker keeps what it must remember between steps
(how long a condor has been without a stop, when the operator flattened, the day the daily
max loss was hit, whether a critical alert is still unanswered).

* ``exit-budget`` (a): per contract, what the working closing orders (stops and closes) could
  still buy or sell back -- the orders of one OCA group counting once, as their largest -- never
  exceeds what the account holds in the closing direction. A contract two of the engine's
  condors hold on opposite sides is left out: the account's net position cannot say which
  condor's units are left.
* ``reversed`` (a): no position is ever on the other side of the condor leg it came from.
* ``one-protection`` (b): an open condor that is held at the broker has exactly one working stop
  group, unless the journal says the operator cancelled its stop or it is being closed. Two
  groups are a violation at once; none is one after :data:`PROTECTION_GRACE_S` clock seconds
  (the grace covers the time from an entry or a re-arm to the next cycle: the engine may need
  one cycle to notice and one fill timeout to verify), never counted while the link is down.
* ``price-grid`` (c): every price sent (place or modify) is on the 0.05 combo grid and within
  (0, wing width].
* ``engine-alive`` (d): the engine's task has not died, no task on the loop ended with an
  unhandled exception, no command raised.
* ``paused-after-fault`` (d): after a fault (a critical alert of one of :data:`FAULT_CODES`:
  a contained exception, a journal that refuses writes, an entry left unresolved), no entry
  order is sent until the operator resumed or acknowledged, a new engine started or the next
  daily reset (the most lenient reading: the engine may hold the pause longer). A journal
  outage's own alert ends with the engine's ``journal_restored`` too (its documented recovery:
  the queued writes landed, a reconciliation follows).
* ``unique-refs`` (e): no order ref is placed twice, across restarts.
* ``daily-loss-holds`` (f): once the daily max loss paused entries, entries stay paused and no
  entry is sent for the rest of that trading day, whatever the operator resumes or acknowledges.
* ``flat-after-flatten`` (g): :data:`FLAT_AFTER_S` clock seconds (link up, journal writable)
  after an accepted FlattenAll, with no resume since, the broker holds none of the engine's
  positions, but those of a condor the market asks more than its wing width for (never paid:
  it waits at the width, the capped backup working).
* ``pnl-bounds`` (h): a closed condor's realized P&L is within [-(max loss) - commissions,
  credit] (dollars).
* ``fills-journaled`` (i): no lost fill. Once the journal has taken writes and the link has been
  up for :data:`FILLS_AFTER_S` clock seconds together, every execution of the engine's orders
  at the broker (refs ``cd:...``) made at least that long ago is in the journal, whatever the
  disk, the link, a late report or a crash did meanwhile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from condordesk.domain.condor import CondorState
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import OrderRequest, OrderRole, parse_order_ref
from condordesk.domain.prices import COMBO_TICK, MULTIPLIER
from condordesk.engine import api
from condordesk.market.clock import ET
from condordesk.store.journal import CondorRecord, Journal

NAMES = (
    "exit-budget",
    "reversed",
    "one-protection",
    "price-grid",
    "engine-alive",
    "paused-after-fault",
    "unique-refs",
    "daily-loss-holds",
    "flat-after-flatten",
    "pnl-bounds",
    "fills-journaled",
)
PROTECTION_GRACE_S = 90.0
"""How long an open, held condor may be seen without a working stop group: a cycle (30 s) to
notice a missing stop plus a fill timeout (15 s) to verify a new pair, with room for one
retry. Counted only while the link is up."""
FAULT_CODES = frozenset(
    {"fault", "broker_event", "journal", "journal_failed", "journal_outage", "entry_unresolved"}
)
"""Alert codes that report a fault of the engine (critical alerts with other codes, e.g. a
stop that could not be placed, need not pause entries)."""
FLAT_AFTER_S = 600.0
"""How long after FlattenAll (link up) the broker must show no position of the engine's."""
FILLS_AFTER_S = 120.0
"""How long the journal must have taken writes, with the link up, before every execution of
the engine's orders must be journaled (the queued writes retry every few seconds; a restarted
engine reconciles the day's executions at once)."""
_STOPS = (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET)
_EXITS = (*_STOPS, OrderRole.CLOSE)
_OPERATOR_CANCELLED = "cancelled-by-operator"


@dataclass(frozen=True)
class Violation:
    """One invariant that did not hold, and why."""

    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


@dataclass(frozen=True)
class Sent:
    """An order request that left the engine (place or modify)."""

    ts: datetime
    kind: str  # place | modify
    request: OrderRequest


@dataclass
class World:
    """What the checker looks at: filled in by the driver at each step."""

    now: datetime
    session: tuple[datetime, datetime] | None  # today's (open, cut-off), if a session day
    link_up: bool
    sim: Any  # the SimBroker (its own state is the broker's truth)
    journal: Journal
    engine: Any  # the running Engine
    engine_failure: str | None  # why the engine's task ended, if it did unasked
    loop_errors: Sequence[str]  # unhandled exceptions on the loop, command failures
    events: Sequence[api.Event]  # every event of every engine so far, in order
    sent: Sequence[Sent]  # every order request so far, in order
    disk_full: bool = False  # the journal's disk refuses writes now


def request_width(request: OrderRequest) -> Decimal:
    """The widest wing of the condor an order's legs belong to (points)."""
    widths = []
    for right in (Right.PUT, Right.CALL):
        strikes = [leg.contract.strike for leg in request.legs if leg.contract.right is right]
        if len(strikes) >= 2:
            widths.append(max(strikes) - min(strikes))
    return max(widths, default=Decimal(0))


def price_problems(request: OrderRequest) -> list[str]:
    """What is wrong with the prices of ``request`` (empty when on the grid and in range)."""
    width = request_width(request)
    out = []
    for label, price in (("limit", request.limit_price), ("stop", request.stop_price)):
        if price is None:
            continue
        value = abs(price) if _role(request.order_ref) is OrderRole.ENTRY else price
        if value % COMBO_TICK != 0:
            out.append(f"{request.order_ref} {label} {price} is off the 0.05 grid")
        if not Decimal(0) < value <= width:
            out.append(f"{request.order_ref} {label} {price} is outside (0, {width}]")
    return out


def _role(ref: str) -> OrderRole | None:
    parsed = parse_order_ref(ref)
    return parsed[1] if parsed else None


def _condor_id(ref: str) -> str | None:
    parsed = parse_order_ref(ref)
    return parsed[0] if parsed else None


def closing_budget(working: Iterable[Any]) -> dict[tuple[OptionContract, int], int]:
    """Per (contract, +1 buy / -1 sell): what the working exit orders could still execute, an
    OCA group counting once (the largest of its orders, per contract)."""
    groups: dict[str, dict[tuple[OptionContract, int], int]] = defaultdict(dict)
    for order in working:
        if _role(order.request.order_ref) not in _EXITS:
            continue
        key = order.request.oca_group or f"solo:{order.order_id}"
        for contract, sign in order.legs:
            slot = (contract, sign)
            groups[key][slot] = max(groups[key].get(slot, 0), order.remaining)
    budget: dict[tuple[OptionContract, int], int] = defaultdict(int)
    for group in groups.values():
        for slot, qty in group.items():
            budget[slot] += qty
    return dict(budget)


def leg_directions(condors: Iterable[CondorRecord]) -> dict[OptionContract, int]:
    """The side (+1 long, -1 short) each contract has in the engine's condors; contracts two
    condors hold on opposite sides are left out (their net position says nothing)."""
    seen: dict[OptionContract, set[int]] = defaultdict(set)
    for rec in condors:
        for contract in rec.condor.contracts:
            seen[contract].add(rec.condor.position_sign(contract))
    return {c: next(iter(s)) for c, s in seen.items() if len(s) == 1}


@dataclass
class Checker:
    """Checks every invariant at each step; remembers what spans steps."""

    missing_since: dict[str, datetime] = field(default_factory=dict)
    flatten_at: datetime | None = None
    loss_day: date | None = None
    critical: str | None = None  # the unanswered critical alert, if any
    seen_events: int = 0
    seen_sent: int = 0
    refs: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)  # one report per closed condor / ref
    writable_since: datetime | None = None  # journal writable and link up since

    def restarted(self) -> None:
        """A new engine: grace timers start over (it reconciles and re-arms on start), and
        its pauses are its own."""
        self.missing_since.clear()
        self.critical = None
        self.writable_since = None  # it reconciles the day's executions on start

    def link_restored(self, now: datetime) -> None:
        """The link came back: the flatten wait and the fills' wait count from now (fills made
        while it was down reach the engine only now)."""
        self.missing_since.clear()
        if self.flatten_at is not None:
            self.flatten_at = max(self.flatten_at, now)
        self.writable_since = now

    def check(self, w: World) -> list[Violation]:
        """Every violation at this step."""
        out: list[Violation] = []
        out += self._events(w)
        out += self._sent(w)
        out += self._budget(w)
        out += self._protection(w)
        out += self._alive(w)
        out += self._loss_pause(w)
        out += self._flat(w)
        out += self._pnl(w)
        out += self._fills(w)
        return out

    # -- event-driven: faults, daily loss, flatten ------------------------------------------

    def _events(self, w: World) -> list[Violation]:
        out = []
        for event in w.events[self.seen_events :]:
            out += self._event(event, w)
        self.seen_events = len(w.events)
        return out

    def _event(self, e: api.Event, w: World) -> list[Violation]:
        if isinstance(e, api.AlertRaised) and e.level == "critical" and e.code in FAULT_CODES:
            self.critical = self.critical or f"{e.code}: {e.message}"
        elif isinstance(e, api.AlertRaised) and e.code == "journal_restored":
            # the engine's own recovery: every queued write landed and a reconcile is due
            if self.critical is not None and self.critical.startswith(
                ("journal: ", "journal_outage: ")
            ):
                self.critical = None
        elif isinstance(e, api.EntriesPaused) and "daily max loss" in e.reason:
            self.loss_day = _day(e.ts or w.now)
        elif isinstance(e, api.DailyReset):
            self.loss_day = None if self.loss_day != e.day else self.loss_day
            self.flatten_at = self.critical = None
        elif isinstance(e, api.CommandReceived) and e.accepted:
            if e.command == "FlattenAll":
                self.flatten_at = e.ts or w.now
            elif e.command in ("ResumeEntries", "AcknowledgeAlerts"):
                self.critical = None
                self.flatten_at = None
        elif isinstance(e, api.OrderSubmitted) and e.role == OrderRole.ENTRY.value:
            return self._entry_sent(e, w)
        return []

    def _entry_sent(self, e: api.OrderSubmitted, w: World) -> list[Violation]:
        out = []
        if self.critical is not None:
            out.append(
                Violation(
                    "paused-after-fault",
                    f"entry {e.order_ref} sent after the critical alert {self.critical!r} "
                    "with no resume or acknowledge since",
                )
            )
        if self.loss_day is not None and _day(e.ts or w.now) == self.loss_day:
            out.append(
                Violation(
                    "daily-loss-holds",
                    f"entry {e.order_ref} sent on {self.loss_day}, the day the daily max loss "
                    "paused entries",
                )
            )
        return out

    # -- what was sent ------------------------------------------------------------------------

    def _sent(self, w: World) -> list[Violation]:
        out = []
        for s in w.sent[self.seen_sent :]:
            out += [Violation("price-grid", p) for p in price_problems(s.request)]
            if s.kind == "place":
                ref = s.request.order_ref
                if ref in self.refs:
                    out.append(Violation("unique-refs", f"{ref} placed twice"))
                self.refs.add(ref)
        self.seen_sent = len(w.sent)
        return out

    # -- the broker's truth ---------------------------------------------------------------------

    def _budget(self, w: World) -> list[Violation]:
        out = []
        ledger = w.sim._ledger
        directions = leg_directions(w.journal.condors())
        for (contract, sign), qty in closing_budget(w.sim._working.values()).items():
            if contract not in directions:
                continue  # two condors hold it on opposite sides: the net says nothing
            held = ledger.quantity(contract)
            room = max(0, -held) if sign > 0 else max(0, held)
            if qty > room:
                side = "buy" if sign > 0 else "sell"
                out.append(
                    Violation(
                        "exit-budget",
                        f"working exits could {side} {qty} {contract.symbol} but only {room} "
                        f"is held that way (position {held})",
                    )
                )
        for position in ledger.positions():
            want = directions.get(position.contract)
            if want is not None and position.quantity * want < 0:
                out.append(
                    Violation(
                        "reversed",
                        f"{position.contract.symbol} is {position.quantity}, the condor leg is "
                        f"{'long' if want > 0 else 'short'}",
                    )
                )
        return out

    def _protection(self, w: World) -> list[Violation]:
        in_session = w.session is not None and w.session[0] <= w.now < w.session[1]
        if not (w.link_up and in_session):
            self.missing_since.clear()
            return []
        groups: dict[str, set[str]] = defaultdict(set)
        for order in w.sim._working.values():
            ref = order.request.order_ref
            if _role(ref) in _STOPS and (cid := _condor_id(ref)) is not None:
                groups[cid].add(order.request.oca_group or f"solo:{order.order_id}")
        out = []
        still: set[str] = set()
        for rec in w.journal.condors(states=[CondorState.OPEN]):
            if not _held(w.sim._ledger, rec):
                continue
            mine = groups.get(rec.id, set())
            if len(mine) > 1:
                out.append(
                    Violation("one-protection", f"condor {rec.id} has {len(mine)} stop groups")
                )
            elif not mine and not self._excused(w, rec):
                still.add(rec.id)
                since = self.missing_since.setdefault(rec.id, w.now)
                if w.now - since >= timedelta(seconds=PROTECTION_GRACE_S):
                    out.append(
                        Violation(
                            "one-protection",
                            f"condor {rec.id} held with no working stop for "
                            f"{(w.now - since).total_seconds():.0f}s",
                        )
                    )
        self.missing_since = {k: v for k, v in self.missing_since.items() if k in still}
        return out

    def _excused(self, w: World, rec: CondorRecord) -> bool:
        stops = w.journal.stops(rec.id)
        if stops and stops[-1].state == _OPERATOR_CANCELLED:
            return True
        live = w.engine.desk.live.get(rec.id)
        if live is None:
            return False
        # the operator's cancel is journaled later when the disk is full: the engine knows it
        return (
            live.state is CondorState.CLOSING
            or live.exiting
            or (live.stop_state == _OPERATOR_CANCELLED)
        )

    def _alive(self, w: World) -> list[Violation]:
        out = [Violation("engine-alive", w.engine_failure)] if w.engine_failure else []
        return out + [Violation("engine-alive", e) for e in w.loop_errors]

    def _loss_pause(self, w: World) -> list[Violation]:
        if self.loss_day is None or _day(w.now) != self.loss_day:
            return []
        if w.engine.paused_reason:
            return []
        return [
            Violation(
                "daily-loss-holds", f"entries resumed on {self.loss_day} after the daily max loss"
            )
        ]

    def _flat(self, w: World) -> list[Violation]:
        if self.flatten_at is None:
            return []
        if not w.link_up or w.disk_full:  # no close can leave: the wait counts from after
            self.flatten_at = max(self.flatten_at, w.now)
            return []
        if w.now - self.flatten_at < timedelta(seconds=FLAT_AFTER_S):
            return []
        condors = w.journal.condors()
        ours = set(leg_directions(condors)) - _beyond_the_width(w, condors)
        held = [p for p in w.sim._ledger.positions() if p.contract in ours]
        if not held:
            return []
        what = ", ".join(f"{p.contract.symbol} {p.quantity}" for p in held)
        waited = (w.now - self.flatten_at).total_seconds()
        return [Violation("flat-after-flatten", f"{waited:.0f}s after FlattenAll: {what}")]

    def _pnl(self, w: World) -> list[Violation]:
        out = []
        for rec in w.journal.condors(states=[CondorState.CLOSED]):
            if rec.credit is None or rec.realized_pnl is None or rec.id in self.reported:
                continue
            units = Decimal(rec.condor.quantity)
            worst = -rec.condor.max_loss_points(rec.credit) * MULTIPLIER * units - rec.commissions
            best = rec.credit * MULTIPLIER * units
            if not worst <= rec.realized_pnl <= best:
                self.reported.add(rec.id)
                out.append(
                    Violation(
                        "pnl-bounds",
                        f"condor {rec.id} ({rec.exit_reason}) realized {rec.realized_pnl}, "
                        f"outside [{worst}, {best}]",
                    )
                )
        return out

    def _fills(self, w: World) -> list[Violation]:
        if w.disk_full or not w.link_up:
            self.writable_since = None
            return []
        self.writable_since = self.writable_since or w.now
        if w.now - self.writable_since < timedelta(seconds=FILLS_AFTER_S):
            return []
        journaled = {f.exec_id for f in w.journal.fills()}
        due = w.now - timedelta(seconds=FILLS_AFTER_S)  # a fill has this long to be journaled
        lost = [
            e
            for e, _report in w.sim._ledger._executions
            if e.ts <= due
            and e.order_ref.startswith("cd:")
            and e.exec_id not in journaled
            and e.exec_id not in self.reported
        ]
        self.reported.update(e.exec_id for e in lost)
        return [
            Violation(
                "fills-journaled",
                f"{e.exec_id} ({e.order_ref} {e.side.value} {e.quantity} {e.contract.symbol} "
                f"at {e.price}, {e.ts:%H:%M:%S}) is not in the journal "
                f"{(w.now - e.ts).total_seconds():.0f}s after it filled (the journal and the "
                f"link were up for the last {(w.now - self.writable_since).total_seconds():.0f}s)",
            )
            for e in lost
        ]


def _beyond_the_width(w: World, condors: Iterable[CondorRecord]) -> set[OptionContract]:
    """The contracts of held condors the market asks more than their wing width to buy back:
    no close is sent above the width (no condor is worth more at expiry), so a flatten waits
    there, its capped backup working, and reports what is still held."""
    out: set[OptionContract] = set()
    for rec in condors:
        if rec.state not in (CondorState.OPEN, CondorState.CLOSING):
            continue
        c = rec.condor
        try:
            q = {k: w.sim._market.quote(k, w.now) for k in c.contracts}
        except KeyError:  # no session built at this time
            continue
        lp, sp, sc, lc = c.contracts
        natural = q[sp].ask + q[sc].ask - q[lp].bid - q[lc].bid
        if natural > c.max_value:
            out.update(c.contracts)
    return out


def _held(ledger: Any, rec: CondorRecord) -> bool:
    """True while the broker holds a short leg of the condor short."""
    _lp, sp, sc, _lc = rec.condor.contracts
    return ledger.quantity(sp) < 0 or ledger.quantity(sc) < 0


def _day(ts: datetime) -> date:
    return ts.astimezone(ET).date()
