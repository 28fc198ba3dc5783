"""A trading day over the IB path logs what an operator reads at INFO (issue 14): one line per
order event in condordesk's words, no ib_async objects, no execution re-logged at each
replay, one time-zone label, under 2 KB per condor."""

from __future__ import annotations

import re
from pathlib import Path

from loguru import logger

from condordesk.broker.ib import route_ib_logging
from tests.ib.test_engine_over_ib import run_over_ib

ORDER_LINE = re.compile(r"^order cd:\S+ (BUY|SELL) (LMT|STP|STP LMT) x\d+ .*: \w+")


def test_a_day_over_ib_logs_under_2_kb_per_condor_at_info(
    tmp_path: Path, warm_calendar: None
) -> None:
    lines: list[str] = []
    route_ib_logging()
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="INFO")
    try:
        summary = run_over_ib(tmp_path)
    finally:
        logger.remove(sink)
    assert summary.condors_opened >= 1
    text = "\n".join(lines)
    size = sum(len(x.encode()) + 40 for x in lines)  # + the stamp and level of a console line
    assert size / summary.condors_opened < 2048, text
    for noise in ("Trade(", "Execution(", "CommissionReport(", "execDetails", "Error 202"):
        assert noise not in text, text
    assert " EST" not in text and " EDT" not in text, text
    assert any(x.startswith("connected to IB 127.0.0.1:") for x in lines), text  # ours
    orders = [x for x in lines if x.startswith("order ")]
    assert orders and all(ORDER_LINE.match(x) for x in orders), text
    assert len(orders) == len(set(orders)), text  # each order event once
    assert any(x.endswith(": working") for x in orders)
    assert any(": filled 1 @ " in x for x in orders)
