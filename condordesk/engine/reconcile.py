"""Reconciliation: the journal against the broker, after a restart, a reconnect, and
periodically during the session.

The broker is the truth for what is held and working; the journal is the truth for what the
engine meant. :func:`analyze` compares them without changing anything and says what it found
and what it would do (:class:`Plan`); :meth:`Reconciler.run` carries the plan out when asked
to repair. Findings are ``critical`` when nothing explains them (a position no condor owns, a
partial condor, a quantity mismatch): the engine then pauses entries until the operator
acknowledges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from condordesk.domain.combo import is_capped_backup
from condordesk.domain.condor import CondorState, ExitReason, IronCondor
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    CommissionReport,
    Execution,
    OrderAction,
    OrderReport,
    OrderRole,
    OrderStatus,
    Position,
    order_ref,
    parse_order_ref,
)
from condordesk.engine.book import generations, held_units
from condordesk.store.journal import CondorRecord, Journal, OrderRecord, StopRecord

Severity = Literal["info", "warning", "critical"]
_STOPS = (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET)
OPERATOR_CANCELLED = "cancelled-by-operator"
"""Stop-pair state in the journal when an operator chose to leave a condor unprotected."""
PROTECTED = ("placed", "verified", OPERATOR_CANCELLED)
"""A live condor's stop states that need no re-arming (whole, or left stopless on purpose)."""


def left_stopless(journal: Journal, condor_id: str) -> bool:
    """True when the journal's last word on the condor's stops is an operator's cancel."""
    stops = journal.stops(condor_id)
    return bool(stops) and stops[-1].state == OPERATOR_CANCELLED


