"""How the journal writes: durably, and without losing anything when the disk refuses.

A write that must be on the disk before the engine acts (a condor, an order intent, a stop
pair, a fill) goes through :meth:`Writes._write`, which raises
:class:`~condordesk.errors.JournalError` when it fails: the order does not leave, the fill is
not applied, and the caller retries. A write that records what already happened (an order's
status, a condor's state, an event, a stop's state, a setting) goes through
:meth:`Writes._record`, which queues it in memory, in order, when the disk refuses it (or
while earlier writes wait); :meth:`Writes.flush` writes the queue once the disk takes writes
again. The queue is bounded (:data:`PENDING_MAX`): past it a write raises, nothing is
dropped. A write the database refuses as wrong (a UNIQUE or foreign-key constraint) is an
error, not an outage: it raises at once and is never queued.

One exception to "raises when it fails": inside :func:`protecting` (a context variable, so
only the asyncio task that entered it), a write that must precede an action
(:meth:`Writes._precede`: a fill, an order intent, a stop pair) is queued like a record
while the disk refuses writes. The engine uses it for one thing only: the stop pair of a
position that already exists at the broker (an entry that filled during an outage), where an
unprotected position is worse than an intent journaled late; the writes land in order, the
fill first, as soon as the disk takes them.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from condordesk.errors import JournalError

PENDING_MAX = 100_000
"""Most writes queued in memory while the disk refuses them (then writes raise)."""
_PROBE = "INSERT OR REPLACE INTO kv (key, value) VALUES ('journal_probe', '1')"
_PROTECTING: ContextVar[bool] = ContextVar("journal_protecting", default=False)


@contextmanager
def protecting() -> Iterator[None]:
    """While in the block (in this asyncio task only), the writes that must precede an action
    are queued instead of refused when the disk refuses them (see the module docstring)."""
    token = _PROTECTING.set(True)
    try:
        yield
    finally:
        _PROTECTING.reset(token)


def is_protecting() -> bool:
    """True inside :func:`protecting` (in this asyncio task)."""
    return _PROTECTING.get()


class Writes:
    """The write paths of :class:`~condordesk.store.journal.Journal` (its base class), over
    the connection ``_db`` the journal opens."""

    _db: sqlite3.Connection

    def __init__(self) -> None:
        self._pending: deque[tuple[str, tuple[Any, ...]]] = deque()
        self.failing = False
        """True from a failed write until :meth:`flush` finds the disk writable again."""
        self.last_error = ""
        self.refused: list[tuple[str, tuple[Any, ...], str]] = []
        """Queued writes the database refused as wrong once the disk was back (kept to see)."""
        self.on_failure: Callable[[str], None] | None = None
        """Called (with the error) at the first failed write of an outage, outside any
        transaction (so that it may write, queued, itself); it must not raise."""
        self._notify_due = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically (nestable: inner blocks join the outer one). Every write
        inside raises on failure (none is queued), and the whole group is rolled back."""
        if self._db.in_transaction or (_PROTECTING.get() and self._queueing):
            yield  # (protecting while the disk refuses: each write queues, in order)
            return
        self._catch_up()
        self._strict("BEGIN IMMEDIATE")
        try:
            yield
            self._strict("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed statement may have rolled back already
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    self._failed(exc)
            self._notify()
            raise

    def _failed(self, exc: sqlite3.Error) -> None:
        self.last_error = str(exc)
        if not self.failing:
            self.failing = True
            self._notify_due = True
        if not self._db.in_transaction:
            self._notify()

    def _notify(self) -> None:
        if self._notify_due:
            self._notify_due = False
            if self.on_failure is not None:
                self.on_failure(self.last_error)

    def _strict(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """A write the caller must not go past unless it is on the disk: raises on failure."""
        try:
            return self._db.execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:  # a wrong write, not a failing disk
            raise JournalError(f"journal write refused: {exc}") from exc
        except sqlite3.Error as exc:
            self._failed(exc)
            raise JournalError(f"journal write failed: {exc}") from exc

    def _catch_up(self) -> None:
        """Write the queued writes first (nothing overtakes them); raises if they cannot be."""
        if self._pending and not self._drain():
            raise JournalError(
                f"journal write failed: {len(self._pending)} earlier write(s) still queued "
                f"({self.last_error})"
            )

    def _write(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """A write that must be on the disk before the caller acts (intent, fill, stop pair)."""
        if not self._db.in_transaction:
            self._catch_up()
        return self._strict(sql, params)

    @property
    def _queueing(self) -> bool:
        return self.failing or bool(self._pending)

    def _precede(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor | None:
        """A write that must precede an action (:meth:`_write`); inside :func:`protecting`,
        queued (None) like a record while the disk refuses writes."""
        if _PROTECTING.get() and not self._db.in_transaction and self._queueing:
            return self._record(sql, params)
        return self._write(sql, params)

    def _record(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor | None:
        """A write recording what already happened: queued (None) when the disk refuses it,
        or while earlier writes wait; inside a transaction it raises like :meth:`_write`."""
        args = tuple(params)
        if self._db.in_transaction:
            return self._strict(sql, args)
        if not self._pending:
            try:
                return self._db.execute(sql, args)
            except sqlite3.IntegrityError as exc:  # would never succeed: not queued
                raise JournalError(f"journal write refused: {exc}") from exc
            except sqlite3.Error as exc:
                self._pending.append((sql, args))  # first: what the hook writes comes after
                self._failed(exc)
                return None
        if len(self._pending) >= PENDING_MAX:
            raise JournalError(
                f"journal write failed: {len(self._pending)} writes queued, none dropped "
                f"({self.last_error})"
            )
        self._pending.append((sql, args))
        return None

    def _drain(self) -> bool:
        """Write the queued writes in order, stopping at the first failure."""
        while self._pending:
            sql, args = self._pending[0]
            try:
                self._db.execute(sql, args)
            except sqlite3.IntegrityError as exc:  # it can never be written: set aside, kept
                self.refused.append((sql, args, str(exc)))
            except sqlite3.Error as exc:
                self._failed(exc)
                return False
            self._pending.popleft()
        return True

    @property
    def pending(self) -> int:
        """Writes queued in memory, waiting for the disk."""
        return len(self._pending)

    def flush(self) -> bool:
        """Write what is queued and check that the disk takes writes. True when the journal
        is whole again (nothing queued, a write succeeded); :attr:`failing` is then False."""
        if not self._drain():
            return False
        try:
            self._db.execute(_PROBE)
        except sqlite3.Error as exc:
            self._failed(exc)
            return False
        self.failing = False
        return True
