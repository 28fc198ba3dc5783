"""Route ib_async's stdlib ``logging`` into loguru (an intercept handler on its logger)."""

from __future__ import annotations

import logging

from loguru import logger

IB_LOGGER = "ib_async"


class InterceptHandler(logging.Handler):
    """Re-emits stdlib log records through loguru, keeping level and exception info."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).bind(ib=record.name).log(
            level, record.getMessage()
        )


def route_ib_logging(level: int = logging.INFO) -> None:
    """Send every ``ib_async.*`` record at ``level`` or above to loguru (idempotent).

    The handler sits on the ``ib_async`` logger itself, which stops propagating, so the
    records are not printed twice when the root logger is intercepted as well.
    """
    ib_logger = logging.getLogger(IB_LOGGER)
    ib_logger.setLevel(level)
    ib_logger.propagate = False
    if not any(isinstance(h, InterceptHandler) for h in ib_logger.handlers):
        ib_logger.addHandler(InterceptHandler())
