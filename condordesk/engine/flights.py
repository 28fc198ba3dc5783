"""Orders on their way, and entries that fill after the engine gave them up.

A reconciliation compares the journal with what the broker says; an order whose send still
awaits the broker's answer is in neither for sure, so the reconciliation must leave it (and
its condor) alone: :class:`Flights` tracks those sends and the running entry flows, and hands
a reconciliation every ref that was in flight at any moment while it read the broker.

:func:`late_entry` opens and protects a condor whose entry fills after its flow gave up (the
cancel lost the race), instead of leaving it to the next periodic reconciliation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRole, order_ref
from condordesk.engine.book import LiveCondor, entry_fills_complete
from condordesk.engine.ports import DeskForFlights


class Flights:
    """Sends awaiting the broker's answer and running entry flows, by ref."""

    def __init__(self) -> None:
        self.refs: set[str] = set()  # refs whose send awaits the broker's answer
        self.entering: set[str] = set()  # condors whose entry flow runs (it opens them)
        self._watchers: list[set[str]] = []

    @contextlib.contextmanager
    def sending(self, ref: str) -> Iterator[None]:
        """While in the block, ``ref`` is in flight (from its intent to the broker's answer)."""
        self.refs.add(ref)
        self._tell(ref)
        try:
            yield
        finally:
            self.refs.discard(ref)

    @contextlib.contextmanager
    def entering_flow(self, condor_id: str) -> Iterator[None]:
        """While in the block, the entry flow of ``condor_id`` runs."""
        self.entering.add(condor_id)
        self._tell(order_ref(condor_id, OrderRole.ENTRY))
        try:
            yield
        finally:
            self.entering.discard(condor_id)

    @contextlib.contextmanager
    def watched(self) -> Iterator[set[str]]:
        """The refs of every send in flight now or started while in the block, and the entry
        refs of running entry flows (a reconciliation leaves their orders and condors alone:
        their answers are not in)."""
        seen = set(self.refs) | {order_ref(c, OrderRole.ENTRY) for c in self.entering}
        self._watchers.append(seen)
        try:
            yield seen
        finally:
            self._watchers.remove(seen)

    def _tell(self, ref: str) -> None:
        for watcher in self._watchers:
            watcher.add(ref)


async def late_entry(desk: DeskForFlights, condor_id: str) -> None:
    """The entry of a condor whose entry flow gave up (timed out, cancelled, even journaled as
    not filled) filled after all: once all its legs are in, open it and place its stops. The
    broker's fills are the truth: a condor cancelled as not filled is revived."""
    journal = desk.journal
    live = desk.live.get(condor_id)
    rec = journal.condor(condor_id) if live is None else None
    condor = live.condor if live is not None else rec.condor if rec is not None else None
    if condor is None or not entry_fills_complete(desk.fills(condor_id), condor)[1]:
        return  # not all of it yet (a partial entry is the reconciliation's finding)
    if live is None and rec is not None and rec.state is CondorState.CANCELLED:
        live = LiveCondor.from_record(rec, journal.orders(condor_id))
        live.state = CondorState.WORKING
        journal.update_condor(
            condor_id,
            state=CondorState.WORKING,
            exit_reason=None,
            closed_ts=None,
            realized_pnl=None,
            note="its entry filled after it was given up",
        )
        desk.live[condor_id] = live
    if live is None or live.state is not CondorState.WORKING:
        return
    desk.alert(
        "warning",
        "late_entry_fill",
        f"condor {condor_id}: its entry filled after the engine gave it up; "
        "opened and protected it now",
    )
    await desk.on_entry_filled(live)
