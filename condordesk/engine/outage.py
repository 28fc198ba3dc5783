"""Protection while the journal cannot be written.

During a journal outage a trading cycle does nothing but check the daily loss: no entry, close
or stop move can be journaled before it is sent, so none is sent. One thing still must happen:
an open condor whose stop pair is no longer whole (cancelled at the broker from TWS, say, just
before or during the outage) is re-armed at once, as an entry that filled during the outage is
protected (:meth:`~condordesk.engine.desk.Desk.on_entry_filled`): its writes (the cancels of
what is left of the old pair, the new pair's intents and state) run inside
:func:`~condordesk.store.writes.protecting`, queued in the journal in order instead of refused,
and the operator is told (a critical ``outage_protection`` alert). Not while an exit flow runs
for the condor, nor when the operator cancelled its stops (that was journaled before the
outage: an operator's stop command is refused during one). A restart that loses the queued
writes finds the new pair at the broker and adopts it (``stop_adopted``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from loguru import logger

from condordesk.domain.condor import CondorState
from condordesk.engine.book import LiveCondor
from condordesk.engine.reconcile import PROTECTED, left_stopless
from condordesk.errors import BrokerError
from condordesk.store.journal import Journal
from condordesk.store.writes import protecting


class DeskInOutage(Protocol):
    """The desk as the outage protection uses it."""

    journal: Journal
    live: dict[str, LiveCondor]
    alert: Callable[[str, str, str], None]

    async def verify_stops(self, live: LiveCondor) -> bool: ...

    async def cancel_stops(self, live: LiveCondor, reason: str) -> None: ...

    async def place_stops(
        self, live: LiveCondor, trigger: Decimal | None = None, attempts: int = 2
    ) -> bool: ...


def needs_stops(desk: DeskInOutage, live: LiveCondor) -> bool:
    """True for an open condor, no exit flow running, whose stop pair is not known whole and
    that the operator did not leave without stops."""
    if live.state is not CondorState.OPEN or live.exiting or live.stop_state in PROTECTED:
        return False
    return not left_stopless(desk.journal, live.id)


async def keep_protected(desk: DeskInOutage) -> None:
    """Re-arm, with queued writes, every open condor whose stop pair is gone (see the module)."""
    for live in [lc for lc in desk.live.values() if needs_stops(desk, lc)]:
        try:
            with protecting():
                if await desk.verify_stops(live):
                    continue
                await desk.cancel_stops(live, "re-arming during a journal outage")
                await desk.place_stops(live, trigger=live.stop.trigger if live.stop else None)
        except BrokerError as exc:  # the next cycle tries again
            logger.warning("outage protection of {}: {}", live.id, exc)
            continue
        verified = live.stop_state == "verified"
        desk.alert(
            "critical",
            "outage_protection",
            f"condor {live.id}: its stop pair was gone while the journal could not be written; "
            f"re-armed anyway ({'verified' if verified else 'NOT verified'} at the broker), "
            "journaled once the journal takes writes",
        )
