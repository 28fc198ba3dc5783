"""Carries out a reconciliation plan through the order desk (journal and broker writes)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from loguru import logger

from condordesk.broker.base import Broker
from condordesk.domain.condor import CondorState
from condordesk.engine.book import LiveCondor, generations
from condordesk.engine.bus import EventBus
from condordesk.engine.desk import Desk
from condordesk.engine.money import settle
from condordesk.engine.reconcile import (
    ArmStops,
    BrokerView,
    CancelOrder,
    CloseCondorRecord,
    EntryFailed,
    OpenCondor,
    Plan,
    ReopenCondor,
    ResolveOrder,
    SettlementPending,
    analyze,
    left_stopless,
)
from condordesk.market.clock import Clock
from condordesk.risk.rules import RiskRules
from condordesk.store.journal import Journal

_LIVE = [CondorState.WORKING, CondorState.OPEN, CondorState.CLOSING]


@dataclass
class PlanMemo:
    """The last analysis and what it was made of. :func:`analyze` depends on nothing but the
    journal's contents, the broker's answers, the day, the settlement prices, ``watching`` and
    the refs in flight: when the journal has not changed since (no row written by this engine,
    nothing committed by another process: :meth:`Journal.version`) and the broker answers the
    same, the plan is the same, and is not worked out again. The broker is still read and
    compared every time."""

    key: tuple[Hashable, ...] | None = None
    view: BrokerView | None = None
    plan: Plan = field(default_factory=Plan)
    reused: int = 0
    """How many analyses were the last one again (for tests and benchmarks)."""


def _copy(plan: Plan) -> Plan:
    return Plan(list(plan.findings), list(plan.actions), list(plan.checks))


async def read_broker(broker: Broker) -> BrokerView:
    """Ask the broker for positions, working orders and today's executions."""
    positions = await broker.positions()
    orders = await broker.open_orders()
    executions = await broker.executions()
    return BrokerView.of(positions, orders, executions)


async def plan_for(
    broker: Broker,
    journal: Journal,
    today: date,
    *,
    watching: bool = False,
    in_flight: Iterable[str] = (),
    memo: PlanMemo | None = None,
) -> Plan:
    """Read the broker and analyze (changes nothing); see :func:`analyze` for ``watching``
    and ``in_flight`` (read when analyzing: a set that grows while the broker is read counts),
    and :class:`PlanMemo` for ``memo``."""
    view = await read_broker(broker)
    # today's expiry too: a condor settlement pending since today's cut-off is asked again
    expiries = {r.condor.expiry for r in journal.condors(states=_LIVE) if r.condor.expiry <= today}
    settlements = {d: await broker.settlement_price(d) for d in expiries}
    if memo is None:
        return analyze(journal, view, today, settlements, watching=watching, in_flight=in_flight)
    flying = frozenset(in_flight)
    key = (journal.version(), today, frozenset(settlements.items()), watching, flying)
    if key == memo.key and view == memo.view:
        memo.reused += 1
        return _copy(memo.plan)
    plan = analyze(journal, view, today, settlements, watching=watching, in_flight=flying)
    memo.key, memo.view, memo.plan = key, view, _copy(plan)
    return plan


def load_live(desk: Desk, journal: Journal) -> None:
    """Put the journal's live condors into the desk (after a restart)."""
    for rec in journal.condors(states=_LIVE):
        if rec.id in desk.live:
            continue
        live = LiveCondor.from_record(rec, journal.orders(rec.id))
        # stop pairs journaled before their orders count too (a crash between the two)
        pairs = journal.stops(rec.id)
        pair_gen, _ = generations(p.limit_ref for p in pairs)
        live.stop_generation = max(live.stop_generation, pair_gen, len(pairs))
        live.stop_state = "placed" if live.stop_generation else "none"
        live.close_reason = rec.exit_reason
        desk.live[rec.id] = live


async def repair(
    desk: Desk,
    journal: Journal,
    broker: Broker,
    today: date,
    *,
    watching: bool = False,
    memo: PlanMemo | None = None,
) -> Plan:
    """Apply the broker's executions, analyze, and carry out every action of the plan.
    Orders whose send awaits the broker's answer, and condors whose entry flow runs, are
    left alone (see :class:`~condordesk.engine.flights.Flights`). ``memo``: see
    :class:`PlanMemo`."""
    load_live(desk, journal)
    with desk.flights.watched() as busy:
        await desk.sync_executions()
        plan = await plan_for(broker, journal, today, watching=watching, in_flight=busy, memo=memo)
    for action in plan.actions:
        await _apply(action, desk, journal)
    return plan


