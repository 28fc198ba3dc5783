"""Journal.condors keeps its answer while the journal stays as it was.

The engine's reconciliation reads the live condors twice every few minutes, mostly of an
unchanged journal. Outside a transaction an answer is kept with the journal's version
(this connection's changes, SQLite's data version) and given again while it holds: any
write of this journal or commit of another one reads afresh, and so does every read inside
a transaction (a rollback takes rows back without moving the version).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState, IronCondor
from condordesk.store.journal import CondorRecord, Journal

D = Decimal
DAY = date(2026, 11, 27)
T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
LIVE = [s for s in CondorState if s.is_live]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    j = Journal(path)
    yield j
    j.close()


def _record(cid: str, minutes: int = 0, day: date = DAY) -> CondorRecord:
    return CondorRecord(
        id=cid,
        day=day,
        condor=IronCondor(day, D(5950), D(5960), D(6040), D(6050)),
        state=CondorState.WORKING,
        created_ts=T0 + timedelta(minutes=minutes),
        target_credit=D("1.45"),
    )


def _condor_queries(journal: Journal) -> list[str]:
    """Statements reading the condors table, as SQLite runs them from now on."""
    seen: list[str] = []
    journal._db.set_trace_callback(  # counting the reads is the point
        lambda sql: seen.append(sql) if sql.startswith("SELECT * FROM condors") else None
    )
    return seen


def _ids(records: list[CondorRecord]) -> list[str]:
    return [r.id for r in records]


def test_an_unchanged_journal_answers_again_without_reading(journal: Journal) -> None:
    journal.insert_condor(_record("a"))
    journal.insert_condor(_record("b", 5))
    first = journal.condors(states=LIVE)
    queries = _condor_queries(journal)
    for _ in range(3):
        again = journal.condors(states=LIVE)
        assert again == first
        assert again is not first
    assert queries == []
    again.clear()  # the caller's list: the kept answer is not touched
    assert _ids(journal.condors(states=LIVE)) == ["a", "b"]
    assert _ids(journal.condors()) == ["a", "b"]  # another query is read once
    assert len(queries) == 1


def test_every_write_and_another_connections_commit_are_read_afresh(
    journal: Journal, path: Path
) -> None:
    journal.insert_condor(_record("a"))
    assert _ids(journal.condors(states=LIVE)) == ["a"]
    journal.update_condor("a", state=CondorState.OPEN)
    assert [r.state for r in journal.condors(states=LIVE)] == [CondorState.OPEN]
    journal.update_condor("a", state=CondorState.CLOSED)
    assert journal.condors(states=LIVE) == []
    assert _ids(journal.condors(day=DAY)) == ["a"]
    other = Journal(path)
    try:
        other.insert_condor(_record("b", 5))
        other.update_condor("b", state=CondorState.OPEN)
    finally:
        other.close()
    assert _ids(journal.condors(states=LIVE)) == ["b"]
    assert _ids(journal.condors(day=DAY)) == ["a", "b"]
    assert journal.condors(day=DAY + timedelta(days=1)) == []


def test_reads_inside_a_transaction_are_never_kept(journal: Journal) -> None:
    journal.insert_condor(_record("a"))
    assert _ids(journal.condors(states=LIVE)) == ["a"]
    inside: list[str] = []

    def write_then_fail() -> None:
        with journal.transaction():
            journal.insert_condor(_record("b", 5))
            inside.extend(_ids(journal.condors(states=LIVE)))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert inside == ["a", "b"]
    queries = _condor_queries(journal)
    assert _ids(journal.condors(states=LIVE)) == ["a"]
    assert _ids(journal.condors(states=LIVE)) == ["a"]
    assert len(queries) == 1  # read once after the rollback, then kept
