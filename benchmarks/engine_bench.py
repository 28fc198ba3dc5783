"""Simulated sessions per second of the whole engine (strategy, desk, journal, simulator) at
``--speed max``, and the process's peak RSS.

    .venv/bin/python benchmarks/engine_bench.py [--sessions 252] [--seed 7] [--target-delta 0.10]

Prints figures (speed, peak RSS, and the strategy's result on the simulated market: condors,
win rate, exit reasons, average credit, P&L after commissions, max drawdown); asserts nothing.
Runs on one core (the engine is a single asyncio loop).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=252)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start-date", default="2026-01-02")
    parser.add_argument("--target-delta", type=float, default=None)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    os.environ["CONDORDESK_HOME"] = str(home)
    from loguru import logger

    from condordesk.app.bootstrap import build_sim
    from condordesk.config.profile import Profile
    from condordesk.engine import api
    from condordesk.market.vtime import run_virtual

    logger.remove()
    strategy = {} if args.target_delta is None else {"target_delta": args.target_delta}
    profile = Profile.model_validate(
        {
            "strategy": strategy,
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
    closed: list[api.CondorClosed] = []
    opened: list[api.CondorOpened] = []
    runtime.engine.bus.add_listener(
        lambda e: (
            closed.append(e)
            if isinstance(e, api.CondorClosed)
            else opened.append(e)
            if isinstance(e, api.CondorOpened)
            else None
        )
    )
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
    print(f"target delta        {profile.strategy.target_delta}")
    print(strategy_figures(opened, closed))
    print(f"setup (calendar, journal, wiring)  {setup:.2f} s")
    print(f"run wall time       {wall:.2f} s   CPU {cpu:.2f} s")
    print(f"sessions per second {report['sessions'] / wall:.2f}")
    print(f"a trading year (252 sessions) takes {252 * wall / max(report['sessions'], 1):.1f} s")
    print(f"peak RSS            {rss_mb:.1f} MB")
    print(f"journal size        {journal_mb:.1f} MB")
    sys.stdout.flush()


def strategy_figures(opened: list[Any], closed: list[Any]) -> str:
    """Win rate, average credit and max drawdown (closed condors, P&L after commissions)."""
    if not closed:
        return "no condor closed"
    wins = sum(c.realized_pnl > 0 for c in closed)
    credit = sum(float(o.credit) for o in opened) / max(len(opened), 1)
    equity = peak = drawdown = 0.0
    for c in closed:
        equity += float(c.realized_pnl)
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    return (
        f"closed condors      {len(closed)}  win rate {wins / len(closed):.1%}"
        f"  average credit {credit:.2f}  P&L after commissions {equity:,.2f}"
        f"  max drawdown {drawdown:,.2f}"
    )


if __name__ == "__main__":
    main()
