"""``condordesk journal backup``: a consistent copy of a profile's journal while the engine
runs, with SQLite's online backup API (pages copied in steps, so the engine is never blocked
for long; a write during the copy restarts it from the changed pages). The copy is written
beside the destination, checked with ``PRAGMA integrity_check``, then renamed into place, so
a destination file is never half-written."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from condordesk.errors import JournalError
from condordesk.ops import fsafe

PAGES_PER_STEP = 1024


@dataclass(frozen=True)
class BackupResult:
    """Where the copy went, its size and how many condors it holds."""

    path: Path
    size: int
    condors: int


def backup_name(profile: str, at: datetime) -> str:
    """The file name of a backup taken at ``at`` (UTC), e.g.
    ``journal-live-20261130T211500Z.sqlite3``."""
    return f"journal-{profile}-{at:%Y%m%dT%H%M%SZ}.sqlite3"


def backup_journal(
    source: Path,
    dest: Path,
    *,
    progress: Callable[[int, int, int], object] | None = None,
    pages: int = PAGES_PER_STEP,
) -> BackupResult:
    """Copy the journal at ``source`` to ``dest`` (a file path) online.

    The copy is owner-only (0600, in a 0700 directory if one is made) from its first page,
    whatever the umask, and never written through a symlink planted beside ``dest``.

    Args:
        source: The journal.
        dest: The backup file.
        progress: Called by SQLite after each step (status, remaining, total pages).
        pages: Pages copied per step.

    Raises:
        JournalError: no journal at ``source``, the copy failed, or it is not intact.
        UnsafePath: the destination directory or a file in the way is not this user's.
    """
    if not source.is_file():
        raise JournalError(f"no journal at {source}")
    fsafe.ensure_dir(dest.parent)
    partial = dest.with_name(f".{dest.name}.partial")
    fsafe.check_existing(partial)  # a stale partial of ours goes; a planted symlink stops us
    partial.unlink(missing_ok=True)
    os.close(fsafe.open_private(partial, os.O_RDWR, exclusive=True))
    try:
        src = sqlite3.connect(source, timeout=10.0)
        try:
            out = sqlite3.connect(partial)
            try:
                src.backup(out, pages=pages, progress=progress)
                (verdict,) = out.execute("PRAGMA integrity_check").fetchone()
                condors = _count(out)
            finally:
                out.close()
        finally:
            src.close()
        if verdict != "ok":
            raise JournalError(f"the copy of {source} is not intact: {verdict}")
        if os.path.islink(dest):
            raise fsafe.UnsafePath(f"{dest} is a symlink: not replacing it")
        partial.replace(dest)
    except sqlite3.Error as exc:
        raise JournalError(f"backup of {source} to {dest} failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(dest, dest.stat().st_size, condors)


def _count(conn: sqlite3.Connection) -> int:
    try:
        (n,) = conn.execute("SELECT count(*) FROM condors").fetchone()
    except sqlite3.OperationalError:  # an empty or foreign database
        return 0
    return int(n)


def cmd_backup(args: Any) -> int:
    """``condordesk journal backup --profile P DEST``: DEST a file, or a directory that gets
    a time-stamped file."""
    from condordesk.config import paths
    from condordesk.config.loader import load_profile
    from condordesk.market.clock import LiveClock

    profile = load_profile(args.profile, args.overrides).profile
    if args.dest is None:
        raise JournalError("journal backup needs a destination: a file or a directory")
    dest = Path(args.dest).expanduser()
    if dest.is_dir() or str(args.dest).endswith("/"):
        dest = dest / backup_name(profile.name, LiveClock().now())
    done = backup_journal(paths.journal_path(profile), dest)
    print(
        f"journal of {profile.name} backed up to {done.path} ({done.size} bytes, "
        f"{done.condors} condors, integrity ok)"
    )
    return 0
