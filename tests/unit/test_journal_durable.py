"""The journal is durable (synchronous=FULL, committed intents survive a kill) and fails
closed: a write it cannot make is either refused (intents, fills, stop pairs) or queued in
order and written once the disk takes writes again (what already happened), never dropped."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRole, OrderStatus
from condordesk.errors import JournalError
from condordesk.store import writes as writes_module
from condordesk.store.journal import Journal
from tests.unit.test_journal import T0, execution, record, request, stop

ROOT = Path(__file__).resolve().parents[2]
_CHILD = """
import sys
from condordesk.domain.orders import OrderRole
from condordesk.store.journal import Journal
from tests.unit.test_journal import T0, record, request
journal = Journal(sys.argv[1])
i = 0
while True:
    cid = f"c{i}"
    with journal.transaction():
        journal.insert_condor(record(cid))
        journal.record_intent(cid, OrderRole.ENTRY, request(cid), T0)
    print(cid, flush=True)  # committed: from here on it must survive
    i += 1
"""


_SYNCED = """
import sys
from condordesk.domain.orders import OrderRole
from condordesk.store.journal import Journal
from tests.unit.test_journal import T0, record, request
journal = Journal(sys.argv[1])
journal._db.execute(f"PRAGMA synchronous={sys.argv[2]}")  # FULL is what Journal sets
for i in range(int(sys.argv[3])):
    cid = f"c{i}"
    with journal.transaction():
        journal.insert_condor(record(cid))
        journal.record_intent(cid, OrderRole.ENTRY, request(cid), T0)
    sys.stdout.write(cid + "\\n")  # one write per report
    sys.stdout.flush()
