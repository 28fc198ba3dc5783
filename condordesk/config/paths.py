"""Where condordesk keeps its files: per-user platform directories (platformdirs).

Every directory has a getter that only computes the path; nothing is created until a caller
asks for it with :func:`ensure`, which makes the missing directories private to the user
(mode 0700). When the environment variable ``CONDORDESK_HOME`` is set, every directory lives
under it instead (``$CONDORDESK_HOME/config``, ``/data``, ``/log``, ``/cache``, ``/run``), which
is what tests and CI use to stay out of the real home directory.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import platformdirs

from condordesk.ops import fsafe

if TYPE_CHECKING:
    from condordesk.config.profile import Profile

APP_NAME = "condordesk"
"""The application name the platform directories are named after."""

HOME_ENV = "CONDORDESK_HOME"
"""The environment variable that relocates every directory under one root."""


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV, "")
    return Path(value).expanduser().absolute() if value else None


def _dir(sub: str, platform_dir: Callable[[str, Literal[False]], str]) -> Path:
    """``$CONDORDESK_HOME/<sub>`` when set, else the platform's directory for the app."""
    home = _home()
    return home / sub if home else Path(platform_dir(APP_NAME, False))


def config_dir() -> Path:
    """The per-user configuration directory (profiles live below it).

    Returns:
        ``$CONDORDESK_HOME/config`` if set, else the platform's user config dir.
    """
    return _dir("config", platformdirs.user_config_dir)


def data_dir() -> Path:
    """The per-user data directory (the journal lives here unless a profile says otherwise).

    Returns:
        ``$CONDORDESK_HOME/data`` if set, else the platform's user data dir.
    """
    return _dir("data", platformdirs.user_data_dir)


def log_dir() -> Path:
    """The per-user log directory.

    Returns:
        ``$CONDORDESK_HOME/log`` if set, else the platform's user log dir.
    """
    return _dir("log", platformdirs.user_log_dir)


def cache_dir() -> Path:
    """The per-user cache directory (rebuildable files such as the trading calendar).

    Returns:
        ``$CONDORDESK_HOME/cache`` if set, else the platform's user cache dir.
    """
    return _dir("cache", platformdirs.user_cache_dir)


def runtime_dir() -> Path:
    """The per-user runtime directory (the engine's control socket lives here).

    Returns:
        ``$CONDORDESK_HOME/run`` if set, else the platform's user runtime dir
        (``$XDG_RUNTIME_DIR/condordesk`` on Linux).
    """
    home = _home()
    if home:
        return home / "run"
    # without $XDG_RUNTIME_DIR (root from a plain shell, cron) platformdirs warns on stderr
    # that it falls back to /run/user/<uid> or a private dir in /tmp: the fallback is
    # owner-only all the same, so the warning is noise on every command (issue 14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", platformdirs.RuntimeDirWarning)
        return Path(platformdirs.user_runtime_dir(APP_NAME, False))


def profiles_dir() -> Path:
    """The directory of the user's own profiles, ``<config_dir>/profiles``.

    Returns:
        The directory searched for ``<name>.toml`` before the builtin profiles.
    """
    return config_dir() / "profiles"


def journal_path(profile: Profile) -> Path:
    """The SQLite journal file of a profile.

    Args:
        profile: A validated profile.

    Returns:
        ``profile.journal.path`` (with ``~`` expanded) if set, else
        ``<data_dir>/journal-<profile name>.sqlite3``.
    """
    if profile.journal.path:
        return Path(profile.journal.path).expanduser()
    return data_dir() / f"journal-{profile.name}.sqlite3"


def ensure(path: Path) -> Path:
    """Create a directory and its missing parents, each private to the user (mode 0700).

    Directories that already exist keep their mode, so pointing ``CONDORDESK_HOME`` or a
    journal at an existing location never changes its permissions; but an existing directory
    that another user owns or could write to (group/world-writable, or a symlink) is refused.

    Args:
        path: The directory to create.

    Returns:
        ``path``, now an existing directory.

    Raises:
        UnsafePath: an existing directory is not safe (see :func:`condordesk.ops.fsafe.check_dir`).
        OSError: The directory cannot be created (for example a file is in the way).
    """
    return fsafe.ensure_dir(path)
