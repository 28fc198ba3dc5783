"""On the event loop, the records of one loop turn share one commit (one fsync) at the end of
the turn; a write that must be durable joins them and commits before it returns; a shared
commit that fails queues its records in order, as if each had been refused."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRole
from condordesk.errors import JournalError
from condordesk.store.journal import Journal
from tests.unit.test_journal import T0, record, request
from tests.unit.test_journal_durable import DiskFull


class Commits(DiskFull):
    """The real connection, counting commits (and able to refuse writes like a full disk)."""

    def __init__(self, real: sqlite3.Connection) -> None:
        super().__init__(real)
        self.commits = 0

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        cur = super().execute(sql, params)
        if sql.strip().upper() == "COMMIT":
            self.commits += 1
        return cur


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "j.sqlite3"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    j = Journal(path)
    j.insert_condor(record("c1"))
    yield j
    j.close()


@pytest.fixture
def reader(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's view: only what is committed."""
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def commits(journal: Journal) -> Commits:
    counter = Commits(journal._db)
    journal._db = counter  # type: ignore[assignment]
    return counter


async def next_turn() -> None:
    """Wait for the end of this loop turn (callbacks scheduled before now have run)."""
    loop = asyncio.get_running_loop()
    turn = loop.create_future()
    loop.call_soon(turn.set_result, None)
    await turn


def note(reader: sqlite3.Connection) -> str:
    return str(reader.execute("SELECT note FROM condors WHERE id = 'c1'").fetchone()[0])


def events(reader: sqlite3.Connection) -> int:
    return int(reader.execute("SELECT COUNT(*) FROM events").fetchone()[0])


async def test_the_records_of_one_loop_turn_share_one_commit_at_its_end(
    journal: Journal, reader: sqlite3.Connection
) -> None:
    counter = commits(journal)
    journal.update_condor("c1", note="a")
    journal.append_event(1, T0, "E", {})
    journal.set_state("k", "v")
    assert (note(reader), events(reader)) == ("", 0)  # not committed yet
    assert journal.condor("c1").note == "a"  # type: ignore[union-attr]  # the journal reads its own
    await next_turn()
    assert (note(reader), events(reader)) == ("a", 1)
    assert counter.commits == 1


async def test_a_durable_write_joins_the_turns_records_and_commits_before_it_returns(
    journal: Journal, reader: sqlite3.Connection
) -> None:
    counter = commits(journal)
    journal.update_condor("c1", note="b")
    journal.record_intent("c1", OrderRole.CLOSE, request("c1", OrderRole.CLOSE), T0)
    assert note(reader) == "b"  # no loop turn: committed by the intent, with it
    assert reader.execute("SELECT status FROM orders").fetchone()[0] == "intent"
    await next_turn()
    assert counter.commits == 1


async def test_a_failed_shared_commit_queues_its_records_in_order(
    journal: Journal, reader: sqlite3.Connection
) -> None:
    heard: list[str] = []
    journal.on_failure = heard.append
    disk = commits(journal)
    journal.update_condor("c1", note="first")
    journal.append_event(1, T0, "E", {})
    journal.update_condor("c1", note="second")
    disk.full = True  # the commit at the end of the turn fails
    await next_turn()
    assert heard == ["database or disk is full"]
    assert journal.failing and journal.pending == 3
    assert (note(reader), events(reader)) == ("", 0)
    assert journal.condor("c1").note == ""  # type: ignore[union-attr]  # rolled back, queued
    assert not journal.flush()
    disk.full = False
    assert journal.flush()
    assert (note(reader), events(reader)) == ("second", 1)  # all of them, in order


async def test_a_durable_write_whose_shared_commit_fails_raises_and_keeps_the_records(
    journal: Journal, reader: sqlite3.Connection
) -> None:
    disk = commits(journal)
    journal.update_condor("c1", note="kept")
    disk._WRITES = ("COMMIT",)  # type: ignore[misc]  # only the commit is refused
    disk.full = True
    with pytest.raises(JournalError):
        journal.record_intent("c1", OrderRole.CLOSE, request("c1", OrderRole.CLOSE), T0)
    assert journal.order("cd:c1:close") is None  # not journaled: the order must not leave
    assert journal.pending == 1
    disk.full = False
    journal.record_intent("c1", OrderRole.CLOSE, request("c1", OrderRole.CLOSE), T0)
    assert note(reader) == "kept" and journal.pending == 0


def test_outside_an_event_loop_every_record_commits_on_its_own(
    journal: Journal, reader: sqlite3.Connection
) -> None:
    journal.update_condor("c1", note="now")
    assert note(reader) == "now"


async def test_a_condor_state_change_commits_at_once_with_the_records_before_it(
    journal: Journal, reader: sqlite3.Connection
) -> None:
    journal.append_event(1, T0, "E", {})
    journal.update_condor("c1", state=CondorState.OPEN)
    assert reader.execute("SELECT state FROM condors").fetchone()[0] == "open"  # no loop turn
    assert events(reader) == 1


async def test_another_journal_of_the_process_commits_the_shared_one_before_writing(
    journal: Journal, path: Path, reader: sqlite3.Connection
) -> None:
    journal.update_condor("c1", note="first engine")  # holds the write lock until the turn ends
    second = Journal(path)  # a restarted engine in the same process, in the same turn
    second.update_condor("c1", note="second engine")
    second.record_intent("c1", OrderRole.CLOSE, request("c1", OrderRole.CLOSE), T0)
    assert note(reader) == "second engine" and not second.failing
    await next_turn()
    assert note(reader) == "second engine"
    second.close()
