"""Exit flows: buying condors back, and finishing exits whose orders fill in pieces.

An exit order (a close, or one of the OCA stops) may fill whole, in several pieces, or in part
and then end (cancelled by the engine, by the OCA group or at the close). Whatever happens,
the journal's fills (keyed by exec id) say how many condor units are still held, and that is
what the next order covers. One flow per condor at a time (``LiveCondor.exiting``):

1. every exit order that filled is *settled*: the flow waits for it to end (at most the fill
   timeout), cancels what is left of it, then waits for the executions of each unit it filled;
2. the units still held are bought back by a chase of closing orders (from the mid towards
   the natural price, a tick per try);
3. if the condor is flat, the exit is journaled with the P&L of every piece; if not, the
   condor is open again and a stop pair sized to the units still held protects it.

A stop that fires while a close chase runs (the OCA group then cancels the close) is settled
by that flow, and the exit becomes the stop's; a stop that fires on its own starts a flow.
A condor cash-settled at the cut-off while its flow runs is closed by the settlement: the flow
then ends without touching it (it never goes from closed back to open).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from loguru import logger

from condordesk.domain.combo import close_order
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.domain.orders import OrderReport, OrderRole, order_ref
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from condordesk.engine.ports import DeskForExits
from condordesk.store.journal import Journal

_D0 = Decimal(0)
STOP_EXITS = {
    OrderRole.STOP_LIMIT: ExitReason.STOP_LIMIT,
    OrderRole.STOP_MARKET: ExitReason.STOP_MARKET,
}


def _state(live: LiveCondor) -> CondorState:
    """The condor's state now (a call, so type checkers do not assume it is unchanged)."""
    return live.state