async def _apply(action: object, desk: Desk, journal: Journal) -> None:  # noqa: C901
    now = desk.clock.now()
    if isinstance(action, ResolveOrder):
        journal.update_order(
            action.order_ref,
            status=action.status,
            ts=now,
            order_id=action.order_id,
            perm_id=action.perm_id,
            reason=action.reason or None,
        )
        return
    if isinstance(action, CancelOrder):
        logger.warning("reconcile: cancelling {} (order {})", action.order_ref, action.order_id)
        await desk.cancel(action.order_id)
        return
    live = desk.live.get(getattr(action, "condor_id", ""))
    if live is None:
        return
    if isinstance(action, OpenCondor):
        await desk.on_entry_filled(live)
    elif isinstance(action, EntryFailed):
        desk.entry_failed(live, action.reason)
    elif isinstance(action, CloseCondorRecord):
        if live.state is CondorState.WORKING:
            live.state = CondorState.OPEN  # it did fill: the fills say so
        desk.finish(live, action.reason, settlement=action.settlement, note=action.note or None)
    elif isinstance(action, SettlementPending):
        settle(desk, live, None)
    elif isinstance(action, ReopenCondor):
        if live.state is CondorState.CLOSING:
            desk.reopen(live)
            await _protect_reopened(desk, journal, live)
    elif isinstance(action, ArmStops) and live.state is CondorState.OPEN:
        await desk.cancel_stops(live, "re-arming after reconciliation")
        await desk.place_stops(live, trigger=live.stop.trigger if live.stop else None)


async def _protect_reopened(desk: Desk, journal: Journal, live: LiveCondor) -> None:
    """A condor reopened after an interrupted close (a restart) is protected at once: its
    stops are verified at the broker and, if its pair is no longer whole (cancelled while it
    was closing), re-armed, not left for the next check (a closing condor's stops are not
    checked). Not while an exit flow runs for it, nor if an operator cancelled its stops."""
    if live.state is not CondorState.OPEN or live.exiting:
        return
    if left_stopless(journal, live.id):
        return
    if not await desk.verify_stops(live):
        await desk.place_stops(live, trigger=live.stop.trigger if live.stop else None)


async def reconcile_once(
    broker: Broker,
    journal: Journal,
    clock: Clock,
    rules: RiskRules,
    *,
    repair_safe: bool,
    today: date,
) -> Plan:
    """One reconciliation for ``condordesk reconcile``: read-only unless ``repair_safe``, in
    which case the safe repairs are applied (stops re-armed, stray stops cancelled, exits and
    intents journaled) through a desk of its own."""
    if not repair_safe:
        return await plan_for(broker, journal, today)
    bus = EventBus(clock, journal, _no_snapshot)
    desk = Desk(
        broker,
        journal,
        bus,
        clock,
        rules,
        fill_timeout_s=15.0,
        chase_ticks=0,
        alert=lambda level, code, message: None,
        pause=lambda why: None,
    )
    desk.connected = True
    plan = await repair(desk, journal, broker, today)
    await desk.drain()
    return plan


def _no_snapshot() -> Any:
    raise RuntimeError("the reconcile command has no engine snapshot")


def render_plan(plan: Plan) -> str:
    """Findings and open condors as text."""
    lines = [f"{len(plan.checks)} open condor(s), {len(plan.findings)} finding(s)"]
    for check in plan.checks:
        state = "stops OK" if check.stop_ok else "STOPS NOT OK"
        ids = ",".join(str(i) for i in check.stop_order_ids) or "-"
        lines.append(
            f"  {check.id}  {check.condor.label()} x{check.condor.quantity}  {state} ({ids})"
        )
    for f in plan.findings:
        lines.append(f"  [{f.severity}] {f.message}: {f.action}")
    if plan.unexplained:
        lines.append(
            f"{len(plan.unexplained)} unexplained finding(s): the engine pauses entries "
            "until they are acknowledged"
        )
    return "\n".join(lines)
