"""Route ib_async's stdlib ``logging`` into loguru (an intercept handler on its logger)."""

from __future__ import annotations

import logging
import re

from loguru import logger

IB_LOGGER = "ib_async"
# ib_async's lines that repeat, object by object, what condordesk says of an order in its own
# words: a broker message about a request (condordesk logs each one, a cancel as the order's
# event) and the whole Trade of a cancelled order
_REPEATS = re.compile(r"^(Error -?\d+, reqId [1-9]\d*: |Canceled order: )")


class InterceptHandler(logging.Handler):
    """Re-emits stdlib log records through loguru, keeping exception info. ib_async's INFO
    (whole ``Trade(...)``, ``execDetails`` and ``position`` objects, each execution again at
    every replay) becomes DEBUG, and so do its warnings and errors that repeat what
    condordesk says of an order in one line of its own; its other warnings and errors keep
    their level."""

    def emit(self, record: logging.LogRecord) -> None:
        level: str | int
        if record.levelno <= logging.INFO or _REPEATS.match(record.getMessage()):
            level = "DEBUG"
        else:
            try:
                level = logger.level(record.levelname).name
            except ValueError:
                level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).bind(ib=record.name).log(
            level, record.getMessage()
        )


def route_ib_logging(level: int = logging.INFO) -> None:
    """Send every ``ib_async.*`` record at ``level`` or above to loguru (idempotent), INFO
    ones as DEBUG (the log file keeps them; the console and journald at INFO do not).

    The handler sits on the ``ib_async`` logger itself, which stops propagating, so the
    records are not printed twice when the root logger is intercepted as well.
    """
    ib_logger = logging.getLogger(IB_LOGGER)
    ib_logger.setLevel(level)
    ib_logger.propagate = False
    if not any(isinstance(h, InterceptHandler) for h in ib_logger.handlers):
        ib_logger.addHandler(InterceptHandler())
