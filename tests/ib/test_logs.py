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
        logging.getLogger("ib_async.wrapper").warning("Error %d, reqId %d: %s", 1100, -1, "lost")
        logging.getLogger("ib_async.client").debug("not at INFO")
        assert seen == ["Error 1100, reqId -1: lost"]
    finally:
        logger.remove(sink)
        ib_logger.setLevel(old[0])
        ib_logger.propagate = old[1]
        ib_logger.handlers[:] = old[2]


def test_ib_async_info_and_its_order_repeats_go_to_debug() -> None:
    seen: list[tuple[str, str]] = []
    sink = logger.add(
        lambda m: seen.append((m.record["level"].name, m.record["message"])), level="DEBUG"
    )
    ib_logger = logging.getLogger("ib_async")
    old = (ib_logger.level, ib_logger.propagate, list(ib_logger.handlers))
    try:
        route_ib_logging()
        wrapper = logging.getLogger("ib_async.wrapper")
        wrapper.info("execDetails Execution(execId='0001.01', shares=1.0, price=0.65)")
        wrapper.error("Error 202, reqId 79: Order Canceled - reason:OCA group x filled")
        wrapper.warning("Canceled order: Trade(contract=Contract(secType='BAG'))")
        wrapper.error("Peer closed connection.")
        assert seen == [
            ("DEBUG", "execDetails Execution(execId='0001.01', shares=1.0, price=0.65)"),
            ("DEBUG", "Error 202, reqId 79: Order Canceled - reason:OCA group x filled"),
            ("DEBUG", "Canceled order: Trade(contract=Contract(secType='BAG'))"),
            ("ERROR", "Peer closed connection."),
        ]
    finally:
        logger.remove(sink)
        ib_logger.setLevel(old[0])
        ib_logger.propagate = old[1]
        ib_logger.handlers[:] = old[2]
