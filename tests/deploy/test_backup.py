"""``condordesk journal backup``: an intact online copy of a journal in use."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from condordesk.errors import JournalError
from condordesk.ops.backup import backup_journal
from condordesk.ops.fsafe import UnsafePath
from tests.engine.harness import make_profile, run_engine


@pytest.fixture
def journal(tmp_path: Path, warm_calendar: None) -> Path:
    """A journal holding a simulated day of condors."""
    path = tmp_path / "journal.sqlite3"
    out = run_engine(make_profile(), tmp_path, journal=path)
    out.runtime.journal.close()
    assert out.summary.to_json()["condors_opened"] > 0
    return path


def condors(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM condors").fetchone()[0])
    finally:
        conn.close()


def test_a_copy_taken_while_another_connection_writes_is_intact(
    journal: Path, tmp_path: Path
) -> None:
    before = condors(journal)
    writer = sqlite3.connect(journal, isolation_level=None)
    try:
        writer.execute("BEGIN")
        writer.execute("DELETE FROM condors")  # not committed: the copy must not see it
        done = backup_journal(journal, tmp_path / "backups" / "copy.sqlite3")
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert done.condors == before == condors(done.path)
    conn = sqlite3.connect(done.path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert done.path.stat().st_mode & 0o777 == 0o600
    assert not list(done.path.parent.glob(".*partial")), "no half-written file left"


def test_no_journal_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal"):
        backup_journal(tmp_path / "missing.sqlite3", tmp_path / "copy.sqlite3")


def test_the_command_writes_a_time_stamped_copy_into_a_directory(
    journal: Path, tmp_path: Path, condordesk_home: Path
) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "condordesk.app.cli",
            "journal",
            "backup",
            "--profile",
            "sim",
            "--set",
            f'journal.path="{journal}"',
            str(dest),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CONDORDESK_HOME": str(condordesk_home)},
    )
    assert run.returncode == 0, run.stderr
    (copy,) = dest.iterdir()
    assert copy.name.startswith("journal-sim-") and copy.suffix == ".sqlite3"
    assert condors(copy) == condors(journal)
    assert "integrity ok" in run.stdout


def test_a_backup_is_owner_only_while_it_is_copied_and_after_whatever_the_umask(
    journal: Path, tmp_path: Path
) -> None:
    seen: list[int] = []
    dest = tmp_path / "backups" / "copy.sqlite3"
    partial = dest.with_name(f".{dest.name}.partial")

    def progress(status: int, remaining: int, total: int) -> None:
        seen.append(partial.stat().st_mode & 0o777)

    old = os.umask(0)
    try:
        done = backup_journal(journal, dest, progress=progress, pages=1)
    finally:
        os.umask(old)
    assert seen and set(seen) == {0o600}, "the partial copy is private from its first page"
    assert done.path.stat().st_mode & 0o777 == 0o600
    assert dest.parent.stat().st_mode & 0o777 == 0o700


def test_a_backup_never_writes_through_a_planted_symlink(journal: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    (backups / ".copy.sqlite3.partial").symlink_to(victim)

    with pytest.raises(UnsafePath, match="symlink"):
        backup_journal(journal, backups / "copy.sqlite3")
    assert victim.read_text() == "precious"
