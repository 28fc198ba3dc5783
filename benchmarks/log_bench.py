"""Log volume of a trading day over the IB path: the engine, the ib_async adapter and the
loopback gateway, logging at INFO as a headless run does.

    .venv/bin/python benchmarks/log_bench.py [--level INFO] [--seed 11] [--show]

Prints the bytes and lines logged at the level, per condor opened, and the lines by their
source (condordesk or ib_async). Virtual time: a whole day in seconds. Target from issue 14:
under 2 KB per condor at INFO (before: 54 KB in 45 s for one condor, ib_async's whole
``Trade(...)`` objects and every execution re-logged on each replay).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CONDORDESK_HOME", tempfile.mkdtemp(prefix="cd-logbench-"))

from loguru import logger

from condordesk.app.bootstrap import build_sim
from condordesk.broker.ib import IBBroker, route_ib_logging
from condordesk.engine.service import Engine
from condordesk.engine.summary import RunSummary
from condordesk.gateway import Gateway
from condordesk.market.vtime import run_virtual
from condordesk.ops.logs import setup_logging
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile

ACCOUNT = "DU1234567"


def day_over_ib(level: str, seed: int, out: io.StringIO, sources: Counter[str]) -> RunSummary:
    """One simulated day over the gateway with the run's log lines written to ``out``."""
    profile = make_profile(simulator={"seed": seed})
    work = Path(tempfile.mkdtemp(prefix="cd-logbench-"))
    rt = build_sim(profile, journal_path=work / "gateway-side.sqlite3")
    setup_logging(level, rt.clock, None, stderr=False)
    route_ib_logging()
    logger.add(out, level=level, format="{extra[clock]} {level: <8} {message}", colorize=False)
    logger.add(lambda m: sources.update([_source(m.record)]), level=level)

    async def main() -> RunSummary:
        gateway = Gateway(rt.broker, rt.clock, account=ACCOUNT, quote_interval_s=1.0)  # type: ignore[arg-type]
        port = await gateway.start()
        broker = IBBroker(rt.clock, host="127.0.0.1", port=port, client_id=9, account=ACCOUNT)
        journal = Journal(work / "engine.sqlite3")
        engine = Engine(profile, broker, journal, rt.clock, rt.calendar, max_sessions=1)
        try:
            return await engine.run()
        finally:
            await broker.close()
            await gateway.stop()
            journal.close()

    return run_virtual(main())


def _source(record: Any) -> str:
    return "ib_async" if record["extra"].get("ib") else "condordesk"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--level", default="INFO")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--show", action="store_true", help="print the log lines too")
    args = p.parse_args()
    out = io.StringIO()
    sources: Counter[str] = Counter()
    summary = day_over_ib(args.level, args.seed, out, sources)
    text = out.getvalue()
    lines = text.splitlines()
    size = len(text.encode())
    opened = max(summary.condors_opened, 1)
    if args.show:
        print(text, end="")
    print(
        f"level {args.level}: {summary.condors_opened} condor(s) opened, "
        f"{summary.condors_closed} closed; {len(lines)} lines, {size} bytes logged"
    )
    print(f"per condor: {size / opened:,.0f} bytes, {len(lines) / opened:.1f} lines")
    print("lines by source: " + ", ".join(f"{k} {v}" for k, v in sorted(sources.items())))
    print(f"target: under 2,048 bytes per condor -> {'OK' if size / opened < 2048 else 'OVER'}")


if __name__ == "__main__":
    main()
