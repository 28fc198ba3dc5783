"""The SQLite journal: every intent, order, fill, stop, condor and event, durably.

One file per profile, WAL mode with ``synchronous=FULL``: a commit returns only once the WAL
is on the disk, so an intent committed before its order leaves survives a power cut (NORMAL
could lose the last commits). The schema is versioned (``PRAGMA user_version``) and migrated
forward on open. A fill is keyed by the broker's exec id: recording the same execution twice
is a no-op, which makes broker replays harmless.

Failing writes (disk full, I/O error, a lock held too long) never lose anything: see
:mod:`condordesk.store.writes` (what raises, what is queued in order and flushed later, and
how the records of one event-loop turn share a commit).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from condordesk.domain.condor import CondorState, ExitReason
from condordesk.domain.orders import Execution, OrderRequest, OrderRole
from condordesk.errors import JournalError
from condordesk.ops import fsafe
from condordesk.store.records import CondorRecord as CondorRecord
from condordesk.store.records import FillRecord as FillRecord
from condordesk.store.records import OrderRecord as OrderRecord
from condordesk.store.records import (
    RowCache,
    condor_from_row,
    fill_from_row,
    order_from_row,
    stop_from_row,
)
from condordesk.store.records import StopRecord as StopRecord
from condordesk.store.schema import MIGRATIONS, SCHEMA_VERSION
from condordesk.store.serial import request_to_json
from condordesk.store.writes import Writes


def _private_files(path: Path) -> None:
    """The journal and its ``-wal``/``-shm`` are this user's alone (0600, in a directory that
    is checked or created 0700), never reached through a symlink: the file is made here, so
    SQLite opens an existing 0600 file and gives the ``-wal``/``-shm`` its mode."""
    fsafe.private_file(path)
    for suffix in ("-wal", "-shm"):
        fsafe.check_existing(Path(f"{path}{suffix}"))


_CondorQuery = tuple[date | None, tuple[str, ...] | None]
_CONDOR_READS_KEPT = 16
"""Distinct condors() queries whose answers are kept (forgotten all at once beyond this)."""


class Journal(Writes):
    """The journal of one profile. Not thread-safe: one engine (one event loop) owns it.

    Raises:
        JournalError: the file cannot be opened, migrated or written.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        super().__init__()
        self._condor_from_row = RowCache(condor_from_row)
        self._order_from_row = RowCache(order_from_row)
        self._fill_from_row = RowCache(fill_from_row)
        self._stop_from_row = RowCache(stop_from_row)
        # condors() answers by query, kept with the version read outside a transaction
        self._condor_reads: dict[_CondorQuery, tuple[tuple[int, int], list[CondorRecord]]] = {}
        try:
            if str(path) != ":memory:":
                _private_files(self.path)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._check_version()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {path}: {exc}") from exc

    # -- plumbing -------------------------------------------------------------------------

    def _check_version(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            self._db.close()
            raise JournalError(
                f"journal {self.path} has schema {version}, newer than this condordesk "
                f"({SCHEMA_VERSION}); upgrade condordesk"
            )

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={target}")

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise JournalError(f"journal read failed: {exc}") from exc

    def version(self) -> tuple[int, int]:
        """What the journal holds, as this connection reads it, in two counters: the rows this
        connection has written, and SQLite's data version (which moves when another
        connection commits). Two equal versions read the same contents."""
        other = int(self._exec("PRAGMA data_version").fetchone()[0])
        return self._db.total_changes, other

    def _read_version(self) -> tuple[int, int] | None:
        """:meth:`version` outside a transaction, None inside one."""
        try:
            inside = self._db.in_transaction
        except sqlite3.Error as exc:  # closed
            raise JournalError(f"journal read failed: {exc}") from exc
        return None if inside else self.version()

    def close(self) -> None:
        """Write what is queued (if the disk takes it), checkpoint and close."""
        try:
            self.settle()
            self._drain()
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()

    # -- condors --------------------------------------------------------------------------

    def insert_condor(self, rec: CondorRecord) -> None:
        """Journal a new condor (state ``working``) before its entry order leaves."""
        c = rec.condor
        self._write(
            "INSERT INTO condors (id, day, state, created_ts, expiry, long_put, short_put, "
            "short_call, long_call, quantity, target_credit, first_trade) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rec.id,
                rec.day.isoformat(),
                rec.state.value,
                rec.created_ts.isoformat(),
                c.expiry.isoformat(),
                str(c.long_put),
                str(c.short_put),
                str(c.short_call),
                str(c.long_call),
                c.quantity,
                str(rec.target_credit),
                int(rec.first_trade),
            ),
        )

    _CONDOR_FIELDS = frozenset(
        {
            "state",
            "credit",
            "opened_ts",
            "closed_ts",
            "exit_reason",
            "exit_debit",
            "commissions",
            "realized_pnl",
            "profit_target",
            "stop_trigger",
            "stop_limit",
            "stop_backup",
            "note",
        }
    )

    def update_condor(self, condor_id: str, **fields: Any) -> None:
        """Update journaled fields of a condor (Decimal, datetime and enums stored as text)."""
        unknown = set(fields) - self._CONDOR_FIELDS
        if unknown:
            raise ValueError(f"unknown condor fields: {sorted(unknown)}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        values = [_to_sql(v) for v in fields.values()]
        self._record(f"UPDATE condors SET {cols} WHERE id = ?", [*values, condor_id])  # noqa: S608
        if "state" in fields:  # a condor's state is on the disk at once (restarts start there)
            self.settle()

    def condor(self, condor_id: str) -> CondorRecord | None:
        """One condor by id."""
        row = self._exec("SELECT * FROM condors WHERE id = ?", (condor_id,)).fetchone()
        return None if row is None else self._condor_from_row(row)

    def condors(
        self, *, day: date | None = None, states: Iterable[CondorState] | None = None
    ) -> list[CondorRecord]:
        """Condors, oldest first, filtered by trading day and/or states.

        Outside a transaction the answer is kept with :meth:`version` and given again while
        the version stays (the engine's reconciliation asks every few minutes, mostly of an
        unchanged journal); inside one (rows not committed yet, which a rollback could take
        back without moving the version) the journal is always read."""
        wanted = None if states is None else tuple(s.value for s in states)
        key = (day, wanted)
        kept = self._read_version()
        if kept is not None:
            known = self._condor_reads.get(key)
            if known is not None and known[0] == kept:
                return list(known[1])
        sql, params = "SELECT * FROM condors WHERE 1=1", []
        if day is not None:
            sql += " AND day = ?"
            params.append(day.isoformat())
        if wanted is not None:
            sql += f" AND state IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        rows = self._exec(sql + " ORDER BY created_ts, id", params).fetchall()
        records = [self._condor_from_row(r) for r in rows]
        if kept is not None:
            if len(self._condor_reads) >= _CONDOR_READS_KEPT:
                self._condor_reads.clear()
            self._condor_reads[key] = (kept, records)
        return list(records)

    # -- orders ---------------------------------------------------------------------------

    def record_intent(
        self, condor_id: str, role: OrderRole, request: OrderRequest, ts: datetime
    ) -> None:
        """Journal an order before it is sent (status ``intent``)."""
        self._precede(
            "INSERT INTO orders (order_ref, condor_id, role, request, status, created_ts) "
            "VALUES (?,?,?,?,?,?)",
            (
                request.order_ref,
                condor_id,
                role.value,
                json.dumps(request_to_json(request)),
                "intent",
                ts.isoformat(),
            ),
        )

    def update_order(
        self,
        order_ref: str,
        *,
        status: str,
        ts: datetime,
        order_id: int | None = None,
        perm_id: int | None = None,
        filled: int | None = None,
        avg_price: Decimal | None = None,
        reason: str | None = None,
    ) -> None:
        """Record what the broker said about an order (ids, status, fills, reason)."""
        self._record(
            "UPDATE orders SET updated_ts = ?, "
            "order_id = COALESCE(?, order_id), perm_id = COALESCE(?, perm_id), "
            "filled = CASE WHEN status IN ('filled', 'cancelled', 'rejected') THEN filled "
            "ELSE COALESCE(?, filled) END, "
            "avg_price = CASE WHEN status IN ('filled', 'cancelled', 'rejected') THEN avg_price "
            "ELSE COALESCE(?, avg_price) END, "
            "reason = CASE WHEN status IN ('filled', 'cancelled', 'rejected') THEN reason "
            "ELSE COALESCE(?, reason) END, "
            "status = CASE WHEN status IN ('filled', 'cancelled', 'rejected') THEN status "
            "ELSE ? END WHERE order_ref = ?",
            (
                ts.isoformat(),
                order_id,
                perm_id,
                filled,
                _to_sql(avg_price),
                reason,
                status,
                order_ref,
            ),
        )

    def order(self, order_ref: str) -> OrderRecord | None:
        """One order by its ``orderRef``."""
        row = self._exec("SELECT * FROM orders WHERE order_ref = ?", (order_ref,)).fetchone()
        return None if row is None else self._order_from_row(row)

    def order_by_id(self, order_id: int) -> OrderRecord | None:
        """One order by broker order id."""
        row = self._exec(
            "SELECT * FROM orders WHERE order_id = ? ORDER BY created_ts DESC", (order_id,)
        ).fetchone()
        return None if row is None else self._order_from_row(row)

    def orders(
        self, condor_id: str | None = None, *, working_only: bool = False
    ) -> list[OrderRecord]:
        """Orders, oldest first."""
        sql, params = "SELECT * FROM orders WHERE 1=1", []
        if condor_id is not None:
            sql += " AND condor_id = ?"
            params.append(condor_id)
        if working_only:
            sql += " AND status IN ('intent', 'pending', 'working')"
        return [
            self._order_from_row(r) for r in self._exec(sql + " ORDER BY rowid", params).fetchall()
        ]

    # -- fills ----------------------------------------------------------------------------

    def record_fill(self, execution: Execution, condor_id: str | None) -> bool:
        """Journal an execution. Returns False (and changes nothing) if it was seen before."""
        e = execution
        cur = self._precede(
            "INSERT OR IGNORE INTO fills (exec_id, order_ref, order_id, perm_id, condor_id, "
            "contract, side, quantity, price, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                e.exec_id,
                e.order_ref,
                e.order_id,
                e.perm_id,
                condor_id,
                json.dumps(e.contract.to_json()),
                e.side.value,
                e.quantity,
                str(e.price),
                e.ts.isoformat(),
            ),
        )
        return cur is None or cur.rowcount == 1  # (None: queued, see ``writes.protecting``)

    def record_commission(self, exec_id: str, commission: Decimal) -> bool:
        """Attach a commission to a fill. False if the fill is unknown or already has it (or
        the write is queued: the caller asks again later)."""
        cur = self._record(
            "UPDATE fills SET commission = ? WHERE exec_id = ? AND commission IS NULL",
            (str(commission), exec_id),
        )
        return cur is not None and cur.rowcount == 1

    def fills(self, condor_id: str | None = None, order_ref: str | None = None) -> list[FillRecord]:
        """Fills, in execution order."""
        sql, params = "SELECT * FROM fills WHERE 1=1", []
        if condor_id is not None:
            sql += " AND condor_id = ?"
            params.append(condor_id)
        if order_ref is not None:
            sql += " AND order_ref = ?"
            params.append(order_ref)
        return [self._fill_from_row(r) for r in self._exec(sql + " ORDER BY ts, exec_id", params)]

    def fills_of(self, condor_ids: Iterable[str]) -> dict[str, list[FillRecord]]:
        """The fills of each of ``condor_ids`` (one query), each condor's in execution order."""
        out: dict[str, list[FillRecord]] = {cid: [] for cid in condor_ids}
        if out:
            marks = ",".join("?" * len(out))
            sql = f"SELECT * FROM fills WHERE condor_id IN ({marks}) ORDER BY ts, exec_id"  # noqa: S608
            for row in self._exec(sql, out):
                rec = self._fill_from_row(row)
                out[str(rec.condor_id)].append(rec)
        return out

    def fill_condor(self, exec_id: str) -> str | None:
        """The condor a journaled fill belongs to (None: unknown fill, or not a condor's)."""
        row = self._exec("SELECT condor_id FROM fills WHERE exec_id = ?", (exec_id,)).fetchone()
        return None if row is None else row["condor_id"]

    # -- stops ----------------------------------------------------------------------------

    def record_stop(self, stop: StopRecord) -> None:
        """Journal an OCA stop pair (before its orders leave)."""
        self._precede(
            "INSERT INTO stops (condor_id, oca_group, limit_ref, market_ref, trigger, "
            "limit_price, backup_trigger, state, placed_ts) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                stop.condor_id,
                stop.oca_group,
                stop.limit_ref,
                stop.market_ref,
                str(stop.trigger),
                str(stop.limit_price),
                str(stop.backup_trigger),
                stop.state,
                stop.placed_ts.isoformat(),
            ),
        )

    def update_stop(self, oca_group: str, state: str) -> None:
        """Set the state of a stop pair."""
        self._record("UPDATE stops SET state = ? WHERE oca_group = ?", (state, oca_group))

    def reprice_stop(
        self,
        oca_group: str,
        trigger: Decimal,
        limit_price: Decimal,
        backup_trigger: Decimal,
        state: str,
    ) -> None:
        """Set the prices of a stop pair modified in place (before the modification leaves,
        and again with the prices actually working if it was refused)."""
        self._write(
            "UPDATE stops SET trigger = ?, limit_price = ?, backup_trigger = ?, state = ? "
            "WHERE oca_group = ?",
            (str(trigger), str(limit_price), str(backup_trigger), state, oca_group),
        )

    def stops(self, condor_id: str) -> list[StopRecord]:
        """Stop pairs of a condor, oldest first."""
        rows = self._exec("SELECT * FROM stops WHERE condor_id = ? ORDER BY rowid", (condor_id,))
        return [self._stop_from_row(r) for r in rows]

    # -- events and daily P&L -------------------------------------------------------------

    def append_event(self, seq: int, ts: datetime, kind: str, payload: dict[str, Any]) -> None:
        """Journal an engine event."""
        self._record(
            "INSERT OR REPLACE INTO events (seq, ts, kind, payload) VALUES (?,?,?,?)",
            (seq, ts.isoformat(), kind, json.dumps(payload, default=str)),
        )

    def events(
        self, since: int = 0, limit: int = 1000
    ) -> list[tuple[int, datetime, str, dict[str, Any]]]:
        """Journaled events with ``seq > since``."""
        rows = self._exec(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, limit)
        ).fetchall()
        return [
            (r["seq"], datetime.fromisoformat(r["ts"]), r["kind"], json.loads(r["payload"]))
            for r in rows
        ]

    def last_event_seq(self) -> int:
        """Highest journaled event seq (0 for a new journal)."""
        return int(self._exec("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def save_daily(self, day: date, **figures: Decimal | int) -> None:
        """Upsert a day's figures (realized, commissions, opened, closed, ...)."""
        self._record(
            "INSERT INTO daily (day, figures) VALUES (?, ?) "
            "ON CONFLICT(day) DO UPDATE SET figures = excluded.figures",
            (day.isoformat(), json.dumps({k: str(v) for k, v in figures.items()})),
        )

    def daily(self, day: date) -> dict[str, str] | None:
        """A day's figures as text, or None."""
        row = self._exec("SELECT figures FROM daily WHERE day = ?", (day.isoformat(),)).fetchone()
        return None if row is None else dict(json.loads(row["figures"]))

    def get_state(self, key: str) -> str | None:
        """A small persisted engine setting (e.g. entries paused by the operator)."""
        row = self._exec("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_state(self, key: str, value: str | None) -> None:
        """Set or clear a persisted engine setting."""
        if value is None:
            self._record("DELETE FROM kv WHERE key = ?", (key,))
        else:
            self._record("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def purge_before(self, cutoff: date) -> int:
        """Delete finished condors (with their orders, fills, stops), events and daily rows
        older than ``cutoff``. Live condors are never deleted. Returns rows removed."""
        day = cutoff.isoformat()
        removed = 0
        with self.transaction():
            old = "SELECT id FROM condors WHERE day < ? AND state IN ('closed', 'cancelled')"
            for table in ("fills", "stops", "orders"):
                removed += self._write(
                    f"DELETE FROM {table} WHERE condor_id IN ({old})",  # noqa: S608 (fixed names)
                    (day,),
                ).rowcount
            removed += self._write(
                "DELETE FROM condors WHERE day < ? AND state IN ('closed', 'cancelled')", (day,)
            ).rowcount
            removed += self._write(
                "DELETE FROM events WHERE substr(ts, 1, 10) < ?", (day,)
            ).rowcount
            removed += self._write("DELETE FROM daily WHERE day < ?", (day,)).rowcount
        return removed


def _to_sql(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, Decimal | ExitReason | CondorState):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    raise TypeError(f"cannot store {type(value).__name__} in the journal")