_EXIT_BY_ROLE = {
    OrderRole.STOP_LIMIT: ExitReason.STOP_LIMIT,
    OrderRole.STOP_MARKET: ExitReason.STOP_MARKET,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """Something reconciliation noticed, with what was (or should be) done about it."""

    code: str
    severity: Severity
    message: str
    action: str
    condor_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``reconcile --json``."""
        return {
            "code": self.code,
            "severity": self.severity,
            "condor_id": self.condor_id,
            "message": self.message,
            "action": self.action,
        }


@dataclass(frozen=True, slots=True)
class CondorCheck:
    """An open condor as reconciliation saw it."""

    id: str
    state: str
    condor: IronCondor
    stop_ok: bool
    stop_order_ids: list[int]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``reconcile --json``."""
        legs = [
            {
                "symbol": c.symbol,
                "strike": str(c.strike),
                "right": c.right.value,
                "expiry": c.expiry.isoformat(),
                "position": self.condor.position_sign(c) * self.condor.quantity,
            }
            for c in self.condor.contracts
        ]
        return {
            "id": self.id,
            "state": self.state,
            "legs": legs,
            "stop_ok": self.stop_ok,
            "stop_order_ids": self.stop_order_ids,
        }


@dataclass(frozen=True, slots=True)
class BrokerView:
    """What the broker says, read once per reconciliation."""

    positions: dict[OptionContract, int]
    open_orders: list[OrderReport]
    executions: list[tuple[Execution, CommissionReport | None]]

    @classmethod
    def of(
        cls,
        positions: Iterable[Position],
        open_orders: Iterable[OrderReport],
        executions: Iterable[tuple[Execution, CommissionReport | None]],
    ) -> BrokerView:
        """Build from the broker's answers."""
        held = {p.contract: p.quantity for p in positions if p.quantity}
        return cls(held, list(open_orders), list(executions))

    def working(self, ref: str) -> list[OrderReport]:
        """Orders working at the broker under ``ref``."""
        return [o for o in self.open_orders if o.order_ref == ref and not o.status.is_done]


# -- actions the plan may hold ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolveOrder:
    """Journal what became of an order (an intent never acknowledged, or a stale working one)."""

    order_ref: str
    status: str
    order_id: int | None = None
    perm_id: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OpenCondor:
    """The entry filled completely: the condor is open (stops follow)."""

    condor_id: str


@dataclass(frozen=True, slots=True)
class EntryFailed:
    """The entry never filled and nothing is working: the condor is cancelled."""

    condor_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CloseCondorRecord:
    """The condor is flat at the broker: journal the exit."""

    condor_id: str
    reason: ExitReason
    settlement: Decimal | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class SettlementPending:
    """The condor expired but its settlement price is unknown: it waits, nothing is booked."""

    condor_id: str


@dataclass(frozen=True, slots=True)
class ReopenCondor:
    """A closing condor whose close did not happen is open again (its stops still work)."""

    condor_id: str


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an order of ours that should not be working."""

    order_id: int
    order_ref: str


@dataclass(frozen=True, slots=True)
class ArmStops:
    """Replace a missing, partial or wrong stop pair."""

    condor_id: str


Action = (
    ResolveOrder
    | OpenCondor
    | EntryFailed
    | CloseCondorRecord
    | SettlementPending
    | ReopenCondor
    | CancelOrder
    | ArmStops
)


@dataclass
class Plan:
    """The outcome of :func:`analyze`."""

    findings: list[Finding] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    checks: list[CondorCheck] = field(default_factory=list)

    def note(
        self, code: str, severity: Severity, message: str, action: str, condor_id: str | None = None
    ) -> None:
        """Add a finding."""
        self.findings.append(Finding(code, severity, message, action, condor_id))

    @property
    def unexplained(self) -> list[Finding]:
        """The findings that must stop new entries until acknowledged."""
        return [f for f in self.findings if f.severity == "critical"]

    def to_json(self) -> dict[str, Any]:
        """The ``reconcile --json`` document."""
        return {
            "open_condors": [c.to_json() for c in self.checks],
            "findings": [f.to_json() for f in self.findings],
        }


# -- analysis -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fill:
    contract: OptionContract
    side: OrderAction
    quantity: int
    order_ref: str


def _net(fills: Iterable[_Fill]) -> dict[OptionContract, int]:
    net: dict[OptionContract, int] = defaultdict(int)
    for f in fills:
        net[f.contract] += f.quantity if f.side is OrderAction.BUY else -f.quantity
    return {c: q for c, q in net.items() if q}


def _expected(condor: IronCondor) -> dict[OptionContract, int]:
    return {c: condor.position_sign(c) * condor.quantity for c in condor.contracts}


@dataclass
class _Context:
    journal: Journal
    broker: BrokerView
    today: date
    fills: dict[str, list[_Fill]]
    plan: Plan
    watching: bool = False
    expired: set[str] = field(default_factory=set)  # condors settled (or pending) in this plan
    in_flight: frozenset[str] = frozenset()  # refs whose send awaits the broker's answer
    nets: dict[str, dict[OptionContract, int]] = field(default_factory=dict)
    working_stops: dict[str, list[OrderReport]] | None = None

    def orders(self, condor_id: str) -> list[OrderRecord]:
        return self.journal.orders(condor_id)

    def net(self, condor_id: str) -> dict[OptionContract, int]:
        """The condor's position by its fills (worked out once per analysis; not to change)."""
        net = self.nets.get(condor_id)
        if net is None:
            net = self.nets[condor_id] = _net(self.fills.get(condor_id, []))
        return net

    def stop_orders(self, condor_id: str) -> list[OrderReport]:
        """Our stop orders working at the broker for the condor (grouped once per analysis)."""
        if self.working_stops is None:
            self.working_stops = defaultdict(list)
            for o in self.broker.open_orders:
                p = parse_order_ref(o.order_ref)
                if p and p[1] in _STOPS and not o.status.is_done:
                    self.working_stops[p[0]].append(o)
        return self.working_stops.get(condor_id, [])


def _collect_fills(
    journal: Journal, broker: BrokerView, live: Iterable[str]
) -> dict[str, list[_Fill]]:
    """Every fill of the live condors: the journal's, plus broker executions it has not seen."""
    by_condor: dict[str, list[_Fill]] = defaultdict(list)
    seen: set[str] = set()
    wanted = set(live)
    for cid, recs in journal.fills_of(wanted).items():
        for rec in recs:
            seen.add(rec.exec_id)
            e = rec.execution
            by_condor[cid].append(_Fill(e.contract, e.side, e.quantity, e.order_ref))
    for e, _ in broker.executions:
        if e.exec_id in seen:
            continue
        parsed = parse_order_ref(e.order_ref)
        if parsed and parsed[0] in wanted:
            by_condor[parsed[0]].append(_Fill(e.contract, e.side, e.quantity, e.order_ref))
    return by_condor


def analyze(
    journal: Journal,
    broker: BrokerView,
    today: date,
    settlements: dict[date, Decimal | None],
    *,
    watching: bool = False,
    in_flight: Iterable[str] = (),
) -> Plan:
    """Compare the journal with the broker. Pure with respect to the broker; reads the journal.

    ``watching`` says the engine has been following the broker all along (a periodic check),
    so an exit found filled is news of the last moments, not something that happened while it
    was away. ``in_flight`` are the refs of orders whose send still awaits the broker's answer
    (or got it after the broker was read): their condors are busy and left alone (no order
    resolved, no stop re-armed, nothing cancelled, no position judged) until the next check."""
    live = journal.condors(states=[CondorState.WORKING, CondorState.OPEN, CondorState.CLOSING])
    flying = frozenset(in_flight)
    busy = {p[0] for ref in flying if (p := parse_order_ref(ref))}
    fills = _collect_fills(journal, broker, (r.id for r in live))
    ctx = _Context(journal, broker, today, fills, Plan(), watching, in_flight=flying)
    _resolve_orders(ctx)
    idle = [r for r in live if r.id not in busy]
    flat_now: set[str] = set()
    for rec in idle:
        if _condor_state(ctx, rec, settlements):
            flat_now.add(rec.id)
    flat_now |= _positions(
        ctx, [r for r in idle if r.id not in flat_now], [r for r in live if r.id in busy]
    )
    for rec in idle:
        if rec.id not in flat_now and rec.state is CondorState.OPEN:
            _stale_closes(ctx, rec)
            _stops(ctx, rec)
    _stray_orders(ctx, {r.id for r in live} - flat_now)
    return ctx.plan


def _resolve_orders(ctx: _Context) -> None:
    """Intents never acknowledged, and orders the journal thinks are working: ask the broker."""
    for rec in ctx.journal.orders(working_only=True):
        if rec.order_ref in ctx.in_flight:
            continue  # its send awaits the broker's answer: the sender settles it
        at_broker = ctx.broker.working(rec.order_ref) or [
            o
            for o in ctx.broker.open_orders  # a ref lost on the way: match the perm id
            if rec.perm_id and o.perm_id == rec.perm_id and not o.status.is_done
        ]
        filled = sum(
            f.quantity for f in ctx.fills.get(rec.condor_id, []) if f.order_ref == rec.order_ref
        )
        if at_broker:
            o = at_broker[0]
            if rec.status == "intent":
                ctx.plan.actions.append(
                    ResolveOrder(rec.order_ref, OrderStatus.WORKING.value, o.order_id, o.perm_id)
                )
            continue
        if filled:
            ctx.plan.actions.append(
                ResolveOrder(
                    rec.order_ref,
                    OrderStatus.FILLED.value,
                    reason="filled (found in the broker's executions)",
                )
            )
            continue
        why = (
            "never reached the broker (no order or execution found)"
            if rec.status == "intent"
            else "no longer working at the broker"
        )
        ctx.plan.actions.append(
            ResolveOrder(rec.order_ref, OrderStatus.CANCELLED.value, reason=why)
        )
        if rec.status == "intent":
            ctx.plan.note(
                "intent_not_sent",
                "info",
                f"{rec.order_ref} {why}",
                "journaled as cancelled",
                rec.condor_id,
            )


def _condor_state(
    ctx: _Context, rec: CondorRecord, settlements: dict[date, Decimal | None]
) -> bool:
    """Settle the condor's own state from its fills. True when it is (now) flat and done."""
    fills = ctx.fills.get(rec.id, [])
    net = ctx.net(rec.id)
    entry_ref = order_ref(rec.id, OrderRole.ENTRY)
    entry_qty = _net(f for f in fills if f.order_ref == entry_ref)
    if rec.state is CondorState.WORKING:
        return _working_condor(ctx, rec, entry_qty, entry_ref)
    if not net:
        reason = _exit_reason(rec, fills)
        ctx.plan.actions.append(CloseCondorRecord(rec.id, reason))
        if ctx.watching:  # the fills came in just ahead of the exit order's status
            ctx.plan.note(
                "exit_filled",
                "info",
                f"condor {rec.id} exit filled ({reason.value})",
                "journaled the exit from the broker's fills",
                rec.id,
            )
            return True
        ctx.plan.note(
            "closed_while_away",
            "warning",
            f"condor {rec.id} was closed ({reason.value}) while the engine was not watching",
            "journaled the exit from the broker's fills",
            rec.id,
        )
        return True
    held = {c: ctx.broker.positions.get(c, 0) for c in rec.condor.contracts}
    pending = rec.state is CondorState.CLOSING and rec.exit_reason is ExitReason.EXPIRED
    # never settled on a price alone while the broker holds its legs: a daily bar read with a
    # wrong clock is today's moving one (the reconcile command runs on the local clock)
    if pending or (rec.condor.expiry < ctx.today and not any(held.values())):
        _expired(ctx, rec, settlements.get(rec.condor.expiry), pending)
        return True
    if rec.state is CondorState.CLOSING:
        _closing_condor(ctx, rec)
    return False


def _expired(ctx: _Context, rec: CondorRecord, price: Decimal | None, pending: bool) -> None:
    """An expired condor: journaled as expired at the settlement value when the price is
    known, booked on its expiry day; otherwise settlement pending (never closed at a guess)."""
    ctx.expired.add(rec.id)
    if price is not None:
        value = rec.condor.value_at_expiry(price)
        ctx.plan.actions.append(CloseCondorRecord(rec.id, ExitReason.EXPIRED, settlement=value))
        ctx.plan.note(
            "settled_overnight",
            "info",
            f"condor {rec.id} expired {rec.condor.expiry} and was cash-settled at SPX {price}",
            f"journaled as expired, booked on {rec.condor.expiry}",
            rec.id,
        )
        return
    ctx.plan.actions.append(SettlementPending(rec.id))
    ctx.plan.note(
        "settlement_pending",
        "warning" if pending else "critical",
        f"condor {rec.id} expired {rec.condor.expiry}; its settlement price is not known yet",
        "left settlement pending (nothing booked); asking again at each reconciliation",
        rec.id,
    )


def _working_condor(
    ctx: _Context, rec: CondorRecord, entry_qty: dict[OptionContract, int], entry_ref: str
) -> bool:
    if entry_qty == _expected(rec.condor):
        ctx.plan.actions.append(OpenCondor(rec.id))
        ctx.plan.note(
            "entry_filled_while_away",
            "warning",
            f"condor {rec.id}: its entry filled while the engine was not watching",
            "opened it and placed its stops",
            rec.id,
        )
        return False
    working = ctx.broker.working(entry_ref)
    if not entry_qty and working:
        for o in working:
            ctx.plan.actions.append(CancelOrder(o.order_id, o.order_ref))
        ctx.plan.note(
            "entry_still_working",
            "warning",
            f"condor {rec.id}: its entry order is still working after the fill timeout",
            "cancelled it",
            rec.id,
        )
        return False
    if not entry_qty:
        ctx.plan.actions.append(
            EntryFailed(rec.id, "entry not filled (found nothing at the broker)")
        )
        return True
    return False  # a partial entry: the position check reports it


def _exit_reason(rec: CondorRecord, fills: Sequence[_Fill]) -> ExitReason:
    for f in fills:
        parsed = parse_order_ref(f.order_ref)
        if parsed and parsed[1] in _EXIT_BY_ROLE:
            return _EXIT_BY_ROLE[parsed[1]]
    if any((p := parse_order_ref(f.order_ref)) and p[1] is OrderRole.CLOSE for f in fills):
        return rec.exit_reason or ExitReason.MANUAL
    return ExitReason.MANUAL


def _closing_condor(ctx: _Context, rec: CondorRecord) -> None:
    closes = [o for o in ctx.orders(rec.id) if o.role is OrderRole.CLOSE]
    working = [w for o in closes for w in ctx.broker.working(o.order_ref)]
    for w in working:
        ctx.plan.actions.append(CancelOrder(w.order_id, w.order_ref))
    ctx.plan.actions.append(ReopenCondor(rec.id))
    ctx.plan.note(
        "close_interrupted",
        "warning",
        f"condor {rec.id} was being closed when the engine stopped",
        ("cancelled the working close; " if working else "")
        + "open again with its stops; the exit rules will close it",
        rec.id,
    )


def _stale_closes(ctx: _Context, rec: CondorRecord) -> None:
    """An open condor's close still working at the broker: no exit flow follows it any more
    (its cancel was lost with the link, say); it would take the stops' exit budget and fill at
    a price nobody watches. Cancelled (engine/stale.py); a fill meanwhile is a normal exit."""
    prefix = order_ref(rec.id, OrderRole.CLOSE)
    for o in ctx.broker.open_orders:
        if o.status.is_done or not o.order_ref.startswith(prefix):
            continue
        ctx.plan.actions.append(CancelOrder(o.order_id, o.order_ref))
        ctx.plan.note(
            "stale_close",
            "warning",
            f"condor {rec.id} is open but its close {o.order_ref} still works at the broker",
            "cancelled it",
            rec.id,
        )


def _positions(
    ctx: _Context, live: Sequence[CondorRecord], busy: Sequence[CondorRecord] = ()
) -> set[str]:
    """Per contract: what the live condors hold by the journal against what the broker holds.
    Condors may share a contract (one's short put is another's long put), so the comparison is
    on totals; differences are then put down to the condors whose legs they match. Returns the
    ids of condors found flat at the broker (closed by hand). The contracts of ``busy`` condors
    (an order of theirs in flight) are not judged this time."""
    own = {rec.id: ctx.net(rec.id) for rec in live}
    diff: dict[OptionContract, int] = defaultdict(int)
    for held in own.values():
        for contract, qty in held.items():
            diff[contract] -= qty
    for contract, qty in ctx.broker.positions.items():
        diff[contract] += qty
    for rec in busy:
        for contract in rec.condor.contracts:
            diff[contract] = 0
    gone: set[str] = set()
    for rec in live:
        legs = own[rec.id]
        missing = [c for c, q in legs.items() if q and diff.get(c, 0) == -q]
        if not missing:
            continue
        for c in missing:
            diff[c] = 0
        if len(missing) == len(legs):
            gone.add(rec.id)
            ctx.plan.actions.append(
                CloseCondorRecord(rec.id, ExitReason.MANUAL, note="closed at the broker by hand")
            )
            ctx.plan.note(
                "closed_by_hand",
                "warning",
                f"condor {rec.id} is no longer held at the broker (closed outside condordesk)",
                "journaled as closed by hand; its stops "
                "are cancelled; its P&L leaves out that close (see the account statement)",
                rec.id,
            )
        else:
            _partial(ctx, rec, legs, missing)
    _unexplained(ctx, diff, own)
    return gone


def _partial(
    ctx: _Context, rec: CondorRecord, legs: dict[OptionContract, int], missing: list[OptionContract]
) -> None:
    kept = [c for c in legs if c not in missing]
    only_longs = all(legs[c] > 0 for c in kept)
    what = "orphaned long legs" if only_longs else "a partial condor"
    advice = (
        "the remaining longs carry no risk beyond their cost: sell them or let them expire"
        if only_longs
        else "a short leg is held without its wing: close it at the broker now"
    )
    ctx.plan.note(
        "orphaned_longs" if only_longs else "partial_condor",
        "critical",
        f"condor {rec.id} is {what}: held {', '.join(c.symbol for c in kept)}; gone "
        f"{', '.join(c.symbol for c in missing)}",
        f"entries paused; {advice}",
        rec.id,
    )


def _unexplained(
    ctx: _Context, diff: dict[OptionContract, int], own: dict[str, dict[OptionContract, int]]
) -> None:
    for contract in sorted(c for c, d in diff.items() if d):
        owners = [cid for cid, legs in own.items() if legs.get(contract)]
        have = ctx.broker.positions.get(contract, 0)
        if not owners and _settled_leftover(ctx, contract):
            ctx.plan.note(
                "expired_position",
                "info",
                f"the broker still lists {have:+d} {contract.symbol}, which expired "
                f"{contract.expiry} and is booked as cash-settled",
                "nothing to do: the broker removes it with its overnight settlement",
            )
        elif not owners:
            ctx.plan.note(
                "unknown_position",
                "critical",
                f"the broker holds {have:+d} {contract.symbol} that no condor of this journal owns",
                "entries paused; close it at the broker or acknowledge it if it is yours",
            )
        else:
            ctx.plan.note(
                "quantity_mismatch",
                "critical",
                f"{contract.symbol}: condor(s) "
                f"{', '.join(owners)} should hold {have - diff[contract]:+d}, the broker holds "
                f"{have:+d}",
                "entries paused; compare with the account and close the difference at the broker",
                owners[0],
            )


def _settled_leftover(ctx: _Context, contract: OptionContract) -> bool:
    """True when ``contract`` has expired and belongs to a condor journaled as settled (or
    settled, or left pending, by this reconciliation): after the cut-off IB lists expired
    options until its overnight processing, which is no news."""
    if contract.expiry > ctx.today:
        return False
    return any(
        contract in rec.condor.contracts
        and (
            rec.id in ctx.expired
            or (rec.state is CondorState.CLOSED and rec.exit_reason is ExitReason.EXPIRED)
        )
        for rec in ctx.journal.condors(day=contract.expiry)
    )


def _stops(ctx: _Context, rec: CondorRecord) -> None:
    """The stop invariant: exactly one working OCA pair with the right quantity (the units
    still held) and prices, its backup capped at the condor's maximum value."""
    stops = ctx.journal.stops(rec.id)
    current = stops[-1] if stops else None
    ours = ctx.stop_orders(rec.id)
    ok = False
    units = held_units(ctx.net(rec.id), rec.condor)  # fewer after a partial exit
    if current is not None:
        pair = {
            o.order_ref: o for o in ours if o.order_ref in (current.limit_ref, current.market_ref)
        }
        lim, mkt = pair.get(current.limit_ref), pair.get(current.market_ref)
        ok = (
            lim is not None
            and mkt is not None
            and lim.request is not None
            and mkt.request is not None
            and lim.remaining == units == mkt.remaining
            and lim.request.stop_price == current.trigger
            and lim.request.limit_price == current.limit_price
            and mkt.request.stop_price == current.backup_trigger
            and is_capped_backup(rec.condor, mkt.request)  # never a backup that pays above it
        )
    extra = [
        o
        for o in ours
        if current is None or o.order_ref not in (current.limit_ref, current.market_ref)
    ]
    newer = [] if ok else _newer_than_journal(ctx, rec.id, stops, extra)
    extra = [o for o in extra if o not in newer]
    for o in extra:
        ctx.plan.actions.append(CancelOrder(o.order_id, o.order_ref))
        ctx.plan.note(
            "extra_stop",
            "warning",
            f"condor {rec.id}: stop {o.order_ref} is working beside the current pair",
            "cancelled it",
            rec.id,
        )
    if not ok and current is not None and current.state == OPERATOR_CANCELLED:
        ctx.plan.note(
            "unprotected",
            "warning",
            f"condor {rec.id} has no stops: an operator cancelled them",
            "left as it is (arm its stops to protect it)",
            rec.id,
        )
    elif not ok:
        ctx.plan.actions.append(ArmStops(rec.id))
        ctx.plan.note(
            "stop_missing",
            "warning",
            f"condor {rec.id} had no complete, correct stop pair at the broker",
            "re-armed its stops",
            rec.id,
        )
    ctx.plan.checks.append(
        CondorCheck(
            rec.id, rec.state.value, rec.condor, ok, [o.order_id for o in ours if o not in extra]
        )
    )


def _newer_than_journal(
    ctx: _Context, condor_id: str, stops: list[StopRecord], working: list[OrderReport]
) -> list[OrderReport]:
    """Our stop orders for the condor of a newer generation than any the journal knows: a
    pair placed during a journal outage whose queued writes were lost (a restart). They are
    the condor's protection, not strays: the re-arm adopts and journals a whole pair."""
    known, _ = generations(
        [o.order_ref for o in ctx.orders(condor_id)] + [s.limit_ref for s in stops]
    )
    newer = [o for o in working if (p := parse_order_ref(o.order_ref)) and p[2] > known]
    if newer:
        ctx.plan.note(
            "stop_unjournaled",
            "warning",
            f"condor {condor_id}: stop orders {', '.join(o.order_ref for o in newer)} work at "
            "the broker but not in the journal (placed during a journal outage)",
            "kept as its protection, journaled by the re-arm",
            condor_id,
        )
    return newer


def _stray_orders(ctx: _Context, live_ids: set[str]) -> None:
    """Our orders working at the broker for condors that are no longer live."""
    for o in ctx.broker.open_orders:
        parsed = parse_order_ref(o.order_ref)
        if parsed is None or parsed[0] in live_ids or o.status.is_done:
            continue
        if o.order_ref in ctx.in_flight:
            continue
        known = ctx.journal.condor(parsed[0])
        what = "a closed condor" if known else "a condor this journal does not know"
        ctx.plan.actions.append(CancelOrder(o.order_id, o.order_ref))
        ctx.plan.note(
            "stray_order",
            "warning",
            f"{o.order_ref} is working for {what}",
            "cancelled it",
            parsed[0],
        )