class ExitFlows:
    """The exit flows of one :class:`~condordesk.engine.desk.Desk` (which owns the orders,
    the stops and the journal they use)."""

    def __init__(self, desk: DeskForExits) -> None:
        self._desk = desk

    @property
    def _journal(self) -> Journal:
        return self._desk.journal

    # -- entry points -------------------------------------------------------------------------

    async def close(
        self,
        live: LiveCondor,
        reason: ExitReason,
        limit: Decimal | None = None,
        cap: Decimal | None = None,
    ) -> bool:
        """Buy the condor back; each closing order joins the stops' OCA group so that only
        one of them can fill. At ``limit`` if given (one try); otherwise chase from the mid
        towards the natural price a tick per try, never paying more than ``cap``.

        Each try buys back the units still held, so a close that filled in part is followed
        by one for the rest; what no try could buy back is protected again (a stop pair of
        its size) and the condor is open again. True once the condor is closed."""
        if live.state is not CondorState.OPEN or live.exiting:
            return False
        live.close_reason = reason
        self._desk.set_state(live, CondorState.CLOSING, exit_reason=reason)
        live.exiting = True
        try:
            reason = await self._chase(live, reason, limit, cap)
            await self._end(live, reason)
        finally:
            live.exiting = False
        return _state(live) is CondorState.CLOSED

    def on_exit_fill(self, live: LiveCondor, role: OrderRole, report: OrderReport) -> None:
        """An exit order of ``live`` filled (maybe only a piece of it): once per order, make
        sure a flow settles it. A stop that fires starts one, and the condor is closing from
        that moment (so the OCA cancel of its sibling is no reason to re-arm stops)."""
        ref = report.order_ref
        if ref in live.exit_refs or live.state not in (CondorState.OPEN, CondorState.CLOSING):
            return
        live.exit_refs.add(ref)
        if role in STOP_EXITS:
            live.stop_state = "triggered"
            self._journal.update_stop(live.oca_group, "triggered")
            self._desk.bus.publish(
                api.StopTriggered(
                    condor_id=live.id, role=role.value, price=report.avg_fill_price or _D0
                )
            )
        if live.exiting:  # the running flow settles it (its own close, or a stop it absorbs)
            if role in STOP_EXITS:
                live.fired.append((role, ref))
            return
        reason = STOP_EXITS.get(role) or live.close_reason or ExitReason.MANUAL
        if live.state is CondorState.OPEN:
            self._desk.set_state(live, CondorState.CLOSING, exit_reason=reason)
        live.close_reason = reason
        live.fired.append((role, ref))
        live.exiting = True  # claimed before the flow runs: later events must see it
        self._desk.spawn(self._after_fill(live, reason))

    async def _after_fill(self, live: LiveCondor, reason: ExitReason) -> None:
        """The flow of an exit order that filled outside a close (a stop, or a close whose
        flow is gone): settle it, buy back what is still held, protect what is not."""
        try:
            reason = await self._chase(live, reason, None, None)
            await self._end(live, reason)
        finally:
            live.exiting = False

    # -- the chase ----------------------------------------------------------------------------

    async def _chase(
        self, live: LiveCondor, reason: ExitReason, limit: Decimal | None, cap: Decimal | None
    ) -> ExitReason:
        """Closing orders for the units held, one try after another; returns the exit reason
        (a stop that fired meanwhile makes it the stop's)."""
        tries = 1 if limit is not None else self._desk.chase_ticks + 1
        last_price: Decimal | None = None
        for attempt in range(tries):
            reason = await self._absorb_fired(live, reason)
            if _state(live) is not CondorState.CLOSING or self._desk.units(live) == 0:
                break  # settled at the cut-off meanwhile, or nothing left to buy back
            price = limit if limit is not None else await self._closing_price(live, attempt)
            if price is not None:  # never more than the condor can be worth (its wider wing)
                price = min(price, max(live.condor.put_width, live.condor.call_width))
            if price is not None and cap is not None:
                price = min(price, cap)
            if price is None or (attempt and cap is not None and price == last_price):
                break
            last_price = price
            units = self._desk.units(live)  # again: a stop may have filled while quotes came
            if live.fired or units == 0:
                continue
            sent, final = await self._send_close(live, reason, price, units)
            if sent and final is None:
                self._desk.alert(
                    "critical",
                    "close_unknown",
                    f"condor {live.id}: the broker never said what became of its close",
                )
                break  # never send another close on top of an order in an unknown state
        return await self._absorb_fired(live, reason)

    async def _closing_price(self, live: LiveCondor, attempt: int) -> Decimal | None:
        """Chase from the mid towards the natural price a tick per attempt; the last attempt
        pays a tick over the natural price so that it fills."""
        quotes = await self._desk.broker.option_quotes(live.condor.contracts, timeout=5.0)
        prices = live.closing_prices(quotes)
        if prices is None:
            logger.warning("no quotes to price the close of {}", live.id)
            return None
        mid, natural = prices
        top = round_to_tick(natural, COMBO_TICK, "up") + COMBO_TICK
        start = max(round_to_tick(mid, COMBO_TICK, "up"), COMBO_TICK)
        if attempt >= self._desk.chase_ticks:
            return max(top, start)
        return min(start + COMBO_TICK * attempt, top)

    async def _send_close(
        self, live: LiveCondor, reason: ExitReason, price: Decimal, units: int
    ) -> tuple[bool, OrderReport | None]:
        """Send one closing order for ``units`` at ``price`` and settle it: (sent, final)."""
        live.close_generation += 1
        ref = order_ref(live.id, OrderRole.CLOSE, live.close_generation)
        request = dataclasses.replace(
            close_order(live.condor, price, ref, quantity=units), oca_group=live.oca_group
        )
        self._desk.bus.publish(
            api.CondorClosing(condor_id=live.id, reason=reason.value, limit=price)
        )
        report = await self._desk.send(live, OrderRole.CLOSE, request)
        if report is None:
            return False, None
        return True, await self._settle(live, ref, report.order_id)

    # -- settling exit orders ---------------------------------------------------------------

    async def _settle(self, live: LiveCondor, ref: str, order_id: int) -> OrderReport | None:
        """Let an exit order end: wait the fill timeout, cancel what is left of it, then wait
        for the executions of every unit it filled. Its final report, or None if unknown."""
        desk = self._desk
        final = await desk.tracker.wait_done(ref, desk.fill_timeout_s)
        if final is None:
            await desk.cancel(order_id)
            final = await desk.tracker.wait_done(ref, desk.fill_timeout_s)
        seen = final or desk.tracker.latest(ref)
        await self._await_fills(live, ref, seen.filled if seen is not None else 0)
        return final

    def _filled_contracts(self, live: LiveCondor, ref: str) -> int:
        return sum(f.execution.quantity for f in self._journal.fills(live.id, order_ref=ref))

    async def _await_fills(self, live: LiveCondor, ref: str, units: int) -> None:
        """Wait (asking the broker too) until the executions of ``units`` filled units of
        ``ref`` are journaled, at most the fill timeout."""
        desk = self._desk
        want = units * len(live.closing)
        deadline = desk.clock.now() + timedelta(seconds=desk.fill_timeout_s)
        while self._filled_contracts(live, ref) < want:
            if desk.clock.now() >= deadline:
                desk.alert(
                    "critical",
                    "fills_missing",
                    f"condor {live.id}: {ref} filled {units} but its executions did not all arrive",
                )
                return
            await desk.sync_executions()
            if self._filled_contracts(live, ref) >= want:
                return
            await desk.new_fills(1.0)

    async def _absorb_fired(self, live: LiveCondor, reason: ExitReason) -> ExitReason:
        """Settle the exit orders that fired (in part) during the flow; a stop's exit is then
        the stop's."""
        while live.fired:
            role, ref = live.fired.pop(0)
            report = self._desk.tracker.latest(ref)
            if report is not None:
                await self._settle(live, ref, report.order_id)
            if role in STOP_EXITS and reason is not STOP_EXITS[role]:
                reason = live.close_reason = STOP_EXITS[role]
                self._journal.update_condor(live.id, exit_reason=reason)
        return reason

    # -- the end of a flow ----------------------------------------------------------------------

    async def _end(self, live: LiveCondor, reason: ExitReason) -> None:
        """Journal the exit if nothing is held; otherwise the condor is open again with a
        working stop pair for what is left."""
        desk = self._desk
        if _state(live) is CondorState.CLOSED:
            return  # cash-settled at the cut-off while the flow ran: the settlement booked it
        if not desk.holds(live):
            desk.finish(live, reason)
            return
        units, total = desk.units(live), live.condor.quantity
        desk.set_state(live, CondorState.OPEN, exit_reason=None)
        live.close_reason = None
        if units == 0:
            desk.alert(
                "critical",
                "position_mismatch",
                f"condor {live.id}: its legs are held unevenly after {reason.value}; "
                "check the broker",
            )
            return
        if units < total:
            desk.alert(
                "warning",
                "close_incomplete",
                f"condor {live.id}: {reason.value} bought back {total - units} of {total} "
                f"units; {units} still held, protected by stops",
            )
        else:
            desk.alert(
                "warning",
                "close_failed",
                f"condor {live.id}: could not close ({reason.value}); stops stay working",
            )
        if not await desk.verify_stops(live):  # re-armed through the stop lock, in place if
            # a whole pair still works, else a new pair once nothing of the old one works
            await desk.place_stops(live, trigger=live.stop.trigger if live.stop else None)
