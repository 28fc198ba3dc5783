"""Logging with loguru: readable console lines stamped with the engine's clock (simulated time
on the simulator), and a rotating file under the platformdirs log dir."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from condordesk.ops import fsafe

if TYPE_CHECKING:
    from loguru import Record

    from condordesk.market.clock import Clock

_CONSOLE = "<green>{extra[clock]}</green> <level>{level: <8}</level> {message}"
# under systemd the journal stamps every line itself: no timestamp of ours (the engine's clock
# only when it is not the wall clock, e.g. a simulated day), the level as a syslog priority
# prefix that journald turns into the entry's PRIORITY (so `journalctl -p warning` works)
_JOURNALD = "<{extra[syslog]}>{extra[sim_clock]}{message}"
_SYSLOG = {"TRACE": 7, "DEBUG": 7, "INFO": 6, "SUCCESS": 5, "WARNING": 4, "ERROR": 3}
_CRIT = 2
_FILE = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {extra[clock]} | {level: <8} | {name}:{line} | {message}"


class _InterceptHandler(logging.Handler):
    """Routes stdlib ``logging`` records (e.g. from ib_async) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def setup_logging(
    level: str,
    clock: Clock,
    log_file: Path | None,
    *,
    rotation: str = "10 MB",
    retention: str = "30 days",
    stderr: bool = True,
) -> None:
    """Configure loguru for a run. Console lines carry the engine clock's ET time; with
    ``stderr=False`` (an engine embedded in a terminal console) only the file gets lines."""

    under_systemd = stderr_is_journal()
    wall = _wall_clock(clock)

    def stamp(record: Record) -> None:
        extra = record["extra"]
        extra["clock"] = f"{clock.now_et():%Y-%m-%d %H:%M:%S} ET"
        extra["syslog"] = _SYSLOG.get(record["level"].name, _CRIT)
        extra["sim_clock"] = "" if wall else f"[{extra['clock']}] "

    logger.remove()
    logger.configure(patcher=stamp)
    if stderr:
        logger.add(
            sys.stderr,
            level=level,
            format=_JOURNALD if under_systemd else _CONSOLE,
            colorize=None if not under_systemd else False,
            diagnose=False,  # tracebacks never print variable values (a secret could be one)
        )
    if log_file is not None:
        logger.add(
            log_file,
            level="DEBUG",
            format=_FILE,
            rotation=rotation,
            retention=retention,
            enqueue=False,
            encoding="utf-8",
            diagnose=False,
            # owner-only (0600) whatever the umask, rotated files too; never through a symlink
            opener=fsafe.opener,
        )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)


def stderr_is_journal(env: dict[str, str] | None = None) -> bool:
    """Whether stderr is connected to the systemd journal: ``$JOURNAL_STREAM`` names the
    device and inode of the journal's stream and stderr is that very stream (a child whose
    stderr was redirected elsewhere inherits the variable but not the stream)."""
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def _wall_clock(clock: Clock) -> bool:
    """Whether the clock reads real time (the wall clock, or IB's clock at real speed)."""
    from condordesk.market.clock import BrokerClock, LiveClock

    return isinstance(clock, LiveClock) or (
        isinstance(clock, BrokerClock) and clock.loop_seconds(1.0) == 1.0
    )
