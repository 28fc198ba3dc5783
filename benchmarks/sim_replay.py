"""CPU of the simulator alone under the engine's own load, and a hash of all it answered.

Runs the engine bench's setup (seed 7, the ``mixed`` market) for a few sessions while
recording every call the engine makes to the SimBroker (time, method, arguments), then
replays those calls on a fresh SimMarket + SimBroker at the same clock times: no engine,
no journal, just the simulator. Prints the replay's CPU (best of ``--repeat``), the same
replay with every call answered by nothing (the replay's own floor; the difference is the
simulator's share) and a hash of every answer and every broker event, which must not move
when the simulator is only made faster.

    .venv/bin/python benchmarks/sim_replay.py [--sessions 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

Call = tuple[datetime, str, tuple[Any, ...], dict[str, Any]]
_METHODS = (
    "connect",
    "disconnect",
    "account",
    "underlying_price",
    "option_strikes",
    "option_quotes",
    "open_orders",
    "order_status",
    "positions",
    "executions",
    "server_time",
    "settlement_price",
    "place_order",
    "modify_order",
    "cancel_order",
)


def _profile(sessions: int) -> Any:
    from condordesk.config.profile import Profile

    return Profile.model_validate(
        {
            "simulator": {
                "speed": "max",
                "sessions": sessions,
                "seed": 7,
                "start_date": "2026-01-02",
                "scenario": "mixed",
            },
            "logging": {"file": False},
        }
    )


def record(sessions: int) -> list[Call]:
    """Run the engine for ``sessions`` and return every call it made to the SimBroker."""
    from condordesk.app.bootstrap import build_sim
    from condordesk.broker.sim.broker import SimBroker
    from condordesk.market.vtime import run_virtual

    calls: list[Call] = []
    originals = {name: getattr(SimBroker, name) for name in _METHODS}

    def recorder(name: str, method: Callable[..., Coroutine[Any, Any, Any]]) -> Any:
        async def wrapper(self: SimBroker, *args: Any, **kwargs: Any) -> Any:
            calls.append((self._clock.now(), name, args, kwargs))
            return await method(self, *args, **kwargs)

        return wrapper

    for name, method in originals.items():
        setattr(SimBroker, name, recorder(name, method))
    try:
        home = Path(tempfile.mkdtemp(prefix="cd-replay-"))
        runtime = build_sim(_profile(sessions), journal_path=home / "replay.sqlite3")
        run_virtual(runtime.engine.run())
        runtime.journal.close()
    finally:
        for name, method in originals.items():
            setattr(SimBroker, name, method)
    return calls


def _answer_text(answer: Any) -> str:
    if not isinstance(answer, dict):
        return repr(answer)
    rows = []  # option quotes: greeks bit for bit
    for contract, q in answer.items():
        g = q.greeks
        greeks = () if g is None else (g.delta, g.gamma, g.theta, g.vega, g.iv)
        rows.append((contract, q.bid, q.ask, q.ts, q.greeks_ts, [x.hex() for x in greeks]))
    return repr(rows)


def replay(
    calls: list[Call], sessions: int, *, null: bool = False, hashed: bool = False
) -> tuple[float, str]:
    """Replay ``calls`` on a fresh simulator: (CPU seconds, hash of answers and events if
    ``hashed``, else the CPU is the simulator's and the replay's only)."""
    from condordesk.app.bootstrap import load_calendar, sim_start
    from condordesk.broker.sim import SimBroker, SimMarket
    from condordesk.errors import BrokerError
    from condordesk.market.clock import SimClock
    from condordesk.market.vtime import run_virtual

    profile = _profile(sessions)
    sim = profile.simulator
    calendar = load_calendar(sim.start_date, sim.sessions)

    def bounds(day: date) -> tuple[datetime, datetime] | None:
        s = calendar.session(day)
        return None if s is None else (s.open, s.close)

    clock = SimClock(sim_start(profile, calendar, sim.start_date))
    broker = SimBroker(clock, SimMarket(sim), bounds)
    digest = hashlib.sha256()

    async def run() -> None:
        stream = broker.events()
        for ts, name, args, kwargs in calls:
            await clock.sleep_until(ts)
            if null:
                await asyncio.sleep(0)
                continue
            try:
                answer = await getattr(broker, name)(*args, **kwargs)
            except BrokerError as exc:
                answer = repr(exc)
            if not hashed:
                stream.drain()
                continue
            digest.update(_answer_text(answer).encode())
            for event in stream.drain():
                digest.update(repr(event).encode())

    cpu0 = time.process_time()
    run_virtual(run())
    return time.process_time() - cpu0, digest.hexdigest()


def main() -> None:
    """Record, replay, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["CONDORDESK_HOME"] = tempfile.mkdtemp(prefix="cd-replay-home-")
    from loguru import logger

    logger.remove()
    calls = record(args.sessions)
    best = min(replay(calls, args.sessions)[0] for _ in range(args.repeat))
    floor = min(replay(calls, args.sessions, null=True)[0] for _ in range(args.repeat))
    digests = {replay(calls, args.sessions, hashed=True)[1] for _ in range(2)}
    print(f"calls replayed      {len(calls)} over {args.sessions} sessions")
    print(f"replay CPU          {best:.2f} s (best of {args.repeat})")
    print(f"replay floor CPU    {floor:.2f} s (every call answered by nothing)")
    print(f"simulator CPU       {best - floor:.2f} s")
    print(f"answers hash        {' '.join(sorted(digests))}")


if __name__ == "__main__":
    main()
