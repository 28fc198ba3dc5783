"""One engine per profile: an exclusive lock file in the profile's runtime dir.

Two engines trading one account from one journal would double every order; the lock makes
the second refuse to start. The lock dies with the process (SIGKILL included), so a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import stat
from types import TracebackType

from condordesk.config import paths
from condordesk.errors import CondordeskError
from condordesk.ops import fsafe


class EngineRunning(CondordeskError):
    """Another engine of this profile holds the lock."""


class EngineLock:
    """Hold the engine lock of a profile (a context manager)."""

    def __init__(self, profile_name: str) -> None:
        self.path = paths.ensure(paths.runtime_dir()) / f"engine-{profile_name}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`EngineRunning` naming the holder's pid.

        Raises:
            EngineRunning: another engine of the profile holds it.
            UnsafePath: the lock path is a symlink or not this user's file.
        """
        # O_NOFOLLOW + fstat checks: a symlink planted in the runtime dir is refused, never
        # truncated through (the directory itself was checked by paths.ensure)
        fd = fsafe.open_private(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise EngineRunning(
                f"an engine of this profile is already running (pid {holder}, lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the lock go."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def engine_running(profile_name: str) -> bool:
    """True while an engine of the profile holds its lock.

    Raises:
        UnsafePath: the lock path is a symlink or not a regular file (a FIFO never blocks).
    """
    path = paths.runtime_dir() / f"engine-{profile_name}.lock"
    if not os.path.lexists(path):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if os.path.islink(path):
            raise fsafe.UnsafePath(f"{path} is a symlink; condordesk does not follow it") from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise fsafe.UnsafePath(f"{path} is not a regular file")
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
