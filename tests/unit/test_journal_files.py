"""The journal's files are private whatever the umask, and a journal path is only ever
replaced when it is a condordesk journal of the same profile (issue 13)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from condordesk.app.bootstrap import build_sim, fresh_sim_journal
from condordesk.config.loader import load_profile
from condordesk.ops.fsafe import UnsafePath
from condordesk.store.identity import ForeignJournal, claim, journal_profile
from condordesk.store.journal import Journal


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def journal_of(path: Path, profile: str | None) -> Path:
    j = Journal(path)
    if profile is not None:
        claim(j, path, profile)
    j.close()
    return path


def test_the_journal_and_its_wal_and_shm_are_owner_only_whatever_the_umask(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "data" / "journal-sim.sqlite3"
    j = Journal(path)
    j.set_state("k", "v")  # the -wal and -shm exist while the journal is open
    try:
        assert mode(path.parent) == 0o700
        for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert mode(f) == 0o600, f
    finally:
        j.close()


def test_a_journal_path_that_is_a_symlink_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"not yours")
    (tmp_path / "journal.sqlite3").symlink_to(victim)
    with pytest.raises(UnsafePath, match="symlink"):
        Journal(tmp_path / "journal.sqlite3")
    assert victim.read_bytes() == b"not yours"


def test_a_sim_run_refuses_to_move_aside_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    other = tmp_path / "thesis.db"
    other.write_text("years of work")
    prev = tmp_path / "thesis.prev.sqlite3"
    prev.write_text("older work")
    profile = load_profile("sim", [f"journal.path={other}"]).profile

    with pytest.raises(ForeignJournal, match=r"not a condordesk journal.*nothing was moved"):
        build_sim(profile)
    assert other.read_text() == "years of work"
    assert prev.read_text() == "older work"


def test_a_sim_run_refuses_another_profiles_journal(tmp_path: Path) -> None:
    live = journal_of(tmp_path / "journal-live.sqlite3", "live")
    before = live.read_bytes()
    with pytest.raises(ForeignJournal, match="journal of profile 'live', not 'sim'"):
        fresh_sim_journal(live, "sim")
    assert live.read_bytes() == before
    assert not (tmp_path / "journal-live.prev.sqlite3").exists()


def test_an_sqlite_database_of_another_program_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (name TEXT)")
    con.close()
    with pytest.raises(ForeignJournal, match="not a condordesk journal"):
        fresh_sim_journal(db, "sim")
    assert db.exists()


def test_a_foreign_prev_file_is_never_overwritten(tmp_path: Path) -> None:
    path = journal_of(tmp_path / "run.sqlite3", "sim")
    prev = tmp_path / "run.prev.sqlite3"
    prev.write_text("someone's file")
    with pytest.raises(ForeignJournal, match=r"run\.prev\.sqlite3"):
        fresh_sim_journal(path, "sim")
    assert prev.read_text() == "someone's file" and path.exists()


def test_the_same_profiles_journal_is_moved_to_prev(tmp_path: Path) -> None:
    path = journal_of(tmp_path / "run.sqlite3", "sim")
    journal_of(tmp_path / "run.prev.sqlite3", "sim")
    assert fresh_sim_journal(path, "sim") == path
    assert not path.exists()
    assert journal_profile(tmp_path / "run.prev.sqlite3") == "sim"


def test_an_unstamped_journal_is_replaced_only_under_the_profiles_default_name(
    tmp_path: Path,
) -> None:
    legacy = journal_of(tmp_path / "journal-sim.sqlite3", None)
    fresh_sim_journal(legacy, "sim")
    assert (tmp_path / "journal-sim.prev.sqlite3").exists()
    elsewhere = journal_of(tmp_path / "mine.sqlite3", None)
    with pytest.raises(ForeignJournal, match="no recorded profile"):
        fresh_sim_journal(elsewhere, "sim")


def test_an_engine_refuses_to_open_another_profiles_journal(tmp_path: Path) -> None:
    path = journal_of(tmp_path / "j.sqlite3", "live")
    j = Journal(path)
    try:
        with pytest.raises(ForeignJournal, match="journal of profile 'live', not 'paper'"):
            claim(j, path, "paper")
        claim(j, path, "live")
    finally:
        j.close()
