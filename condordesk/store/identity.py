"""Whose journal is this file: a condordesk journal records the profile it belongs to, so a
path is only ever replaced (the simulator's fresh start) or traded on when it is the
journal of that very profile.

A journal made before profiles were recorded has no name; it counts as the profile's only at
the profile's default file name (``journal-<profile>.sqlite3``), and is stamped when the
profile's engine opens it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Protocol

from condordesk.errors import JournalError
from condordesk.store.schema import SCHEMA_VERSION

PROFILE_KEY = "profile"
"""The ``kv`` key holding the name of the profile a journal belongs to."""

_TABLES = {"condors", "orders", "fills", "stops", "events", "daily", "kv"}


class ForeignJournal(JournalError):
    """The file is not a condordesk journal of this profile: it is left exactly as it is."""


class _State(Protocol):
    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str | None) -> None: ...


def journal_profile(path: Path) -> str | None:
    """The profile a journal file belongs to, read without writing anything.

    Args:
        path: An existing file.

    Returns:
        The recorded profile name, or None for a condordesk journal that has none yet.

    Raises:
        ForeignJournal: the file is a symlink, not a regular file, not SQLite, or not a
            condordesk journal (schema).
    """
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ForeignJournal(f"{path} is not a regular file (a symlink or a directory)")
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not 1 <= int(version) <= SCHEMA_VERSION or not tables >= _TABLES:
                raise ForeignJournal(f"{path} is an SQLite database but not a condordesk journal")
            row = db.execute("SELECT value FROM kv WHERE key = ?", (PROFILE_KEY,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise ForeignJournal(f"{path} is not a condordesk journal ({exc})") from exc
    return None if row is None else str(row[0])


def check_replaceable(path: Path, profile: str) -> None:
    """Refuse to move ``path`` aside unless it is a condordesk journal of ``profile``.

    Raises:
        ForeignJournal: it is something else; the message names the file and what it is.
    """
    try:
        owner = journal_profile(path)
    except ForeignJournal as exc:
        raise ForeignJournal(
            f"refusing to replace {path}: {exc}; nothing was moved or deleted "
            "(point journal.path at a new file or this profile's journal)"
        ) from exc
    if owner is None and path.name != f"journal-{profile}.sqlite3":
        raise ForeignJournal(
            f"refusing to replace {path}: a condordesk journal of no recorded profile, not "
            f"named journal-{profile}.sqlite3; nothing was moved or deleted"
        )
    if owner is not None and owner != profile:
        raise ForeignJournal(
            f"refusing to replace {path}: it is the journal of profile {owner!r}, not "
            f"{profile!r}; nothing was moved or deleted"
        )


def claim(journal: _State, path: Path, profile: str) -> None:
    """Record ``profile`` in a journal just opened for it, or refuse another profile's.

    Raises:
        ForeignJournal: the journal belongs to another profile.
    """
    owner = journal.get_state(PROFILE_KEY)
    if owner is None:
        journal.set_state(PROFILE_KEY, profile)
    elif owner != profile:
        raise ForeignJournal(
            f"{path} is the journal of profile {owner!r}, not {profile!r}: refusing to use it"
        )
