"""Drive a whole engine on the simulator in virtual time, and look at what it did."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.engine.summary import RunSummary
from condordesk.market.clock import ET
from condordesk.market.vtime import run_virtual

Script = Callable[[Runtime], Awaitable[None]]


def make_profile(**sections: dict[str, Any]) -> Profile:
    """A sim profile with test defaults (max speed, one session) and section overrides."""
    raw: dict[str, Any] = {
        "simulator": {
            "speed": "max",
            "sessions": 1,
            "seed": 11,
            "scenario": "calm",
            "start_date": "2026-11-30",
            "greeks_missing_prob": 0.0,
        },
        "logging": {"file": False},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return Profile.model_validate(raw)


@dataclass
class Outcome:
    """What a run produced."""

    runtime: Runtime
    summary: RunSummary
    events: list[api.Event] = field(default_factory=list)

    def of(self, kind: type[api.Event]) -> list[Any]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def et(self, ts: datetime | None) -> time:
        """A timestamp as New York wall time."""
        assert ts is not None
        return ts.astimezone(ET).time()


def run_engine(
    profile: Profile,
    tmp_path: Path,
    *scripts: Script,
    journal: Path | None = None,
    runtime: Runtime | None = None,
) -> Outcome:
    """Run the engine to the end of its sessions; ``scripts`` run beside it (they may wait on
    the clock and poke the simulated broker)."""
    rt = runtime or build_sim(profile, journal_path=journal or tmp_path / "journal.sqlite3")
    events: list[api.Event] = []
    rt.engine.bus.add_listener(events.append)

    async def main() -> RunSummary:
        helpers = [asyncio.ensure_future(s(rt)) for s in scripts]
        try:
            return await rt.engine.run()
        finally:
            for h in helpers:
                if not h.done():
                    h.cancel()
            results = await asyncio.gather(*helpers, return_exceptions=True)
            for r in results:  # a failed script fails the test
                if isinstance(r, Exception) and not isinstance(r, asyncio.CancelledError):
                    raise r

    summary = run_virtual(main())
    return Outcome(rt, summary, events)


async def until(
    rt: Runtime,
    predicate: Callable[[], bool],
    step: float = 5.0,
    limit_s: float | None = None,
) -> None:
    """Wait (in clock time) until ``predicate`` holds, looking every ``step`` seconds; with
    ``limit_s``, fail once that much clock time passed without it."""
    waited = 0.0
    while not predicate():
        assert limit_s is None or waited < limit_s, "the condition never held"
        await rt.clock.sleep(step)
        waited += step


def at(day: date, hhmm: str) -> datetime:
    """An aware New York time on ``day``."""
    return datetime.combine(day, time.fromisoformat(hhmm), ET)
