"""Stop protection: one OCA stop pair per open condor, armed, moved, verified and re-armed
under one lock (:attr:`StopDesk.lock`, which is also ``Engine.stop_lock``).

One protection per open condor: exactly one working stop group, or an explicit
operator-cancelled state. A stop *move* modifies the two working orders in place (IB: a
``placeOrder`` with the existing order id and the new prices; same order ids, same OCA
group), it never places a pair beside the working one:

* no second group can ever exist, so a gap can fire at most one stop;
* a modification that races a fill is refused by the broker (error 104, "Can't modify a
  filled order") and the fill is handled by the normal exit flow;
* nothing is cancelled first, so the condor is never without a stop.

A modification refused for any other reason leaves the old pair working at its old prices:
it is reported (a warning alert), the stop stays verified at the old trigger and the journal
keeps the prices actually working. Arming (after an entry fill, a partial close, an operator's
ArmStops, a reconciliation) re-prices and re-sizes a whole working pair in place too, and
places a new pair only once nothing of the condor's stops works at the broker any more.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from loguru import logger

from condordesk.domain.combo import is_capped_backup, stop_orders
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    REF_PREFIX,
    OrderReport,
    OrderRequest,
    OrderRole,
    OrderStatus,
    order_ref,
    parse_order_ref,
)
from condordesk.engine import api
from condordesk.engine.book import LiveCondor, net_position
from condordesk.engine.budget import overruns
from condordesk.engine.ports import DeskForStops
from condordesk.engine.stale import resolve_stale_closes
from condordesk.engine.stoplock import StopLock
from condordesk.errors import BrokerError, OrderRejected
from condordesk.risk.rules import StopPlan, stop_plan
from condordesk.store.journal import StopRecord

if TYPE_CHECKING:
    from decimal import Decimal

STOP_ROLES = (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET)
MODIFY_FILLED = 104
"""IB's answer to a modification of an order that already filled (or was cancelled)."""
BUDGET_ASKS = 3
BUDGET_RECHECK_S = 1.0
"""A shortfall in the broker's positions is asked again (clock seconds apart) before it
refuses an exit: IB's position updates may trail the executions just reported."""


