"""Logging with loguru: readable console lines stamped with the engine's clock (simulated time
on the simulator), and a rotating file under the platformdirs log dir."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

    from condordesk.market.clock import Clock

_CONSOLE = "<green>{extra[clock]}</green> <level>{level: <8}</level> {message}"
_JOURNALD = "<level>{level: <8}</level> [{extra[clock]}] {message}"
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

    def stamp(record: Record) -> None:
        record["extra"]["clock"] = f"{clock.now_et():%Y-%m-%d %H:%M:%S} ET"

    logger.remove()
    logger.configure(patcher=stamp)
    under_systemd = bool(os.environ.get("JOURNAL_STREAM"))
    if stderr:
        logger.add(
            sys.stderr,
            level=level,
            format=_JOURNALD if under_systemd else _CONSOLE,
            colorize=None if not under_systemd else False,
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
        )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
