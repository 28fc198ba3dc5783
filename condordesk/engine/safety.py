"""The engine's safe state: faults contained, and a journal that refuses writes survived.

Nothing that goes wrong inside the engine stops it. An exception in a trading cycle, an exit
flow, a background task, the broker-event consumer, an operator command or the heartbeat is
*contained* (:meth:`Safety.contain`): logged with its traceback, alerted as critical, entries
paused (kind ``fault``), the stops left as they are at the broker, and a reconciliation with
the broker's truth is due at the next cycle (it repairs a state the engine could not reach
legally, e.g. a condor left closing by a flow that died). The ``fault`` pause lasts the
session: the next daily reset (or a restart) lifts it.

When the journal refuses writes (disk full, I/O error, a lock held too long) the engine
*fails closed* (:meth:`Safety.journal_failed`): entries are paused at once (kind
``journal``), the alert reaches the listeners (the phone) even though it cannot be journaled
yet, systemd hears it in the status line, and a recovery task retries the queued writes and
the refused fills with a growing backoff on the engine's clock. Nothing is dropped: an
execution counts as applied only once journaled. Meanwhile no order leaves (its intent could
not be journaled first): the cycle sends no entry or exit, and operator commands that would
send one are refused with the reason (:meth:`Safety.refusal`); pausing still works.

An entry order already working at the broker could still fill, unseen by the journal: at the
first failed write it is cancelled (:meth:`~condordesk.engine.desk.Desk.cancel_entries`; a
cancel adds no risk and needs no intent; the alert names it), and an entry sent while the
journal failed is cancelled as soon as its send returns. An entry that fills before its cancel
lands is protected anyway, because an unprotected condor is worse than an intent journaled late:
its fills count for it (:meth:`~condordesk.engine.desk.Desk.fills`), and its opening and stop
pair run inside :func:`~condordesk.store.writes.protecting`, which queues the fills, the
condor's state, the pair and its intents in the journal in that order (the exit budget is asked
of the broker as always, under the stop lock); a critical ``outage_protection`` alert tells the
operator. Besides cancels, that pair (and, should it fail to be placed twice, the buy-back a
protection failure calls for) is the only order that leaves during an outage. If the engine dies
before the disk is back, those queued writes are lost, but the pair works at the broker with our
refs: the restarted engine learns the fills from the broker, and its re-arm (and the
reconciliation) takes a pair of a newer generation than its journal knows as the condor's
protection (journaled, ``stop_adopted``), never as an unknown order to cancel; the generation
goes on from it, so no ref is sent twice.

When the journal takes writes again, the engine lifts its own ``journal`` pause (no other),
alerts that it is back, and reconciles. If the journal stays down longer than
:data:`OUTAGE_MAX_S`, the supervisor's watchdog is failed, so systemd sees a service that
cannot work instead of a quiet one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from loguru import logger

from condordesk.engine import api
from condordesk.engine.pauses import FAULT, JOURNAL
from condordesk.engine.ports import EngineForSafety
from condordesk.errors import JournalError

RETRY_FIRST_S = 1.0
"""First wait (clock seconds) before the queued journal writes are tried again."""
RETRY_MAX_S = 10.0
"""Longest wait between two tries (the wait doubles after each failed try)."""
OUTAGE_MAX_S = 300.0
"""A journal down this long (clock seconds) fails the supervisor's watchdog."""
RESTORED = "the journal takes writes again"
"""Why the open ``journal`` alert cleared (what a console shows)."""
_SENDS_ORDERS = (api.CloseCondor, api.FlattenAll, api.MoveStop, api.ArmStops)
REPEAT_QUIET_S = 600.0
"""The same fault again (same place, same exception type) within this many clock seconds is
logged but neither alerted nor reconciled again (a fault that repeats every cycle must not
flood the phone or the broker)."""


