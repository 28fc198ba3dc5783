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

Records share commits: on the engine's event loop, the records made in one turn of the loop
go into one transaction, committed (one fsync) at the end of that turn by a callback the first
of them schedules (:meth:`Writes.settle`), or at once with the next write that must be on the
disk (an intent, a fill, a stop pair), which joins them and commits before it returns. So
what must be durable before the engine acts still is; a record may reach the disk one loop
turn later than it was made. If the shared commit fails, its records are queued in order as
if each had been refused (nothing is lost), and a write that joined them raises. Outside an
event loop (commands, tests) every write commits on its own, as before. A shared commit holds
the file's write lock until the end of the turn: another journal of the same process (a
restarted engine in a test) commits it before writing itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
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
_SHARING: weakref.WeakSet[Writes] = weakref.WeakSet()
"""Journals of this process with an open shared commit (it holds the file's write lock)."""


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
        self._shared: list[tuple[str, tuple[Any, ...]]] = []
        """Records in the open shared commit (:meth:`settle`), in order."""
        self._sharing = False

    @property
    def _grouped(self) -> bool:
        """A :meth:`transaction` block is open (the records' shared commit is not one)."""
        return self._db.in_transaction and not self._sharing

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically (nestable: inner blocks join the outer one). Every write
        inside raises on failure (none is queued), and the whole group is rolled back."""
        if self._grouped or (_PROTECTING.get() and self._queueing):
            yield  # (protecting while the disk refuses: each write queues, in order)
            return
        _settle_others(self)
        self.settle()
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
        if not self._grouped:
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
        _settle_others(self)
        if self._sharing:
            return self._join_and_commit(sql, tuple(params))
        if not self._grouped:
            self._catch_up()
        return self._strict(sql, params)

    @property
    def _queueing(self) -> bool:
        return self.failing or bool(self._pending)

    def _precede(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor | None:
        """A write that must precede an action (:meth:`_write`); inside :func:`protecting`,
        queued (None) like a record while the disk refuses writes."""
        if _PROTECTING.get() and not self._grouped and self._queueing:
            return self._record(sql, params)
        return self._write(sql, params)

    def _record(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor | None:
        """A write recording what already happened: queued (None) when the disk refuses it,
        or while earlier writes wait; inside a transaction it raises like :meth:`_write`."""
        args = tuple(params)
        _settle_others(self)
        if self._grouped:
            return self._strict(sql, args)
        if not self._pending and (self._sharing or _on_a_loop()):
            return self._share(sql, args)
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

    def _share(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor | None:
        """A record in the loop turn's shared commit (opened, and its commit scheduled, by the
        first record of the turn); queued (None) like any record when the disk refuses it."""
        if not self._sharing:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self._pending.append((sql, args))
                self._failed(exc)
                return None
            self._sharing = True
            _SHARING.add(self)
            asyncio.get_running_loop().call_soon(self.settle)
        try:
            cur = self._db.execute(sql, args)
        except sqlite3.IntegrityError as exc:  # this statement alone is undone; never queued
            raise JournalError(f"journal write refused: {exc}") from exc
        except sqlite3.Error as exc:
            self._unshare(exc, (sql, args))
            return None
        self._shared.append((sql, args))
        return cur

    def _join_and_commit(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        """A write that must be on the disk, made while records share an open commit: it joins
        them and commits them all before it returns; raises if it cannot (they are queued)."""
        try:
            cur = self._db.execute(sql, args)
        except sqlite3.IntegrityError as exc:  # a wrong write, not a failing disk
            raise JournalError(f"journal write refused: {exc}") from exc
        except sqlite3.Error as exc:
            self._unshare(exc)
            raise JournalError(f"journal write failed: {exc}") from exc
        if not self.settle():
            raise JournalError(f"journal write failed: {self.last_error}")
        return cur

    def _unshare(self, exc: sqlite3.Error, also: tuple[str, tuple[Any, ...]] | None = None) -> None:
        """The shared commit failed: roll it back and queue its records (and ``also``) in
        order, as if each had been refused."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as rollback:
                exc = rollback
        self._sharing = False
        _SHARING.discard(self)
        self._pending.extend(self._shared)  # nothing was queued while records shared commits
        self._shared.clear()
        if also is not None:
            self._pending.append(also)
        self._failed(exc)

    def settle(self) -> bool:
        """Commit the records sharing the open commit (called at the end of the loop turn
        that made them, and before any write that must not wait). False if that failed: its
        records are then queued (see :meth:`flush`)."""
        if not self._sharing:
            return True
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._unshare(exc)
            return False
        self._sharing = False
        _SHARING.discard(self)
        self._shared.clear()
        return True

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
        _settle_others(self)
        if not self.settle() or not self._drain():
            return False
        try:
            self._db.execute(_PROBE)
        except sqlite3.Error as exc:
            self._failed(exc)
            return False
        self.failing = False
        return True


def _on_a_loop() -> bool:
    """True on a running asyncio event loop (where records share commits)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _settle_others(writer: Writes) -> None:
    """Commit the shared commits other journals of this process hold open (they hold the write
    lock: ``writer`` would wait for it, blocking the loop that would release it)."""
    if _SHARING and (len(_SHARING) > 1 or writer not in _SHARING):
        for other in list(_SHARING):
            if other is not writer:
                other.settle()
