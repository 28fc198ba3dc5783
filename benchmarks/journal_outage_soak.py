"""Journal outages, measured: simulated trading days on which the journal's disk fills at
random moments for random lengths, and what the engine made of them.

    .venv/bin/python benchmarks/journal_outage_soak.py [--days N] [--seed S]

Each day runs one session of the simulator in virtual time with two to four outages (the
disk refuses every write for 2 to 90 clock seconds, half of them starting as SPX gaps through
a condor's put spread, so its stop fires while the disk is full). Printed: days, outages,
engine crashes (``run()`` raising), entries sent while the disk was full, days not ending
flat at the broker, fills lost (broker executions missing from the journal at the end),
outages whose journal pause was never lifted, stops fired during outages, writes still
queued at the end, and the time from the disk coming back to the journal pause being lifted
(median, max). The goal is zero for every count but the stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CONDORDESK_HOME", tempfile.mkdtemp(prefix="cd-outage-"))

from loguru import logger

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.domain.condor import CondorState
from condordesk.engine import api
from condordesk.market.vtime import run_virtual
from tests.engine.harness import make_profile
from tests.unit.test_journal_durable import disk_full


class Day:
    """One simulated day with outages; its figures."""

    def __init__(self, seed: int, workdir: Path) -> None:
        self.rng = random.Random(seed)
        profile = make_profile(
            simulator={"seed": seed, "scenario": "mixed"}, strategy={"entry_end": "14:30"}
        )
        self.rt: Runtime = build_sim(profile, journal_path=workdir / f"j{seed}.sqlite3")
        self.events: list[api.Event] = []
        self.rt.engine.bus.add_listener(self.events.append)
        self.outages: list[tuple[datetime, datetime]] = []
        self.crashed = ""

    async def _faults(self) -> None:
        rt, rng = self.rt, self.rng
        disk = disk_full(rt.journal)
        while rt.engine.state not in ("armed", "paused"):
            await rt.clock.sleep(30)
        for _ in range(rng.randint(2, 4)):
            await rt.clock.sleep(rng.uniform(300, 5400))
            if rng.random() < 0.5:  # at a stop's trigger: gap through a condor's put wing
                held = [lc for lc in rt.engine.desk.live.values() if lc.state is CondorState.OPEN]
                if held and rt.engine.spot is not None:
                    wing = float(held[0].condor.long_put - rt.engine.spot) - 5.0
                    rt.broker.gap(wing)  # type: ignore[attr-defined]
            start = rt.clock.now()
            disk.full = True
            await rt.clock.sleep(rng.uniform(2, 90))
            disk.full = False
            self.outages.append((start, rt.clock.now()))

    async def run(self) -> None:
        faults = asyncio.ensure_future(self._faults())
        try:
            await self.rt.engine.run()
        except Exception as exc:  # the figure this soak exists for: it must stay zero
            self.crashed = f"{type(exc).__name__}: {exc}"
        finally:
            faults.cancel()
            await asyncio.gather(faults, return_exceptions=True)

    async def broker_state(self) -> tuple[int, int]:
        """(positions and working orders left, executions missing from the journal)."""
        broker = self.rt.broker
        await broker.connect()
        try:
            left = len(await broker.positions()) + len(await broker.open_orders())
            journaled = {f.exec_id for f in self.rt.journal.fills()}
            missing = sum(1 for e, _c in await broker.executions() if e.exec_id not in journaled)
        finally:
            await broker.disconnect()
        return left, missing

    def _during_outages(self, kind: type[api.Event], role: str | None = None) -> int:
        return sum(
            1
            for e in self.events
            if isinstance(e, kind)
            and (role is None or getattr(e, "role", None) == role)
            and any(a <= e.ts <= b for a, b in self.outages)  # type: ignore[operator]
        )

    def entries_during_outages(self) -> int:
        return self._during_outages(api.OrderSubmitted, "entry")

    def stops_during_outages(self) -> int:
        return self._during_outages(api.StopTriggered)

    def _alerts(self, code: str) -> list[datetime]:
        return [
            e.ts
            for e in self.events
            if isinstance(e, api.AlertRaised) and e.code == code and e.ts is not None
        ]

    def lift_delays(self) -> tuple[list[float], int]:
        """Per outage the engine noticed (a write failed during it): seconds from the disk
        coming back to the journal pause lifted; and how many were never lifted."""
        failed, lifts = self._alerts("journal"), self._alerts("journal_restored")
        out, never = [], 0
        for start, back in self.outages:
            if not any(start <= t <= back for t in failed):
                continue  # nothing was written while the disk was full
            later = [t for t in lifts if t >= back]
            if later:
                out.append((min(later) - back).total_seconds())
            else:
                never += 1
        return out, never


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logger.remove()
    workdir = Path(tempfile.mkdtemp(prefix="cd-outage-journals-"))
    totals = {"outages": 0, "crashes": 0, "entries": 0, "not flat": 0, "lost fills": 0}
    queued, delays, stops = 0, [], 0
    for n in range(args.days):
        day = Day(args.seed * 1000 + n, workdir)
        run_virtual(day.run())
        left, missing = run_virtual(day.broker_state())
        totals["outages"] += len(day.outages)
        totals["crashes"] += bool(day.crashed)
        totals["entries"] += day.entries_during_outages()
        stops += day.stops_during_outages()
        totals["not flat"] += left > 0
        totals["lost fills"] += missing
        queued += day.rt.journal.pending
        lifted, never = day.lift_delays()
        delays += lifted
        totals["never lifted"] = totals.get("never lifted", 0) + never
        if day.crashed:
            print(f"day {n}: run() raised {day.crashed}")
    print(f"days {args.days}, " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    print(f"stops fired while the disk was full {stops}; writes still queued at the end {queued}")
    if delays:
        print(
            f"disk back -> journal pause lifted: median {statistics.median(delays):.0f} s, "
            f"max {max(delays):.0f} s ({len(delays)} recoveries)"
        )


if __name__ == "__main__":
    main()
