"""ib_async's stdlib logging ends up in loguru."""

from __future__ import annotations

import logging

from loguru import logger

from condordesk.broker.ib import route_ib_logging
from condordesk.broker.ib.logs import InterceptHandler


def test_ib_async_records_reach_loguru() -> None:
    seen: list[str] = []
    sink = logger.add(lambda m: seen.append(m.record["message"]), level="INFO")
    ib_logger = logging.getLogger("ib_async")
    old = (ib_logger.level, ib_logger.propagate, list(ib_logger.handlers))
    try:
        route_ib_logging()
        route_ib_logging()  # idempotent
        assert sum(isinstance(h, InterceptHandler) for h in ib_logger.handlers) == 1
        logging.getLogger("ib_async.wrapper").warning("Error %d, reqId %d: %s", 201, 7, "no")
        logging.getLogger("ib_async.client").debug("not at INFO")
        assert seen == ["Error 201, reqId 7: no"]
    finally:
        logger.remove(sink)
        ib_logger.setLevel(old[0])
        ib_logger.propagate = old[1]
        ib_logger.handlers[:] = old[2]