"""


def _synced_reports(tmp_path: Path, synchronous: str, commits: int) -> list[bool]:
    """Run a writer under strace; for each intent it reports committed (a line on stdout),
    whether the file was synced to the disk (fsync/fdatasync) since the report before."""
    trace = tmp_path / f"{synchronous}.strace"
    subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,write",
            "-o",
            str(trace),
            sys.executable,
            "-c",
            _SYNCED,
            str(tmp_path / f"{synchronous}.sqlite3"),
            synchronous,
            str(commits),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    reports, synced = [], False
    for line in trace.read_text().splitlines():
        if re.search(r"\b(fsync|fdatasync)\(\d+\)\s+= 0", line):
            synced = True
        elif re.search(r'write\(1, "c\d+\\n"', line):
            reports.append(synced)
            synced = False
    assert len(reports) == commits, "the trace lost the writer's reports"
    return reports


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (.ci/run installs it)")
def test_every_commit_reaches_the_disk_before_it_is_reported(tmp_path: Path) -> None:
    """The power-cut guarantee, observed: with synchronous=FULL each committed intent was
    fsynced before the writer went on (so a power cut after it loses nothing the disk
    acknowledged); with NORMAL, WAL commits are not synced (the check can fail)."""
    assert all(_synced_reports(tmp_path, "FULL", 20))
    assert not any(_synced_reports(tmp_path, "NORMAL", 20)[1:])  # the first: opening syncs


class DiskFull:
    """A connection whose writes fail while :attr:`full` (reads still work), like a full
    disk; everything else is the real connection."""

    _WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "REPLACE")

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real
        self.full = False
        self.refused = 0
        self.full_again_at: str | None = None  # fills again at the first write naming this

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        if self.full_again_at is not None and self.full_again_at in repr(params):
            self.full, self.full_again_at = True, None
        if self.full and sql.lstrip().upper().startswith(self._WRITES):
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(sql, params)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def disk_full(journal: Journal) -> DiskFull:
    """Put a switchable full disk under ``journal``."""
    fake = DiskFull(journal._db)
    journal._db = fake  # type: ignore[assignment]
    return fake


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite3")


def test_the_journal_runs_wal_with_synchronous_full(journal: Journal) -> None:
    """NORMAL can lose the last commits on a power cut; FULL syncs the WAL at each commit."""
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_every_intent_committed_before_a_sigkill_is_there_after_it(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    committed = []
    try:
        while len(committed) < 200:
            line = child.stdout.readline()
            assert line, "the writer died before it was killed"
            committed.append(line.strip())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    journal = Journal(path)
    ids = {r.id for r in journal.condors()}
    assert set(committed) <= ids
    for cid in committed:
        assert journal.order(f"cd:{cid}:entry") is not None


def test_records_queue_in_order_while_the_disk_is_full_and_land_when_it_is_back(
    journal: Journal,
) -> None:
    heard: list[str] = []
    journal.on_failure = heard.append
    journal.insert_condor(record("c1"))
    journal.record_intent("c1", OrderRole.ENTRY, request("c1"), T0)
    disk = disk_full(journal)
    disk.full = True

    journal.update_order("cd:c1:entry", status=OrderStatus.WORKING, ts=T0, order_id=7)
    journal.update_condor("c1", state=CondorState.OPEN)
    journal.append_event(1, T0, "AlertRaised", {"code": "journal"})
    journal.update_order("cd:c1:entry", status=OrderStatus.FILLED, ts=T0, filled=1)

    assert heard == ["database or disk is full"]  # once per outage, not per write
    assert journal.failing and journal.pending == 4
    assert journal.order("cd:c1:entry").status == "intent"  # type: ignore[union-attr]
    assert not journal.flush()

    disk.full = False
    assert journal.flush()
    assert not journal.failing and journal.pending == 0
    rec = journal.order("cd:c1:entry")
    assert rec is not None and rec.status == "filled" and rec.order_id == 7  # in order
    assert journal.condor("c1").state is CondorState.OPEN  # type: ignore[union-attr]
    assert [e[2] for e in journal.events()] == ["AlertRaised"]


def test_intents_fills_and_stop_pairs_are_refused_while_writes_wait(journal: Journal) -> None:
    """What must be on the disk before the engine acts raises, and never overtakes a queued
    write: the order does not leave, the fill is not applied."""
    journal.insert_condor(record("c1"))
    disk = disk_full(journal)
    disk.full = True
    journal.update_condor("c1", note="queued")
    with pytest.raises(JournalError):
        journal.record_intent("c1", OrderRole.CLOSE, request("c1", OrderRole.CLOSE), T0)
    with pytest.raises(JournalError):
        journal.record_fill(execution("e1"), "c1")
    with pytest.raises(JournalError), journal.transaction():
        journal.record_stop(stop())
    disk.full = False  # the disk is back, a write still queued: the next intent writes it first
    journal.record_intent("c1", OrderRole.CLOSE, request("c1", OrderRole.CLOSE), T0)
    assert journal.pending == 0
    assert journal.condor("c1").note == "queued"  # type: ignore[union-attr]
    assert journal.record_fill(execution("e1"), "c1")
    assert journal.stops("c1") == []  # the refused pair was rolled back whole


def test_a_real_full_disk_is_survived(journal: Journal) -> None:
    """SQLite's own SQLITE_FULL (the file may not grow) is handled like any write failure."""
    pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
    journal._db.execute(f"PRAGMA max_page_count = {pages}")
    big = {"blob": "x" * 3000}
    written = 0
    while not journal.failing and written < 1000:
        journal.append_event(written + 1, T0, "Filler", big)
        written += 1
    assert journal.failing, "the capped file never filled"
    assert "full" in journal.last_error
    journal._db.execute("PRAGMA max_page_count = 1000000")
    assert journal.flush()
    assert journal.last_event_seq() == written


def test_the_queue_is_bounded_and_a_write_past_it_raises_never_drops(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes_module, "PENDING_MAX", 3)
    disk = disk_full(journal)
    disk.full = True
    for seq in (1, 2, 3):
        journal.append_event(seq, T0, "E", {})
    with pytest.raises(JournalError, match="none dropped"):
        journal.append_event(4, T0, "E", {})
    disk.full = False
    assert journal.flush()
    assert [e[0] for e in journal.events()] == [1, 2, 3]


def test_a_refused_write_is_an_error_not_an_outage(journal: Journal) -> None:
    """A UNIQUE constraint (a reused ref) says the write is wrong, not that the disk fails: it
    raises at once, the journal is not failing, and nothing waits behind it."""
    journal.insert_condor(record("c1"))
    journal.record_intent("c1", OrderRole.ENTRY, request("c1"), T0)
    with pytest.raises(JournalError, match="refused"):
        journal.record_intent("c1", OrderRole.ENTRY, request("c1"), T0)
    assert not journal.failing and journal.pending == 0
    journal.update_condor("c1", note="still written")
    assert journal.condor("c1").note == "still written"  # type: ignore[union-attr]


def test_what_the_failure_hook_writes_is_queued_after_the_write_that_failed(
    journal: Journal,
) -> None:
    disk = disk_full(journal)
    journal.on_failure = lambda error: journal.set_state("paused", "journal")
    disk.full = True
    journal.set_state("paused", "operator")  # refused: the hook pauses for the journal
    disk.full = False
    assert journal.flush()
    assert journal.get_state("paused") == "journal"  # the hook's write is the later one