class Safety:
    """The safe-state keeper of one :class:`~condordesk.engine.service.Engine`.

    Args:
        engine: The engine it guards; its journal's failures are reported here from now on.
    """

    def __init__(self, engine: EngineForSafety) -> None:
        self._engine = engine
        self.journal_down_since: datetime | None = None
        self.reconcile_due: str | None = None
        """Why a reconciliation is due at the next cycle (None when none is)."""
        self.faults = 0
        self.watchdog_failed = False
        self._seen: dict[tuple[str, str], datetime] = {}  # last alert per (where, type)
        self._recovery: asyncio.Task[None] | None = None
        engine.journal.on_failure = self.journal_failed

    # -- faults -----------------------------------------------------------------------------

    def contain(self, where: str, exc: BaseException) -> None:
        """Take the engine to the safe state after ``exc`` escaped ``where``. Never raises."""
        try:
            self._contain(where, exc)
        except Exception as inner:  # the last line: log it, whatever it is
            logger.opt(exception=inner).critical("containing a fault in {} failed", where)

    def _contain(self, where: str, exc: BaseException) -> None:
        engine = self._engine
        if isinstance(exc, JournalError) and engine.journal.failing:
            # the journal's own failure: already paused and alerted, the recovery reconciles
            logger.error("{} stopped: {}", where, exc)
            return
        self.faults += 1
        logger.opt(exception=exc).critical("{} failed: {}: {}", where, type(exc).__name__, exc)
        engine.add_pause(FAULT, f"fault: {where} failed ({type(exc).__name__})", "engine")
        now, key = engine.clock.now(), (where, type(exc).__name__)
        last = self._seen.get(key)
        if last is not None and (now - last).total_seconds() < REPEAT_QUIET_S:
            return  # already alerted and reconciled for this very fault
        self._seen[key] = now
        engine.alert(
            "critical",
            "fault",
            f"{where} failed ({type(exc).__name__}: {exc}); entries paused, stops kept at the "
            "broker, reconciling with the broker",
        )
        self.reconcile_due = "fault"
        self.tell_supervisor()

    def refusal(self, command: api.Command) -> api.Ack | None:
        """The refusal of a command that would send an order while the journal cannot be
        written (its intent could not be journaled first), or None."""
        if self._engine.journal.failing and isinstance(command, _SENDS_ORDERS):
            return api.Ack(
                False,
                "the journal cannot be written: no order can leave until it can "
                "(the stops stay at the broker)",
            )
        return None

    def take_reconcile(self) -> str | None:
        """The reason of a due reconciliation (and it is no longer due), or None."""
        due, self.reconcile_due = self.reconcile_due, None
        return due

    def started(self) -> None:
        """The engine is connected and reconciled: a journal pause left by an earlier run is
        lifted if the journal takes writes now."""
        if self._engine.journal.failing:  # it failed before the loop ran: retry from now
            self._start_recovery()
        elif JOURNAL in self._engine.pauses:
            self._engine.lift_pause(JOURNAL, "engine")

    def new_session(self) -> None:
        """A daily reset: a fault of the last session no longer holds entries back."""
        self._engine.lift_pause(FAULT, "engine")

    # -- the journal ---------------------------------------------------------------------

    def journal_failed(self, error: str) -> None:
        """The journal refused a write (its first failure of an outage). Never raises."""
        try:
            engine = self._engine
            self.journal_down_since = engine.clock.now()
            cancelled = engine.desk.cancel_entries()  # a fill of one could not be journaled
            engine.add_pause(JOURNAL, f"journal: cannot write ({error})", "engine")
            engine.alert(
                "critical",
                "journal",
                f"the journal cannot be written ({error}): entries paused"
                + (f", working entries cancelled ({', '.join(cancelled)})" if cancelled else "")
                + ", stops stay at the broker, retrying the writes",
            )
            self.tell_supervisor()
            self._start_recovery()
        except Exception as exc:
            logger.opt(exception=exc).critical("handling a journal failure failed")

    def _start_recovery(self) -> None:
        if self._recovery is not None and not self._recovery.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the engine's next start retries
            return
        self._recovery = loop.create_task(self._recover(), name="journal-recovery")
        self._recovery.add_done_callback(self._recovery_done)

    def _recovery_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.contain("journal recovery", exc)

    def whole(self) -> bool:
        """Try the queued writes and the refused fills; True once nothing is left."""
        engine = self._engine
        return engine.journal.flush() and engine.desk.retry_fills() and engine.journal.flush()

    async def _recover(self) -> None:
        engine = self._engine
        delay = RETRY_FIRST_S
        while True:
            await engine.clock.sleep(delay)
            if not self.whole():
                delay = min(delay * 2, RETRY_MAX_S)
                self._check_outage()
                continue
            self._restored()
            if not engine.journal.failing:  # (the restoring writes may have failed again)
                return
            delay = RETRY_FIRST_S

    def _restored(self) -> None:
        engine = self._engine
        since = self.journal_down_since
        self.journal_down_since = None
        seconds = (engine.clock.now() - since).total_seconds() if since else 0.0
        engine.lift_pause(JOURNAL, "engine")
        if engine.journal.failing:  # lifting it was a write, and the disk refused it again
            return
        engine.alert(
            "info",
            "journal_restored",
            f"the journal takes writes again after {seconds:.0f}s: the queued writes and fills "
            "are journaled; reconciling with the broker",
        )
        for text in [a for a in engine.open_alerts if a.startswith(f"{JOURNAL}: ")]:
            engine.open_alerts.remove(text)  # its condition is over (consoles close it too)
            engine.bus.publish(
                api.AlertCleared(code=JOURNAL, condor_id="", alert=text, reason=RESTORED)
            )
        self.reconcile_due = "journal restored"
        self.tell_supervisor()

    def _check_outage(self) -> None:
        engine, since = self._engine, self.journal_down_since
        if self.watchdog_failed or since is None:
            return
        if (engine.clock.now() - since).total_seconds() < OUTAGE_MAX_S:
            return
        self.watchdog_failed = True
        engine.alert(
            "critical",
            "journal_outage",
            f"the journal has refused writes for {OUTAGE_MAX_S:.0f}s "
            f"({engine.journal.pending} write(s) queued); failing the supervisor's watchdog",
        )
        if engine.heartbeat_failed is not None:
            engine.heartbeat_failed(engine.status_line())

    def status(self) -> list[str]:
        """What a supervisor's status line must say first (empty when all is well)."""
        if self.journal_down_since is None:
            return []
        queued = self._engine.journal.pending + self._engine.desk.unjournaled
        return [f"JOURNAL FAILING ({queued} write(s) waiting)"]

    def tell_supervisor(self) -> None:
        """Send the status line to the supervisor now (systemd's STATUS=)."""
        engine = self._engine
        if engine.heartbeat is None:
            return
        try:
            engine.heartbeat(engine.status_line())
        except Exception as exc:
            logger.opt(exception=exc).error("could not report the status to the supervisor")

    async def stop(self) -> None:
        """At shutdown: a last try at the queued writes, then stop retrying."""
        if self._engine.journal.failing and not self.whole():
            logger.critical(
                "stopping with {} journal write(s) and {} fill(s) not journaled; the next "
                "start reconciles them from the broker's executions of its trading day (a "
                "fill of an earlier day is only in the lines below)",
                self._engine.journal.pending,
                self._engine.desk.unjournaled,
            )
            for e in self._engine.desk.unjournaled_fills():  # the operator's record of them
                logger.critical(
                    "not journaled: fill {} of {}: {} {} {} at {} ({:%Y-%m-%d %H:%M:%S} UTC)",
                    e.exec_id,
                    e.order_ref,
                    e.side.value,
                    e.quantity,
                    e.contract.symbol,
                    e.price,
                    e.ts,
                )
        if self._recovery is not None and not self._recovery.done():
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
