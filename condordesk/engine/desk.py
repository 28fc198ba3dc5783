"""The order desk: opens condors, protects them with OCA stops, closes them, and applies
broker events to the journal. Every order is journaled as an intent before it leaves.

Exit orders (closes and stops) may fill in pieces. The journal's fills, keyed by exec id, say
how many condor units are still held (:meth:`Desk.units`); stops and closes are sized to that.
One exit flow per condor at a time settles every exit order that filled (waits for it to end,
cancels what is left of it after the fill timeout, waits for its executions), buys back what is
still held, and protects with a stop pair of the right size whatever it could not buy back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

from loguru import logger

from condordesk.broker.base import (
    Broker,
    BrokerEvent,
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
    PositionsSettled,
)
from condordesk.domain.combo import entry_order
from condordesk.domain.condor import CondorState, ExitReason, check_transition
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import (
    Execution,
    OrderReport,
    OrderRequest,
    OrderRole,
    OrderStatus,
    order_ref,
    parse_order_ref,
)
from condordesk.domain.prices import MULTIPLIER
from condordesk.engine import api
from condordesk.engine.book import (
    LiveCondor,
    commissions_of,
    entry_fills_complete,
    held_units,
    net_position,
    realized,
    role_of,
    signed_combo,
)
from condordesk.engine.bus import EventBus
from condordesk.engine.exits import STOP_EXITS, ExitFlows
from condordesk.engine.flights import Flights, late_entry
from condordesk.engine.money import amend_commissions, settle
from condordesk.engine.orderlog import ORDER_CANCELLED_CODE, order_level, order_line
from condordesk.engine.orders import OrderTracker
from condordesk.engine.stops import StopDesk
from condordesk.errors import BrokerError, JournalError, OrderRejected
from condordesk.market.clock import Clock
from condordesk.risk.rules import RiskRules
from condordesk.store.journal import FillRecord, Journal
from condordesk.store.writes import is_protecting, protecting

_D0 = Decimal(0)


Checkpoint = Callable[[str], Awaitable[None]]
"""Called at each step of a condor's life (``intent:<role>``, ``sent:<role>``, ``opened``,
``reset``); the crash tests use it to stop the engine dead at that step."""


async def _no_checkpoint(step: str) -> None:
    return None


def _log_fault(where: str, exc: BaseException) -> None:
    logger.opt(exception=exc).critical("{} failed: {}", where, exc)


class Desk:
    """Order flows for condors. Owned by the engine; all state lives on one event loop."""

    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        bus: EventBus,
        clock: Clock,
        rules: RiskRules,
        *,
        fill_timeout_s: float,
        chase_ticks: int,
        alert: Callable[[str, str, str], None],
        pause: Callable[[str], None],
    ) -> None:
        self.broker = broker
        self.journal = journal
        self.bus = bus
        self.clock = clock
        self.rules = rules
        self.fill_timeout_s = fill_timeout_s
        self.chase_ticks = chase_ticks
        self.tracker = OrderTracker(clock)
        self.live: dict[str, LiveCondor] = {}
        self.connected = False
        self.reconnected = False
        self.alert = alert
        self._pause = pause
        self._tasks: set[asyncio.Task[None]] = set()
        self._fills_arrived = asyncio.Event()
        self._handled: set[tuple[str, OrderStatus]] = set()
        self._applied: set[str] = set()  # exec ids applied (journaled) by this desk
        self._unjournaled: dict[str, ExecutionReceived] = {}  # fills the journal refused
        self._cancelling: set[str] = set()  # entries cancelled because the journal failed
        self._commissioned: set[str] = set()  # exec ids whose commission is journaled
        self._units: dict[str, int] = {}  # units held per condor, until its next fill
        self.flights = Flights()  # sends awaiting their answer, entry flows (reconcile: hands off)
        self.checkpoint: Checkpoint = _no_checkpoint
        self.exits = ExitFlows(self)
        self.stops = StopDesk(self)
        self.stop_lock = self.stops.lock
        """Every stop placement, move and re-arm holds it (so does a reconciliation)."""
        self.on_fault: Callable[[str, BaseException], None] = _log_fault
        """Hears a background task that died (the engine contains it)."""

    # -- helpers --------------------------------------------------------------------------

    def spawn(self, coro: object) -> None:
        """Run ``coro`` in the background (awaited by :meth:`drain`). A task that dies of an
        exception is handed to :attr:`on_fault`, never lost."""
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or (exc := task.exception()) is None:
            return
        name = getattr(task.get_coro(), "__qualname__", task.get_name())
        self.on_fault(f"background task {name}", exc)

    def set_state(self, live: LiveCondor, state: CondorState, **fields: object) -> None:
        """Move ``live`` to ``state`` (a legal transition) and journal it with ``fields``."""
        check_transition(live.state, state)
        live.state = state
        self.journal.update_condor(live.id, state=state, **fields)

    async def send(
        self, live: LiveCondor, role: OrderRole, request: OrderRequest
    ) -> OrderReport | None:
        """Journal the intent, send, record the ack. None when the broker refused it, or when
        a close or stop would break the exit budget (then nothing is journaled or sent).

        Raises:
            JournalError: the intent, or a fill received before it, cannot be journaled: the
                order does not leave (no order is sized on a position the journal lacks).
        """
        if self._unjournaled and not is_protecting() and not self.retry_fills():
            raise JournalError("a fill is not journaled yet: no order leaves before it is")
        if role is not OrderRole.ENTRY and not await self.exit_room(live, request):
            return None
        with self.flights.sending(request.order_ref):  # a reconciliation keeps off it
            return await self._send(live, role, request)

    async def _send(
        self, live: LiveCondor, role: OrderRole, request: OrderRequest
    ) -> OrderReport | None:
        self.journal.record_intent(live.id, role, request, self.clock.now())
        await self.checkpoint(f"intent:{role.value}")
        self.bus.publish(
            api.OrderSubmitted(
                condor_id=live.id,
                role=role.value,
                order_ref=request.order_ref,
                order_type=request.order_type.value,
                quantity=request.quantity,
                limit_price=request.limit_price,
                stop_price=request.stop_price,
            )
        )
        try:
            report = await self.broker.place_order(request)
        except OrderRejected as exc:
            self.journal.update_order(
                request.order_ref,
                status=OrderStatus.REJECTED,
                ts=self.clock.now(),
                reason=exc.reason,
            )
            self.bus.publish(
                api.OrderRejected(condor_id=live.id, order_ref=request.order_ref, reason=exc.reason)
            )
            logger.warning("{} rejected: {}", request.order_ref, exc.reason)
            return None
        await self.checkpoint(f"sent:{role.value}")
        self.apply_report(report)
        return report

    def apply_report(self, report: OrderReport) -> None:
        """Record an order report in the tracker and the journal (never backwards)."""
        recorded = self.tracker.update(report)
        if recorded is None:
            return
        report = recorded
        self.journal.update_order(
            report.order_ref,
            status=report.status.value,
            ts=self.clock.now(),
            order_id=report.order_id,
            perm_id=report.perm_id,
            filled=report.filled,
            avg_price=report.avg_fill_price,
            reason=report.reason or None,
        )

    # -- entry ----------------------------------------------------------------------------

    async def open_condor(self, live: LiveCondor, credit: Decimal) -> None:
        """Send the FOK entry, verify it within the fill timeout, then place the stops.

        While this flow runs a reconciliation leaves the condor alone; a fill of the entry
        that comes after it gave up (a cancel that lost the race) opens and protects the
        condor at once (see :func:`~condordesk.engine.flights.late_entry`)."""
        with self.flights.entering_flow(live.id):
            await self._open_condor(live, credit, order_ref(live.id, OrderRole.ENTRY))
        if entry_fills_complete(self.fills(live.id), live.condor)[1]:
            await late_entry(self, live.id)  # filled while the flow was giving up

    async def _open_condor(self, live: LiveCondor, credit: Decimal, ref: str) -> None:
        report = await self.send(live, OrderRole.ENTRY, entry_order(live.condor, credit, ref))
        if report is None:
            self.entry_failed(live, "entry order rejected")
            return
        if self.journal.failing:  # it failed while this entry flew: cancelled like the others
            self.cancel_entries()
        final = await self.tracker.wait_done(ref, self.fill_timeout_s)
        if final is None:
            logger.warning("{} not done after {}s: cancelling", ref, self.fill_timeout_s)
            await self.cancel(report.order_id)
            final = await self.tracker.wait_done(ref, self.fill_timeout_s)
        any_fill, complete = await self._entry_fills(live, final)
        if complete:
            await self.on_entry_filled(live)
        elif not any_fill and final is not None and final.status is not OrderStatus.FILLED:
            self.entry_failed(live, final.reason or final.status.value)
        else:
            self.alert(
                "critical",
                "entry_unresolved",
                f"condor {live.id}: entry {ref} ended {final.status if final else 'unknown'} "
                "with partial or unknown fills; entries paused, check the broker",
            )
            self._pause(f"entry {ref} unresolved")

    async def _entry_fills(self, live: LiveCondor, final: OrderReport | None) -> tuple[bool, bool]:
        """(any fill, all four legs filled) for the entry. When the broker says it filled (or
        cannot say), wait for the executions, asking the broker for its list as well."""
        any_fill, complete = entry_fills_complete(self.fills(live.id), live.condor)
        expect = final is None or final.status is OrderStatus.FILLED or final.filled > 0 or any_fill
        if complete or not expect:
            return any_fill, complete
        deadline = self.clock.now() + timedelta(seconds=self.fill_timeout_s)
        while True:
            await self.sync_executions()
            any_fill, complete = entry_fills_complete(self.fills(live.id), live.condor)
            if complete or self.clock.now() >= deadline:
                return any_fill, complete
            await self.new_fills(1.0)

    async def new_fills(self, seconds: float) -> None:
        """Wait until an execution is journaled, at most ``seconds`` clock seconds."""
        self._fills_arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._fills_arrived.wait(), self.clock.loop_seconds(seconds))

    async def sync_executions(self) -> int:
        """Apply the broker's list of today's executions (idempotent); returns how many were new."""
        new = 0
        for execution, commission in await self.broker.executions():
            new += self._on_execution(ExecutionReceived(execution))
            if commission is not None and commission.exec_id not in self._commissioned:
                self._record_commission(commission.exec_id, commission.commission)
        return new

    def _record_commission(self, exec_id: str, commission: Decimal) -> None:
        if self.journal.record_commission(exec_id, commission):
            self._commissioned.add(exec_id)
            amend_commissions(self, exec_id)  # a report after the close changes its P&L

    def entry_failed(self, live: LiveCondor, reason: str) -> None:
        """The entry did not fill: the condor is cancelled, nothing is held."""
        self.set_state(
            live,
            CondorState.CANCELLED,
            exit_reason=ExitReason.NOT_FILLED,
            closed_ts=self.clock.now(),
            realized_pnl=_D0,
            note=reason,
        )
        self.live.pop(live.id, None)
        self.bus.publish(api.EntryNotFilled(condor_id=live.id, reason=reason))
        logger.info("entry {} not filled ({}): nothing left at the broker", live.id, reason)

    def _entry_fill_seen(self, condor_id: str) -> None:
        """A fill of a condor's entry was journaled: unless its entry flow runs (it opens the
        condor itself), open and protect the condor now, not at the next reconciliation."""
        if condor_id not in self.flights.entering:
            self.spawn(late_entry(self, condor_id))

    async def on_entry_filled(self, live: LiveCondor) -> None:
        """The entry filled: journal the credit and protect the condor.

        When the journal cannot take the fill (an outage), the condor is protected anyway:
        its fills, state and stop pair are queued in the journal in that order (see
        :func:`~condordesk.store.writes.protecting`), the pair is sent, and the operator is
        told (a critical ``outage_protection`` alert)."""
        if live.state is not CondorState.WORKING:
            return
        if not (self.journal.failing or self._refused_entry_fills(live.id)):
            await self._open_and_protect(live)
            return
        with protecting():
            for event in self._refused_entry_fills(live.id):  # queued first: they come first
                self._queue_fill(event)
            await self._open_and_protect(live)
        verified = live.stop_state == "verified"
        self.alert(
            "critical",
            "outage_protection",
            f"condor {live.id}: its entry filled while the journal could not be written; its "
            f"stop pair was placed anyway ({'verified' if verified else 'NOT verified'} at the "
            "broker), journaled once the journal takes writes",
        )

    def _refused_entry_fills(self, condor_id: str) -> list[ExecutionReceived]:
        """The condor's entry fills the journal refused so far."""
        out = []
        for event in self._unjournaled.values():
            parsed = parse_order_ref(event.execution.order_ref)
            if parsed is not None and parsed[0] == condor_id and parsed[1] is OrderRole.ENTRY:
                out.append(event)
        return out

    def _queue_fill(self, event: ExecutionReceived) -> None:
        """Queue a refused fill in the journal (inside ``protecting``); it stays counted as
        not journaled until the disk has it (the retry then finds it there)."""
        e = event.execution
        parsed = parse_order_ref(e.order_ref)
        if self.journal.record_fill(e, parsed[0] if parsed else None):
            self.bus.publish(
                api.FillRecorded(
                    condor_id=parsed[0] if parsed else "",
                    order_ref=e.order_ref,
                    exec_id=e.exec_id,
                    symbol=e.contract.symbol,
                    side=e.side.value,
                    quantity=e.quantity,
                    price=e.price,
                )
            )

    async def _open_and_protect(self, live: LiveCondor) -> None:
        entry = [f for f in self.fills(live.id) if role_of(f) is OrderRole.ENTRY]
        credit = -signed_combo(entry, live.condor.quantity)
        live.credit, live.opened = credit, self.clock.now()
        self.set_state(live, CondorState.OPEN, credit=credit, opened_ts=live.opened)
        self.bus.publish(
            api.CondorOpened(
                condor_id=live.id,
                label=live.condor.label(),
                quantity=live.condor.quantity,
                credit=credit,
                first_trade=live.first_trade,
            )
        )
        logger.success(
            "opened {} {} x{} for {}", live.id, live.condor.label(), live.condor.quantity, credit
        )
        await self.checkpoint("opened")
        await self.place_stops(live)

    # -- stops (see condordesk.engine.stops) ----------------------------------------------

    async def move_stops(self, live: LiveCondor, trigger: Decimal, reason: str) -> bool:
        """Move the working stop pair to ``trigger`` by modifying both orders in place (same
        order ids, same OCA group), then verify it; see :meth:`StopDesk.move`."""
        return await self.stops.move(live, trigger, reason)

    async def place_stops(
        self, live: LiveCondor, trigger: Decimal | None = None, attempts: int = 2
    ) -> bool:
        """Arm the condor's stop pair for the units held (a working pair is re-priced in
        place; a new one only once none works); see :meth:`StopDesk.arm`."""
        return await self.stops.arm(live, trigger, attempts)

    async def verify_stops(self, live: LiveCondor) -> bool:
        """True when both stop orders work at the broker with the planned prices and size."""
        return await self.stops.verify(live)

    async def cancel_stops(self, live: LiveCondor, reason: str) -> None:
        """Cancel the working orders of the current stop pair."""
        await self.stops.cancel(live, reason)

    async def exit_room(
        self, live: LiveCondor, request: OrderRequest, replacing: int | None = None
    ) -> bool:
        """The exit budget, asked of the broker: True if ``request`` (a close or a stop, or a
        modification of order ``replacing``) cannot make exits exceed what is held; see
        :meth:`StopDesk.exit_room`."""
        return await self.stops.exit_room(live, request, replacing)

    async def cancel(self, order_id: int) -> None:
        """Ask the broker to cancel an order (failures are logged, not raised)."""
        try:
            await self.broker.cancel_order(order_id)
        except BrokerError as exc:
            logger.warning("cancel of order {} failed: {}", order_id, exc)

    # -- closing --------------------------------------------------------------------------

    def units(self, live: LiveCondor) -> int:
        """Whole condor units the journaled fills still hold (what stops and closes cover);
        computed once per new fill of the condor (marks ask on every cycle)."""
        units = self._units.get(live.id)
        if units is None:
            units = held_units(net_position(self.fills(live.id)), live.condor)
            self._units[live.id] = units
        return units

    async def close(
        self,
        live: LiveCondor,
        reason: ExitReason,
        limit: Decimal | None = None,
        cap: Decimal | None = None,
    ) -> bool:
        """Buy the condor back (see :meth:`ExitFlows.close`); True once it is closed."""
        return await self.exits.close(live, reason, limit, cap)

    def reopen(self, live: LiveCondor) -> None:
        """A close that did not happen: the condor is open again (its stops kept working).
        Not while this desk's own exit flow for it runs: that flow decides."""
        if live.exiting:
            return
        self.set_state(live, CondorState.OPEN, exit_reason=None)

    def holds(self, live: LiveCondor) -> bool:
        """True while the journaled fills leave any leg of the condor held."""
        return bool(net_position(self.journal.fills(live.id)))

    def finish(
        self,
        live: LiveCondor,
        reason: ExitReason,
        settlement: Decimal | None = None,
        note: str | None = None,
    ) -> None:
        """The condor is flat: journal the exit and P&L from its fills."""
        if live.state not in (CondorState.OPEN, CondorState.CLOSING):
            return
        fills = self.journal.fills(live.id)
        exit_debit, commissions, pnl = realized(fills, live.condor, settlement)
        estimated = commissions_of(fills)[1]  # reports still to come: amended when they do
        live.state = CondorState.CLOSED
        self.journal.update_condor(
            live.id,
            state=CondorState.CLOSED,
            closed_ts=self.clock.now(),
            exit_reason=reason,
            exit_debit=exit_debit,
            commissions=commissions,
            realized_pnl=pnl,
            **({"note": note} if note else {}),
        )
        self.live.pop(live.id, None)
        self._units.pop(live.id, None)
        self.bus.publish(
            api.CondorClosed(
                condor_id=live.id,
                reason=reason.value,
                exit_debit=exit_debit,
                commissions=commissions,
                realized_pnl=pnl,
                day=live.day,
                commissions_estimated=estimated,
            )
        )
        logger.info("closed {} ({}) exit {} P&L {}", live.id, reason.value, exit_debit, pnl)
        self.spawn(self._sweep(live.id))

    async def _sweep(self, condor_id: str) -> None:
        """After a condor closes, make sure none of its orders is left working."""
        await self.clock.sleep(2.0)
        for rec in self.journal.orders(condor_id, working_only=True):
            if (
                rec.order_id is not None
                and (rep := self.tracker.latest(rec.order_ref)) is not None
                and not rep.status.is_done
            ):
                logger.info("cancelling leftover {} of closed condor", rec.order_ref)
                await self.cancel(rec.order_id)

    # -- broker events --------------------------------------------------------------------

    def on_broker_event(self, event: BrokerEvent) -> None:
        """Apply one broker event. Safe to call twice with the same event."""
        if isinstance(event, ExecutionReceived):
            self._on_execution(event)
        elif isinstance(event, CommissionReceived):
            self._record_commission(event.report.exec_id, event.report.commission)
        elif isinstance(event, OrderUpdated):
            self._on_order(event.report)
        elif isinstance(event, PositionsSettled):
            for live in list(self.live.values()):
                if live.condor.expiry == event.expiry:
                    settle(self, live, event.settlement_price)  # also ends a running exit flow
        elif isinstance(event, ConnectionChanged):
            if event.connected and not self.connected:
                self.reconnected = True  # reconcile before any new entry
            self.connected = event.connected
            self.bus.publish(
                api.BrokerConnectionChanged(connected=event.connected, reason=event.reason)
            )
        elif isinstance(event, BrokerMessage):  # 202: an order's cancel, logged as its event
            level = "DEBUG" if event.code == ORDER_CANCELLED_CODE and event.order_id else "WARNING"
            logger.log(level, "broker message {}: {}", event.code, event.text)

    def _on_execution(self, event: ExecutionReceived) -> bool:
        e = event.execution
        if e.exec_id in self._applied:
            return False  # applied in this session already (a replay or a reconciliation)
        parsed = parse_order_ref(e.order_ref)
        condor_id = parsed[0] if parsed else None
        try:
            recorded = self.journal.record_fill(e, condor_id)
        except JournalError as exc:  # applied only once journaled: kept, and tried again
            first = e.exec_id not in self._unjournaled
            level = "ERROR" if first else "DEBUG"  # once loud
            e_ids = (e.exec_id, e.order_ref)
            self._unjournaled[e.exec_id] = event
            logger.log(level, "fill {} of {} not journaled (kept to retry): {}", *e_ids, exc)
            if first and parsed is not None and parsed[1] is OrderRole.ENTRY:
                self._units.pop(parsed[0], None)  # an entry fill counts before it is journaled
                self._entry_fill_seen(parsed[0])  # and its condor is protected (not journaled)
            return False
        self._unjournaled.pop(e.exec_id, None)
        if len(self._applied) > 50_000:
            self._applied.clear()  # bounded; the journal's exec-id key still makes replays no-ops
        self._applied.add(e.exec_id)
        if not recorded:
            return False  # a replay
        self._units.pop(condor_id or "", None)
        self._fills_arrived.set()
        if parsed is not None and parsed[1] is OrderRole.ENTRY:
            self._entry_fill_seen(parsed[0])
        self.bus.publish(
            api.FillRecorded(
                condor_id=condor_id or "",
                order_ref=e.order_ref,
                exec_id=e.exec_id,
                symbol=e.contract.symbol,
                side=e.side.value,
                quantity=e.quantity,
                price=e.price,
            )
        )
        return True

    @property
    def unjournaled(self) -> int:
        """Fills the journal refused so far, waiting for :meth:`retry_fills`."""
        return len(self._unjournaled)

    def unjournaled_fills(self) -> list[Execution]:
        """The fills the journal refused so far, oldest first."""
        return sorted((e.execution for e in self._unjournaled.values()), key=lambda x: x.ts)

    def retry_fills(self) -> bool:
        """Apply again the fills the journal refused; True once none is left."""
        for event in list(self._unjournaled.values()):
            self._on_execution(event)
        return not self._unjournaled

    def fills(self, condor_id: str) -> list[FillRecord]:
        """The condor's journaled fills and its entry fills the journal refused so far: what
        it holds at the broker as far as entries go (an entry that fills during a journal
        outage is protected on them). Exit fills count only once journaled."""
        fills = self.journal.fills(condor_id)
        refused = self._refused_entry_fills(condor_id) if self._unjournaled else []
        known = {f.exec_id for f in fills} if refused else set()
        return fills + [
            FillRecord(ev.execution.exec_id, ev.execution.order_ref, condor_id, ev.execution, None)
            for ev in refused
            if ev.execution.exec_id not in known
        ]

    def cancel_entries(self) -> list[str]:
        """Cancel every entry order working at the broker (the journal failed: a fill of one
        could not be journaled). Returns their refs; the cancels run in the background."""
        refs: list[str] = []
        for live in self.live.values():
            rep = self.tracker.latest(order_ref(live.id, OrderRole.ENTRY))
            if (
                live.state is CondorState.WORKING
                and rep is not None
                and not rep.status.is_done
                and rep.order_ref not in self._cancelling
            ):
                refs.append(rep.order_ref)
                self._cancelling.add(rep.order_ref)
                logger.warning("{} cancelled: the journal cannot be written", rep.order_ref)
                self.spawn(self.cancel(rep.order_id))
        return refs

    def _on_order(self, report: OrderReport) -> None:
        self.apply_report(report)
        parsed = parse_order_ref(report.order_ref)
        if parsed is None:
            return  # not ours
        condor_id, role, _gen = parsed
        live = self.live.get(condor_id)
        if live is not None and role is not OrderRole.ENTRY and report.filled > 0:
            self.exits.on_exit_fill(live, role, report)
        key = (report.order_ref, report.status)
        if key in self._handled:
            return  # already handled
        self._handled.add(key)
        logger.log(order_level(report), order_line(report))
        if report.status is OrderStatus.CANCELLED and role is not OrderRole.ENTRY:
            self.bus.publish(
                api.OrderCancelled(
                    condor_id=condor_id, order_ref=report.order_ref, reason=report.reason
                )
            )
        if (
            live is not None
            and report.status is OrderStatus.CANCELLED
            and role in STOP_EXITS
            and report.order_ref == order_ref(live.id, role, live.stop_generation)
            and live.state is CondorState.OPEN
            and live.stop_state in ("placed", "verified")  # not a cancel the engine asked for
        ):
            live.stop_state = "degraded"  # the periodic stop check re-arms it

    def unrealized_total(self) -> Decimal:
        """Sum of open condors' unrealized P&L in dollars."""
        return sum((lc.unrealized for lc in self.live.values() if lc.unrealized is not None), _D0)

    def mark(
        self, live: LiveCondor, quotes: dict[OptionContract, OptionQuote], spot: Decimal
    ) -> None:
        """Update a condor's mark, debit and unrealized P&L from fresh quotes."""
        prices = live.closing_prices(quotes)
        if prices is None or live.credit is None:
            return
        mark, debit = prices
        live.mark, live.debit = mark, debit
        live.unrealized = (live.credit - mark) * MULTIPLIER * self.units(live)
        if not self.bus.watched:  # nobody attached: a console attaching gets them in a snapshot
            return
        self.bus.publish(
            api.CondorMarked(
                condor_id=live.id, spot=spot, mark=mark, debit=debit, unrealized_pnl=live.unrealized
            )
        )

    async def drain(self) -> None:
        """Wait for background sweeps (used at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def now(self) -> datetime:
        """The engine clock's time."""
        return self.clock.now()
