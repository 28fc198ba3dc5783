"""Owner-only files and directories, made without following symlinks.

Everything condordesk writes (journal and its ``-wal``/``-shm``, backups while they are being
copied, logs, the lock file, the runtime dir, exported files) goes through these helpers, so on
a shared server another local user can neither read it nor steer it:

- a directory condordesk creates is ``0700`` and a file ``0600`` whatever the umask (the mode
  is set with ``fchmod`` on the open descriptor, not left to the umask);
- a file is opened with ``O_NOFOLLOW`` and checked with ``fstat`` (a regular file with one
  link, owned by us), so a symlink or hard link planted in its place is refused, never
  followed and never truncated;
- an existing directory is accepted only if it is a real directory (not a symlink) owned by us
  or by root and not writable by group or others; anything else is refused with
  :class:`UnsafePath` naming the directory and the fix.

Because the directory itself is private, nobody else can swap a file between a check and its
use.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
from pathlib import Path

from condordesk.errors import CondordeskError

DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(CondordeskError):
    """A file or directory is not private to this user (wrong owner, open mode, a symlink)."""


def _owner_ok(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def _private_group(gid: int) -> bool:
    """A user-private group (Debian/Ubuntu with umask 002): this user's own primary group,
    named after it, with no other members; group-writable then means owner-writable."""
    try:
        group = grp.getgrgid(gid)
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return False
    return gid == os.getegid() and group.gr_name == user and set(group.gr_mem) <= {user}


def check_dir(path: Path, *, ancestor: bool = False) -> None:
    """Refuse a directory that another user could change.

    Args:
        path: An existing directory.
        ancestor: ``path`` is only where condordesk creates its own directory: a symlink
            owned by root or this user is followed, and a sticky world-writable directory
            (``/tmp``) is accepted, since nobody else can replace what is created in it.

    Raises:
        UnsafePath: ``path`` is a symlink or not a directory, is owned by another user (root
            excepted), or is writable by group or others.
    """
    try:
        st = os.lstat(path)
        if ancestor and stat.S_ISLNK(st.st_mode) and _owner_ok(st.st_uid):
            st = os.stat(path)
    except FileNotFoundError:
        raise UnsafePath(f"{path} does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symlink; condordesk does not follow it: use the real path")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} exists and is not a directory")
    if not _owner_ok(st.st_uid):
        raise UnsafePath(
            f"directory {path} is owned by uid {st.st_uid}, not by this user "
            f"(uid {os.geteuid()}): refusing to use it; chown it or choose another path"
        )
    writable = st.st_mode & stat.S_IWOTH or (
        st.st_mode & stat.S_IWGRP and not _private_group(st.st_gid)
    )
    if writable and not (ancestor and st.st_mode & stat.S_ISVTX):
        raise UnsafePath(
            f"directory {path} is writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}): refusing to use it; chmod 700 {path}"
        )


def ensure_dir(path: Path) -> Path:
    """Create a directory and its missing parents (each ``0700``), then check it.

    The missing directories are created one by one, each opened with ``O_NOFOLLOW`` and set to
    ``0700`` on its descriptor. The deepest existing ancestor and ``path`` itself are checked
    with :func:`check_dir`; an existing directory's mode is never changed.

    Args:
        path: The directory wanted.

    Returns:
        ``path``, an existing private directory.

    Raises:
        UnsafePath: an existing directory on the way is not safe (see :func:`check_dir`).
        NotADirectoryError: a file is in the way.
    """
    wanted = path
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if missing:
        if os.path.lexists(probe) and not os.path.isdir(probe):
            raise NotADirectoryError(f"{probe} exists and is not a directory")
        check_dir(probe, ancestor=True)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:  # made meanwhile (by whom?): it must pass like any other
            check_dir(directory)
            continue
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _OPEN_FLAGS)
        try:
            os.fchmod(fd, DIR_MODE)  # mkdir's mode is filtered by the umask
        finally:
            os.close(fd)
    if os.path.lexists(path) and not os.path.islink(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"{path} exists and is not a directory")
    check_dir(path)
    return wanted


def _check_file(fd: int, path: Path) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{path} is not a regular file")
    if st.st_uid != os.geteuid():
        raise UnsafePath(
            f"{path} is owned by uid {st.st_uid}, not by this user (uid {os.geteuid()})"
        )
    if st.st_nlink > 1:
        raise UnsafePath(f"{path} has {st.st_nlink} hard links: refusing to write through it")
    if stat.S_IMODE(st.st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)


def open_private(path: Path, flags: int = os.O_RDWR, *, exclusive: bool = False) -> int:
    """Open (creating if missing) a file private to this user, never through a symlink.

    Args:
        path: The file; its directory must already exist and be safe.
        flags: ``os.open`` flags (``O_CREAT``, ``O_NOFOLLOW`` and ``O_CLOEXEC`` are added).
        exclusive: Fail if the file exists (``O_EXCL``).

    Returns:
        An open file descriptor of a regular ``0600`` file owned by this user.

    Raises:
        UnsafePath: the path is a symlink, not a regular file, another user's, or hard-linked.
        FileExistsError: ``exclusive`` and the file exists.
    """
    extra = os.O_CREAT | _OPEN_FLAGS | (os.O_EXCL if exclusive else 0)
    try:
        fd = os.open(path, flags | extra, FILE_MODE)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafePath(f"{path} is a symlink; condordesk does not follow it") from exc
        raise
    try:
        _check_file(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_file(path: Path) -> Path:
    """Make sure ``path`` is a private file (created empty if missing), in a safe directory.

    For files another library opens by name afterwards (SQLite's journal): the directory is
    private, so the file checked here is the file that library opens.

    Raises:
        UnsafePath: see :func:`open_private` and :func:`check_dir`.
    """
    ensure_dir(path.parent)
    os.close(open_private(path, os.O_RDONLY))
    return path


def check_existing(path: Path) -> None:
    """If ``path`` exists, check it as :func:`open_private` would (without creating it).

    Raises:
        UnsafePath: it is a symlink, not a regular file, another user's, or hard-linked.
    """
    if os.path.lexists(path):
        os.close(open_private(path, os.O_RDONLY))


def opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open` (and loguru's file sink): private, no symlinks.

    Args:
        path: The file.
        flags: The flags ``open`` chose.

    Returns:
        A file descriptor from :func:`open_private`.
    """
    return open_private(Path(path), flags)


def write_private(path: Path, data: bytes | str, *, private_dir: bool = True) -> Path:
    """Write a whole file atomically: a private temporary file beside it, renamed into place.

    The temporary file is created ``O_EXCL | O_NOFOLLOW`` (0600) and renamed over the
    destination, so even in a shared directory (an export to ``/tmp``) nothing is written
    through a symlink and nobody reads the file while it is written.

    Args:
        path: The destination.
        data: The content (``str`` is written as UTF-8).
        private_dir: Create the directory 0700 if missing and refuse an unsafe existing one
            (condordesk's own files); False for an export to a directory the user chose.

    Returns:
        ``path``.

    Raises:
        UnsafePath: the directory is not safe or the destination is a directory or symlink.
    """
    if private_dir:
        ensure_dir(path.parent)
    if os.path.islink(path) or os.path.isdir(path):
        raise UnsafePath(f"{path} is a symlink or a directory: not replacing it")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    raw = data.encode() if isinstance(data, str) else data
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC, exclusive=True)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