class StopDesk:
    """The stop flows of one :class:`~condordesk.engine.desk.Desk`."""

    def __init__(self, desk: DeskForStops) -> None:
        self._desk = desk
        self.lock = StopLock()
        self._told_waiting: set[tuple[str, int, Decimal]] = set()

    # -- plans and what the broker has -------------------------------------------------------

    def plan(self, live: LiveCondor, trigger: Decimal | None = None) -> StopPlan:
        """The pair's prices: from the credit, or at ``trigger``; on the grid, capped at the
        condor's maximum value."""
        assert live.credit is not None
        cap = live.condor.max_value
        return stop_plan(live.credit, self._desk.rules, trigger=trigger, max_value=cap)

    async def working(self, live: LiveCondor) -> list[OrderReport]:
        """The condor's stop orders working at the broker now (any generation)."""
        out = []
        for rep in await self._desk.broker.open_orders():
            parsed = parse_order_ref(rep.order_ref)
            if (
                parsed is not None
                and parsed[0] == live.id
                and parsed[1] in STOP_ROLES
                and not rep.status.is_done
            ):
                out.append(rep)
        return out

    def _current_pair(self, live: LiveCondor, working: list[OrderReport]) -> list[OrderReport]:
        """[stop-limit, backup] of the current generation if both work, else []. A backup
        that is not capped at the condor's maximum value (a stop-market an older version
        placed) makes no current pair: it cannot be modified into one, so it is replaced."""
        gen = live.stop_generation
        refs = [order_ref(live.id, role, gen) for role in STOP_ROLES]
        by_ref = {rep.order_ref: rep for rep in working if rep.request is not None}
        if all(ref in by_ref for ref in refs) and len(working) == 2:
            pair = [by_ref[ref] for ref in refs]
            backup = pair[1].request
            if backup is not None and is_capped_backup(live.condor, backup):
                return pair
        return []

    def _any_stop_filled(self, live: LiveCondor) -> bool:
        return any(
            (rep := self._desk.tracker.latest(order_ref(live.id, role, live.stop_generation)))
            is not None
            and rep.filled > 0
            for role in STOP_ROLES
        )

    # -- moving -------------------------------------------------------------------------------

    async def move(self, live: LiveCondor, trigger: Decimal, reason: str) -> bool:
        """Move the working pair to ``trigger`` by modifying both orders in place, then
        verify them at the broker. True once verified at the new prices.

        Refused because a stop filled: nothing more (the exit flow takes over). Refused for
        any other reason: the old pair keeps working at its old prices (alerted, journaled).
        With no whole pair working there is nothing to modify: the stops are armed."""
        async with self.lock:
            if live.state is not CondorState.OPEN:
                return False
            mark = live.mark if live.mark is not None else await self._fresh_mark(live)
            if mark is not None and trigger <= mark:
                self._desk.alert(
                    "warning",
                    "stop_move_refused",
                    f"condor {live.id}: the stop trigger {trigger} is at or below its mark "
                    f"{mark:.2f} and would fire at once; the stop stays where it is (use close "
                    "to buy it back now)",
                )
                return False
            pair = self._current_pair(live, await self.working(live))
            if not pair:
                return await self.arm(live, trigger)
            plan = self.plan(live, trigger)
            refused = await self._modify_pair(live, pair, plan, self._desk.units(live))
            if refused is None:
                logger.info("stops of {} moved to {} ({})", live.id, plan.trigger, reason)
                return await self.verify(live)
            if refused.code == MODIFY_FILLED or self._any_stop_filled(live):
                logger.info("stop move of {} refused: a stop filled ({})", live.id, refused)
                return False
            await self._keep_old(live, plan.trigger, refused.reason)
            return False

    async def _fresh_mark(self, live: LiveCondor) -> Decimal | None:
        """The condor's closing mid from quotes asked now (None if they do not come)."""
        try:
            quotes = await self._desk.broker.option_quotes(live.condor.contracts, timeout=5.0)
        except BrokerError:
            return None
        prices = live.closing_prices(quotes)
        return None if prices is None else prices[0]

    async def _modify_pair(
        self, live: LiveCondor, pair: list[OrderReport], plan: StopPlan, units: int
    ) -> OrderRejected | None:
        """Modify [stop-limit, backup] to ``plan`` for ``units`` (the backup's limit stays the
        condor's maximum value); journaled first. On a refusal, what was already modified is
        put back; returns the refusal (None: done)."""
        desk = self._desk
        prices = ((plan.trigger, plan.limit), (plan.backup_trigger, live.condor.max_value))
        wanted = [
            dataclasses.replace(rep.request, stop_price=stop, limit_price=limit, quantity=units)
            for rep, (stop, limit) in zip(pair, prices, strict=True)
            if rep.request is not None
        ]
        desk.journal.reprice_stop(  # the intent, before the modifications leave
            live.oca_group, plan.trigger, plan.limit, plan.backup_trigger, "moving"
        )
        done: list[tuple[OrderReport, OrderRequest]] = []
        for rep, request in zip(pair, wanted, strict=True):
            refused = await self._modify(live, rep, request)
            if refused is not None:
                for old, _ in reversed(done):
                    if old.request is not None:
                        await self._modify(live, old, old.request)
                return refused
            done.append((rep, request))
        live.stop, live.stop_state = plan, "placed"
        desk.journal.update_condor(
            live.id,
            stop_trigger=plan.trigger,
            stop_limit=plan.limit,
            stop_backup=plan.backup_trigger,
        )
        desk.bus.publish(
            api.StopPlaced(
                condor_id=live.id,
                trigger=plan.trigger,
                limit=plan.limit,
                backup_trigger=plan.backup_trigger,
                order_ids=[rep.order_id for rep in pair],
            )
        )
        return None

    async def _modify(
        self, live: LiveCondor, rep: OrderReport, request: OrderRequest
    ) -> OrderRejected | None:
        """One modification, within the exit budget; the refusal, or None."""
        desk = self._desk
        if not await desk.exit_room(live, request, replacing=rep.order_id):
            return OrderRejected(request.order_ref, "the exit budget does not allow it")
        try:
            desk.apply_report(await desk.broker.modify_order(rep.order_id, request))
        except OrderRejected as exc:
            logger.warning("modification of {} refused: {}", request.order_ref, exc)
            return exc
        except BrokerError as exc:  # unknown outcome: the broker's truth is read afterwards
            logger.warning("modification of {} failed: {}", request.order_ref, exc)
            return OrderRejected(request.order_ref, str(exc))
        return None

    async def _keep_old(self, live: LiveCondor, trigger: Decimal, why: str) -> None:
        """A refused move: the pair keeps working at the prices the broker actually has;
        the journal, the condor's stop and the consoles say so."""
        desk = self._desk
        try:
            working = await self.working(live)
        except BrokerError:  # the link is gone: the prices last known stand
            working = []
        live.stop = _plan_of(self._current_pair(live, working)) or live.stop
        old = live.stop
        if old is not None:
            desk.journal.reprice_stop(
                live.oca_group, old.trigger, old.limit, old.backup_trigger, live.stop_state
            )
            desk.journal.update_condor(
                live.id,
                stop_trigger=old.trigger,
                stop_limit=old.limit,
                stop_backup=old.backup_trigger,
            )
        live.stop_state = "placed"
        try:
            verified = await self.verify(live)
        except BrokerError:
            verified = False  # checked again by the periodic stop check
        kept = f"the stop stays at {old.trigger}" if old is not None else "no stop is known"
        desk.alert(
            "warning",
            "stop_move_refused",
            f"condor {live.id}: moving its stop to {trigger} was refused ({why}); {kept}"
            + ("" if verified else " (not verified at the broker)"),
        )

    # -- arming -------------------------------------------------------------------------------

    async def arm(
        self, live: LiveCondor, trigger: Decimal | None = None, attempts: int = 2
    ) -> bool:
        """Protect the condor with its stop pair (at ``trigger`` or its planned prices) for
        the units still held, and verify it at the broker.

        A whole pair already working is re-priced and re-sized in place; stray stop orders
        are cancelled (and seen done) before a new pair is placed, so two groups never work
        at once. After ``attempts`` failed placements the condor is closed (protection
        failed), unless the exit budget refused them (then the operator is alerted)."""
        async with self.lock:
            if live.state is not CondorState.OPEN or live.credit is None:
                return False
            units = self._desk.units(live)
            if units < 1:
                self._desk.alert(
                    "critical",
                    "position_mismatch",
                    f"condor {live.id}: no whole unit is held to protect; check the broker",
                )
                return False
            plan = self.plan(live, trigger)
            working = await self.working(live)
            adopted = self._adopt(live, working)
            # a pair the engine asked to cancel may still be listed while the cancel travels:
            # it is cleared (seen done), never adopted as the protection
            asked_cancel = live.stop_state.startswith("cancelled") and not adopted
            pair = [] if asked_cancel else self._current_pair(live, working)
            if pair:
                return await self._rearm_in_place(live, pair, plan, units)
            if not await self._clear(live, working):
                return False  # a stop filled meanwhile: the exit flow takes over
            return await self._place(live, plan, units, attempts)

    def _adopt(self, live: LiveCondor, working: list[OrderReport]) -> bool:
        """Stop orders of a newer generation than the journal knows work at the broker: a
        pair placed during a journal outage whose queued writes a restart lost. Their refs are
        never sent again (the generation goes on from theirs), and a whole pair is the
        condor's protection: journaled now, adopted (not cancelled as unknown). True if a
        pair was adopted."""
        gens = [p[2] for rep in working if (p := parse_order_ref(rep.order_ref)) is not None]
        gen = max(gens, default=0)
        if gen <= live.stop_generation:
            return False
        live.stop_generation = gen
        pair = self._current_pair(live, working)
        plan = _plan_of(pair)
        if plan is None:
            return False  # not a whole pair: cleared, and a new one placed with newer refs
        desk = self._desk
        oca = pair[0].request.oca_group if pair[0].request is not None else live.oca_group
        with desk.journal.transaction():
            desk.journal.record_stop(
                StopRecord(
                    live.id,
                    oca,
                    pair[0].order_ref,
                    pair[1].order_ref,
                    plan.trigger,
                    plan.limit,
                    plan.backup_trigger,
                    "placed",
                    desk.clock.now(),
                )
            )
            for role, rep in zip(STOP_ROLES, pair, strict=True):
                if rep.request is not None and desk.journal.order(rep.order_ref) is None:
                    desk.journal.record_intent(live.id, role, rep.request, desk.clock.now())
        for rep in pair:
            desk.apply_report(rep)
        live.stop, live.stop_state = plan, "placed"
        desk.alert(
            "warning",
            "stop_adopted",
            f"condor {live.id}: its stop pair placed during a journal outage works at the "
            "broker but was not journaled; journaled now and kept as its protection",
        )
        return True

    async def _rearm_in_place(
        self, live: LiveCondor, pair: list[OrderReport], plan: StopPlan, units: int
    ) -> bool:
        """The condor's pair works: bring it to ``plan`` and ``units`` by modifications (none
        when it already is). Never cancelled: if the broker refuses, it keeps working as it
        is and the operator is told."""
        if _plan_of(pair) == plan and all(
            rep.request is not None and rep.request.quantity == units == rep.remaining
            for rep in pair
        ):
            live.stop = plan
            return await self.verify(live)
        refused = await self._modify_pair(live, pair, plan, units)
        if refused is None:
            return await self.verify(live)
        if refused.code == MODIFY_FILLED or self._any_stop_filled(live):
            return False  # a stop filled: the exit flow takes over
        await self._keep_old(live, plan.trigger, refused.reason)
        return live.stop_state == "verified"  # protected as it was

    async def _clear(self, live: LiveCondor, working: list[OrderReport]) -> bool:
        """Cancel ``working`` stop orders and wait until the broker has them done. False if
        one filled while it was cancelled (or did not end): the exit flow that fill starts
        takes over, and no new pair may go out beside it. What an order had filled before
        (a backup filled in part before a crash) is already out of the units the new pair is
        sized for."""
        desk = self._desk
        for rep in working:
            await desk.cancel(rep.order_id)
        for rep in working:
            final = await desk.tracker.wait_done(rep.order_ref, desk.fill_timeout_s)
            if final is None:
                final = await desk.broker.order_status(rep.order_id)
            if final is None or not final.status.is_done or final.filled > rep.filled:
                return False
        return True

    async def _place(self, live: LiveCondor, plan: StopPlan, units: int, attempts: int) -> bool:
        desk = self._desk
        sized = (
            live.condor
            if units == live.condor.quantity
            else dataclasses.replace(live.condor, quantity=units)
        )
        for attempt in range(1, max(attempts, 1) + 1):
            live.stop_generation += 1
            gen = live.stop_generation
            primary, backup = stop_orders(
                sized,
                trigger=plan.trigger,
                limit=plan.limit,
                backup_trigger=plan.backup_trigger,
                limit_ref=order_ref(live.id, OrderRole.STOP_LIMIT, gen),
                market_ref=order_ref(live.id, OrderRole.STOP_MARKET, gen),
                oca_group=live.oca_group,
            )
            if not await desk.exit_room(live, primary):
                return False  # alerted: nothing is sent that could reverse a position
            with desk.journal.transaction():
                desk.journal.record_stop(
                    StopRecord(
                        live.id,
                        live.oca_group,
                        primary.order_ref,
                        backup.order_ref,
                        plan.trigger,
                        plan.limit,
                        plan.backup_trigger,
                        "placed",
                        desk.clock.now(),
                    )
                )
                desk.journal.update_condor(
                    live.id,
                    stop_trigger=plan.trigger,
                    stop_limit=plan.limit,
                    stop_backup=plan.backup_trigger,
                )
            live.stop, live.stop_state = plan, "placed"
            reports = [
                await desk.send(live, OrderRole.STOP_LIMIT, primary),
                await desk.send(live, OrderRole.STOP_MARKET, backup),
            ]
            live.stop_order_ids = [r.order_id for r in reports if r is not None]
            desk.bus.publish(
                api.StopPlaced(
                    condor_id=live.id,
                    trigger=plan.trigger,
                    limit=plan.limit,
                    backup_trigger=plan.backup_trigger,
                    order_ids=list(live.stop_order_ids),
                )
            )
            if await self.verify(live):
                return True
            logger.error("stops of {} not verified (attempt {})", live.id, attempt)
            if self._any_stop_filled(live) or not await self._clear(live, await self.working(live)):
                return False  # a stop fired: the exit flow takes over
        desk.alert(
            "critical", "stop_failed", f"condor {live.id}: stops could not be placed; closing it"
        )
        desk.spawn(desk.close(live, ExitReason.PROTECTION_FAILED))
        return False

    # -- the exit budget ------------------------------------------------------------------------

    async def exit_room(
        self, live: LiveCondor, request: OrderRequest, replacing: int | None = None
    ) -> bool:
        """True if ``request`` (a close or a stop, or a modification of order ``replacing``)
        cannot make the exits exceed what the broker holds, asked of the broker afresh
        (positions and open orders). The broker's positions may lag its executions by a
        moment, so a shortfall is asked again before it counts. Otherwise (or when the broker
        cannot tell) a critical alert with the numbers, and False: nothing is sent."""
        desk = self._desk
        for attempt in range(1, BUDGET_ASKS + 1):
            try:
                positions = await desk.broker.positions()
                working = await desk.broker.open_orders()
            except BrokerError as exc:
                desk.alert(
                    "critical",
                    "exit_budget",
                    f"condor {live.id}: {request.order_ref} not sent, the broker's positions "
                    f"and orders are unknown ({exc})",
                )
                return False
            over = overruns(
                positions,
                working,
                request,
                replacing=replacing,
                owner=f"{REF_PREFIX}:{live.id}:",
                others=self._held_by_others(live),
            )
            if not over:
                return True
            if attempt < BUDGET_ASKS and await resolve_stale_closes(desk, live, request, working):
                continue  # a close no flow follows took the room: it ended, ask again
            if attempt < BUDGET_ASKS:
                await desk.clock.sleep(BUDGET_RECHECK_S)
        desk.alert(
            "critical",
            "exit_budget",
            f"condor {live.id}: {request.order_ref} for {request.quantity} not sent, it could "
            f"reverse a position ({'; '.join(str(o) for o in over)})",
        )
        return False

    def _held_by_others(self, live: LiveCondor) -> dict[OptionContract, int]:
        """What the other live condors hold by their fills (journaled, and entry fills the
        journal refused so far), per contract they share with ``live`` (their part of the
        account's netted positions)."""
        desk = self._desk
        mine = set(live.condor.contracts)
        out: dict[OptionContract, int] = {}
        for other in desk.live.values():
            if other.id == live.id or not mine.intersection(other.condor.contracts):
                continue
            for contract, quantity in net_position(desk.fills(other.id)).items():
                if contract in mine:
                    out[contract] = out.get(contract, 0) + quantity
        return out

    # -- checking and cancelling ------------------------------------------------------------------

    def note_waiting(self, live: LiveCondor) -> None:
        """Tell the operator once when the condor's stop fired but cannot fill: its mark is
        past the backup's trigger while the market asks more than the condor can be worth.
        The backup (capped at the width) keeps working and fills once the condor trades
        within it; the loss stays bounded by the width."""
        stop, mark, natural = live.stop, live.mark, live.debit
        cap = live.condor.max_value
        if (
            stop is None
            or mark is None
            or natural is None
            or live.state is not CondorState.OPEN
            or live.stop_state not in ("placed", "verified")
            or mark < stop.backup_trigger
            or natural <= cap
        ):
            return
        key = (live.id, live.stop_generation, stop.backup_trigger)
        if key in self._told_waiting:
            return
        self._told_waiting.add(key)
        self._desk.alert(
            "warning",
            "stop_waiting",
            f"condor {live.id}: its stop fired (mark {mark:.2f}, backup trigger "
            f"{stop.backup_trigger}) but the market asks {natural:.2f}, above its {cap} wing "
            f"width; the backup works at {cap} and buys it back once it trades there (the loss "
            "stays within the width: expiry safety, a close, or settlement otherwise)",
        )

    async def verify(self, live: LiveCondor) -> bool:
        """True when both stop orders are working at the broker with the planned prices, for
        the units still held."""
        desk = self._desk
        if live.stop is None or live.state is not CondorState.OPEN:
            return False
        units = desk.units(live)
        gen = live.stop_generation
        want = {
            order_ref(live.id, OrderRole.STOP_LIMIT, gen): (live.stop.trigger, live.stop.limit),
            order_ref(live.id, OrderRole.STOP_MARKET, gen): (
                live.stop.backup_trigger,
                live.condor.max_value,
            ),
        }
        seen = 0
        for rep in await desk.broker.open_orders():
            if (
                rep.order_ref in want
                and rep.status is OrderStatus.WORKING
                and rep.request is not None
            ):
                stop_px, limit_px = want[rep.order_ref]
                seen += (
                    rep.request.quantity == units
                    and rep.request.stop_price == stop_px
                    and rep.request.limit_price == limit_px
                    and rep.remaining == units
                )
        if seen != len(want):
            return False
        if live.stop_state != "verified":
            live.stop_state = "verified"
            desk.journal.update_stop(live.oca_group, "verified")
            desk.bus.publish(api.StopVerified(condor_id=live.id))
        return True

    async def cancel(self, live: LiveCondor, reason: str) -> None:
        """Cancel the working orders of the condor's stop pair."""
        desk = self._desk
        async with self.lock:
            for rec in desk.journal.orders(live.id, working_only=True):
                if rec.role in STOP_ROLES and rec.order_id is not None:
                    await desk.cancel(rec.order_id)
            live.stop_state = "cancelled"
            desk.journal.update_stop(live.oca_group, "cancelled")
            desk.bus.publish(api.StopCancelled(condor_id=live.id, reason=reason))


def _plan_of(pair: list[OrderReport]) -> StopPlan | None:
    """The prices a working [stop-limit, backup] pair has at the broker."""
    if len(pair) != 2 or pair[0].request is None or pair[1].request is None:
        return None
    lim, mkt = pair[0].request, pair[1].request
    if lim.stop_price is None or lim.limit_price is None or mkt.stop_price is None:
        return None
    return StopPlan(lim.stop_price, lim.limit_price, mkt.stop_price)
