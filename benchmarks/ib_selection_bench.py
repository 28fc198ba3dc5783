"""Strike selection through the IB path: the engine, the ib_async adapter and the loopback
gateway on a full SPXW 0DTE chain, with greeks arriving 200-800 ms after each request.

    .venv/bin/python benchmarks/ib_selection_bench.py [--attempts 5]

Prints, per entry attempt, the time from the start of the trading cycle to the combo order
leaving for the broker, and the peak number of market-data lines the adapter held. Real time
(speed 1): the greeks delays are real. Targets from the issue: under 1.5 s, at most 60 lines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time as wall
from datetime import date, datetime, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CONDORDESK_HOME", tempfile.mkdtemp(prefix="cd-ibbench-"))

from loguru import logger

import condordesk.broker.sim.market as sim_market
from condordesk.broker.ib import IBBroker
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config import paths
from condordesk.config.profile import Profile, SimulatorConfig
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.gateway import Gateway
from condordesk.market.calendar import TradingCalendar
from condordesk.market.clock import ET, SimClock
from condordesk.store.journal import Journal

DAY = date(2025, 3, 3)


def sessions(day: date) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5:
        return None
    return datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16), ET)


async def run(attempts: int, start: time) -> None:
    sim_market.STRIKE_RANGE = 0.26  # +-26% of 6000: more than 300 SPXW strikes a side
    clock = SimClock(datetime.combine(DAY, start, ET), speed=1.0)
    config = SimulatorConfig(seed=3, scenario="calm", greeks_latency_s=0.0, greeks_missing_prob=0.0)
    market = SimMarket(config)
    sim = SimBroker(clock, market, sessions)
    gateway = Gateway(sim, clock)
    gateway.faults.slow_greeks(0.2, 0.8)
    port = await gateway.start()
    profile = Profile.model_validate(
        {
            "mode": "paper",
            "clock": "live",
            "broker": {"kind": "ib", "port": port, "account": "DU1234567"},
            "strategy": {"max_concurrent": attempts, "reentry_interval_min": 0, "cycle_seconds": 5},
            "risk": {"first_trade_profit_pct": 0, "profit_close_price": 0},
            "logging": {"file": False},
        }
    )
    broker = IBBroker(
        clock,
        host="127.0.0.1",
        port=port,
        client_id=1,
        account="DU1234567",
        greeks_timeout_s=profile.strategy.greeks_timeout_s,
    )
    calendar = TradingCalendar.load(paths.ensure(paths.cache_dir()), 2024, 2026)
    journal = Journal(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    engine = Engine(profile, broker, journal, clock, calendar)

    cycle_start: list[float] = []
    sent: list[float] = []
    peak = [0]
    original = engine.entries.maybe_enter

    async def timed(*args: object) -> None:
        cycle_start.append(wall.perf_counter())
        await original(*args)  # type: ignore[arg-type]

    engine.entries.maybe_enter = timed  # type: ignore[method-assign]

    enough = asyncio.Event()

    def on_event(event: api.Event) -> None:
        if isinstance(event, api.OrderSubmitted) and event.role == "entry":
            sent.append(wall.perf_counter() - cycle_start[-1])
            if len(sent) >= attempts:
                enough.set()

    engine.bus.add_listener(on_event)

    async def watch_lines() -> None:
        while True:
            peak[0] = max(peak[0], broker._md._budget.in_use)
            await asyncio.sleep(0.005)

    watcher = asyncio.ensure_future(watch_lines())
    task = asyncio.ensure_future(engine.run())
    await asyncio.wait(
        [task, asyncio.ensure_future(enough.wait())],
        timeout=240,
        return_when=asyncio.FIRST_COMPLETED,
    )
    engine.request_stop()
    await asyncio.wait_for(task, 30)
    watcher.cancel()
    await gateway.stop()
    strikes = len(market.strikes(DAY)) // 2
    print(f"chain: {strikes} strikes a side; greeks 200-800 ms after each request")
    for i, seconds in enumerate(sent, 1):
        print(f"entry {i}: cycle start -> combo order transmitted {seconds:.2f} s")
    if sent:
        print(f"median {statistics.median(sent):.2f} s, max {max(sent):.2f} s (target < 1.5 s)")
    print(f"peak market-data lines held by the adapter: {peak[0]} (target <= 60)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument(
        "--start",
        type=time.fromisoformat,
        default=time(9, 44, 50),
        help="ET time the session starts at (default 09:44:50, ten seconds before entries "
        "open, so the engine measures the vol ahead; 10:00 starts inside the window, as a "
        "restarted engine does, and its first attempt needs two rounds of quotes)",
    )
    args = parser.parse_args()
    logger.remove()
    asyncio.run(run(args.attempts, args.start))


if __name__ == "__main__":
    main()
