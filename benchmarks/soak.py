"""Soak: the randomized stateful test of the engine (tests/engine/stateful.py), run long.

    .venv/bin/python benchmarks/soak.py --examples 200 --steps 60 --seed 1
    .venv/bin/python benchmarks/soak.py --minutes 5 --steps 60 --seed 7
    .venv/bin/python benchmarks/soak.py --hunt reversed --examples 50   # shrink one failure

Every invariant of tests/engine/invariants.py is checked after every step, but none stops the
run: each violation is counted (the goal is zero) and the first detail of each is printed. With
``--minutes`` the machine runs in rounds of ``--examples`` (default 20) with seeds ``seed``,
``seed + 1``, ... until the time is up. Prints examples, steps, faults injected, restarts,
commands, clock jumps, gaps, orders and disk outages, violations per invariant, examples/s and
steps/s.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CONDORDESK_HOME", tempfile.mkdtemp(prefix="cd-soak-"))

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test
from loguru import logger

from tests.engine.invariants import NAMES
from tests.engine.stateful import COUNTED, EngineMachine, Tally

COUNTED_NAMES = [kind.__name__ for kind in COUNTED]


def run_round(
    examples: int, steps: int, at_seed: int, workdir: Path, tally: Tally, hunt: str = ""
) -> None:
    """``examples`` examples of at most ``steps`` steps, counting into ``tally``. With
    ``hunt``, that invariant fails the run and Hypothesis shrinks it to a minimal example."""

    class Soak(EngineMachine):
        pass

    Soak.workdir = workdir
    Soak.enforced = frozenset([hunt] if hunt else [])
    Soak.tally = tally
    seed(at_seed)(Soak)
    phases = [Phase.generate, Phase.shrink] if hunt else [Phase.generate]
    run_state_machine_as_test(
        Soak,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            print_blob=bool(hunt),
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20, help="examples (per round)")
    parser.add_argument("--steps", type=int, default=50, help="most steps per example")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=0.0, help="run rounds this long")
    parser.add_argument(
        "--hunt", choices=NAMES, default="", help="stop at this invariant and shrink the example"
    )
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid> prints where it is
    logger.remove()
    tally = Tally()
    started = time.perf_counter()
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="cd-soak-") as tmp:
        while True:
            before = dict(tally.violations)
            run_round(args.examples, args.steps, args.seed + rounds, Path(tmp), tally, args.hunt)
            found = {k: n - before.get(k, 0) for k, n in tally.violations.items()}
            named = ", ".join(f"{k} {n}" for k, n in sorted(found.items()) if n)
            print(
                f"round {rounds + 1} (seed {args.seed + rounds}): "
                f"{sum(found.values())} violation(s){f' ({named})' if named else ''}"
            )
            rounds += 1
            elapsed = time.perf_counter() - started
            if args.minutes <= 0 or elapsed >= args.minutes * 60:
                break
    elapsed = time.perf_counter() - started
    print(f"soak: {rounds} round(s) from seed {args.seed}, {elapsed:.1f} s")
    print(f"  examples       {tally.examples}")
    print(f"  steps          {tally.steps}")
    counted = ("faults", "restarts", "commands", "jumps", "gaps", "orders", "daily-loss pauses")
    for key in (*counted, "disk outages"):
        print(f"  {key:<18} {tally.counts[key]}")
    print("engine events:", ", ".join(f"{k} {tally.counts[k]}" for k in sorted(COUNTED_NAMES)))
    print(f"  examples/s     {tally.examples / elapsed:.2f}")
    print(f"  steps/s        {tally.steps / elapsed:.1f}")
    print("violations per invariant (goal: 0):")
    for name in NAMES:
        n = tally.violations[name]
        first = f"  first: {tally.first[name]}" if n else ""
        print(f"  {name:<20} {n}{first}")


if __name__ == "__main__":
    main()
