"""Simulated sessions per second of the whole engine (strategy, desk, journal, simulator) at
``--speed max``, and the process's peak RSS.

    .venv/bin/python benchmarks/engine_bench.py [--sessions 252] [--seed 7]

Prints figures; asserts nothing. Runs on one core (the engine is a single asyncio loop).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=252)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start-date", default="2026-01-02")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    os.environ["CONDORDESK_HOME"] = str(home)
    from loguru import logger

    from condordesk.bootstrap import build_sim
    from condordesk.config.profile import Profile
    from condordesk.market.vtime import run_virtual

    logger.remove()
    profile = Profile.model_validate(
        {
            "simulator": {
                "speed": "max",
                "sessions": args.sessions,
                "seed": args.seed,
                "start_date": args.start_date,
                "scenario": "mixed",
            },
            "logging": {"file": False},
        }
    )
    t0 = time.perf_counter()
    runtime = build_sim(profile, journal_path=home / "bench.sqlite3")
    setup = time.perf_counter() - t0
    cpu0 = time.process_time()
    t1 = time.perf_counter()
    summary = run_virtual(runtime.engine.run())
    wall = time.perf_counter() - t1
    cpu = time.process_time() - cpu0
    runtime.journal.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = summary.to_json()
    journal_mb = (home / "bench.sqlite3").stat().st_size / 1e6
    print(f"sessions            {report['sessions']}")
    print(f"condors opened      {report['condors_opened']}")
    print(f"closed by reason    {report['closed_by_reason']}")
    print(f"realized P&L        {report['realized_pnl']}  commissions {report['commissions']}")
    print(f"setup (calendar, journal, wiring)  {setup:.2f} s")
    print(f"run wall time       {wall:.2f} s   CPU {cpu:.2f} s")
    print(f"sessions per second {report['sessions'] / wall:.2f}")
    print(f"a trading year (252 sessions) takes {252 * wall / max(report['sessions'], 1):.1f} s")
    print(f"peak RSS            {rss_mb:.1f} MB")
    print(f"journal size        {journal_mb:.1f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
