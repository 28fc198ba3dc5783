"""What a durable journal costs: time per intent and per fill written, synchronous=FULL (what
condordesk runs) against NORMAL (what it ran before), on the disk under ``--dir``.

    .venv/bin/python benchmarks/journal_bench.py [--dir PATH] [--writes N]

Each intent is what the desk writes before an order leaves (one row, one commit); each fill is
one execution (one row, one commit); a stop pair is two rows in one transaction; a loop turn
is what the engine's event loop records in one turn (five records: order statuses, events),
which share one commit at the end of the turn. Prints the median and 95th percentile per
write (per turn), in milliseconds, for each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from condordesk.domain.orders import OrderRole
from condordesk.store.journal import Journal
from tests.unit.test_journal import T0, execution, record, request, stop


def _timed(write: Callable[[int], None], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        write(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _bench(path: Path, synchronous: str, n: int) -> dict[str, list[float]]:
    journal = Journal(path)
    journal._db.execute(f"PRAGMA synchronous={synchronous}")
    for i in range(n):
        journal.insert_condor(record(f"c{i}"))

    def intent(i: int) -> None:
        journal.record_intent(f"c{i}", OrderRole.ENTRY, request(f"c{i}"), T0)

    def fill(i: int) -> None:
        journal.record_fill(execution(f"e{i}", f"cd:c{i}:entry"), f"c{i}")

    def stop_pair(i: int) -> None:
        with journal.transaction():
            journal.record_stop(stop(f"c{i}", f"oca-{i}"))
            journal.update_condor(f"c{i}", note="stops")

    figures = {
        "intent": _timed(intent, n),
        "fill": _timed(fill, n),
        "stop pair": _timed(stop_pair, n),
        "loop turn": asyncio.run(_turns(journal, n)),
    }
    journal.close()
    return figures


async def _turns(journal: Journal, n: int) -> list[float]:
    """Five records per turn of the event loop, each turn timed until the next begins."""
    loop = asyncio.get_running_loop()
    out = []
    for i in range(n):
        start = time.perf_counter()
        for k in range(5):
            journal.append_event(i * 5 + k + 1, T0, "OrderStatusChanged", {"turn": i})
        turn = loop.create_future()
        loop.call_soon(turn.set_result, None)
        await turn  # the turn ends: the records' commit (if shared) has run
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="where the journals are written")
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="cd-journal-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"journal on {base}, {args.writes} writes of each kind")
    print(f"{'mode':<8}{'write':<11}{'median ms':>10}{'p95 ms':>10}")
    for mode in ("NORMAL", "FULL"):
        figures = _bench(base / f"{mode.lower()}.sqlite3", mode, args.writes)
        for kind, times in figures.items():
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{mode:<8}{kind:<11}{statistics.median(times):>10.3f}{p95:>10.3f}")


if __name__ == "__main__":
    main()
