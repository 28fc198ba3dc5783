"""Rows read again unchanged are not parsed again; a row that changed is never served stale."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRole, OrderStatus
from condordesk.store.journal import Journal
from condordesk.store.records import RowCache
from tests.unit.test_journal import T0, execution, record, request, stop


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3")
    yield j
    j.close()


def _rows(db: sqlite3.Connection) -> list[sqlite3.Row]:
    return db.execute("SELECT * FROM t ORDER BY k").fetchall()


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [("a", "1"), ("b", "2")])
    yield conn
    conn.close()


def test_a_row_read_again_unchanged_is_parsed_once(db: sqlite3.Connection) -> None:
    parsed: list[str] = []

    def parse(row: sqlite3.Row) -> Decimal:
        parsed.append(row["k"])
        return Decimal(row["v"])

    cache = RowCache(parse)
    first = [cache(r) for r in _rows(db)]
    again = [cache(r) for r in _rows(db)]
    assert again == first == [Decimal(1), Decimal(2)]
    assert parsed == ["a", "b"]
    db.execute("UPDATE t SET v = '3' WHERE k = 'b'")
    assert [cache(r) for r in _rows(db)] == [Decimal(1), Decimal(3)]
    assert parsed == ["a", "b", "b"]


def test_the_cache_is_bounded(db: sqlite3.Connection) -> None:
    cache = RowCache(lambda row: row["v"], limit=1)
    assert [cache(r) for r in _rows(db)] == ["1", "2"]
    assert len(cache._seen) == 1


def test_records_read_again_reflect_every_change(journal: Journal) -> None:
    journal.insert_condor(record("c1"))
    journal.record_intent("c1", OrderRole.ENTRY, request("c1"), T0)
    journal.record_fill(execution("e1", "cd:c1:entry"), "c1")
    journal.record_stop(stop("c1", "oca-1"))
    before = (journal.condor("c1"), journal.orders("c1"), journal.fills("c1"), journal.stops("c1"))
    assert before == (
        journal.condor("c1"),
        journal.orders("c1"),
        journal.fills("c1"),
        journal.stops("c1"),
    )
    journal.update_condor("c1", state=CondorState.OPEN, credit=Decimal("1.45"))
    journal.update_order("cd:c1:entry", status=OrderStatus.FILLED.value, ts=T0, order_id=7)
    journal.record_commission("e1", Decimal("2.60"))
    journal.update_stop("oca-1", "verified")
    condor = journal.condor("c1")
    assert condor is not None
    assert (condor.state, condor.credit) == (CondorState.OPEN, Decimal("1.45"))
    assert [(o.status, o.order_id) for o in journal.orders("c1")] == [("filled", 7)]
    assert journal.orders(working_only=True) == []
    assert [f.commission for f in journal.fills("c1")] == [Decimal("2.60")]
    assert [s.state for s in journal.stops("c1")] == ["verified"]


def test_fills_of_several_condors_in_one_read_keep_each_condors_order(journal: Journal) -> None:
    for cid in ("c1", "c2", "c3"):
        journal.insert_condor(record(cid))
    journal.record_fill(execution("e2", "cd:c1:entry", ts=T0.replace(second=2)), "c1")
    journal.record_fill(execution("e1", "cd:c1:entry", ts=T0.replace(second=1)), "c1")
    journal.record_fill(execution("e3", "cd:c2:entry"), "c2")
    got = journal.fills_of(["c1", "c2", "c3"])
    assert {cid: [f.exec_id for f in fills] for cid, fills in got.items()} == {
        "c1": ["e1", "e2"],
        "c2": ["e3"],
        "c3": [],
    }
    assert got["c1"] == journal.fills("c1")
    assert journal.fills_of([]) == {}
