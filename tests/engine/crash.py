"""Crash harness: stop an engine dead at a step of a condor's life, keep the simulated broker
alive, start a new engine on the same journal and broker, and check the invariants."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.config.profile import Profile
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRequest, OrderRole, TimeInForce, parse_order_ref
from condordesk.engine import api
from condordesk.engine.repair import plan_for
from condordesk.engine.service import Engine
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal

Step = Callable[["Crash"], Awaitable[None]]


@dataclass
class Crash:
    """One crash scenario's state, shared by its steps."""

    rt: Runtime
    journal_path: Path
    dead: list[Engine] = field(default_factory=list)
    frozen: list[asyncio.Future[Any]] = field(default_factory=list)  # dead engines' tasks
    engine: Engine | None = None
    events: list[api.Event] = field(default_factory=list)
    started: datetime | None = None

    @property
    def broker(self) -> Any:
        return self.rt.broker


async def crash_at(c: Crash, step: str, *, skip: int = 0, deaf_from: str | None = None) -> None:
    """Run the first engine until it reaches ``step`` (after ``skip`` earlier hits), then kill
    it: no cleanup runs, it never touches the journal or the broker again. From ``deaf_from``
    on it hears no broker events (the process is already dying: fills go unseen)."""
    engine = c.rt.engine
    reached = asyncio.Event()
    hits = [0]

    async def hook(name: str) -> None:
        if name == deaf_from:
            engine.desk.on_broker_event = lambda event: None  # type: ignore[method-assign]
        if name != step:
            return
        hits[0] += 1
        if hits[0] <= skip:
            return
        reached.set()
        await asyncio.Future()  # dead: this coroutine never resumes

    engine.desk.checkpoint = hook
    c.rt.engine.bus.add_listener(c.events.append)
    task = asyncio.ensure_future(engine.run())
    waiter = asyncio.ensure_future(reached.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    assert reached.is_set(), f"the engine never reached {step}"
    kill(engine)
    c.dead.append(engine)
    c.frozen.append(task)


def kill(engine: Engine) -> None:
    """As if the process died: the engine applies no more broker events and its background
    tasks stop (their finally blocks have nothing to clean up)."""
    engine.desk.on_broker_event = lambda event: None  # type: ignore[method-assign]
    for task in list(engine.desk._tasks):  # the harness kills the process
        task.cancel()


async def restart(c: Crash, profile: Profile, *, until_done: bool = True) -> Engine:
    """A new engine on the same journal file, broker and clock."""
    journal = Journal(c.journal_path)
    engine = Engine(
        profile,
        c.rt.broker,
        journal,
        c.rt.clock,
        c.rt.calendar,
        max_sessions=profile.simulator.sessions or None,
    )
    engine.bus.add_listener(c.events.append)
    c.engine = engine
    c.started = c.rt.clock.now()
    if until_done:
        await engine.run()
    return engine


def make_resting(kind: OrderRole, price: Decimal) -> Callable[[OrderRequest], OrderRequest]:
    """A change to the next order of ``kind``: a DAY limit far from the market (it rests)."""
    done: list[bool] = []

    def change(request: OrderRequest) -> OrderRequest:
        parsed = parse_order_ref(request.order_ref)
        if parsed and parsed[1] is kind and not done:
            done.append(True)
            return dataclasses.replace(request, tif=TimeInForce.DAY, limit_price=price)
        return request

    return change


def patch_orders(rt: Runtime, change: Callable[[OrderRequest], OrderRequest]) -> None:
    """Pass every order the engine sends through ``change``."""
    original = rt.broker.place_order

    async def place(request: OrderRequest) -> Any:
        return await original(change(request))

    rt.broker.place_order = place  # type: ignore[method-assign]


def run_crash(
    profile: Profile, tmp_path: Path, scenario: Callable[[Crash], Awaitable[None]]
) -> Crash:
    """Run ``scenario`` on a fresh runtime in virtual time."""
    path = tmp_path / "journal.sqlite3"
    rt = build_sim(profile, journal_path=path)
    c = Crash(rt, path)

    async def main() -> None:
        try:
            await scenario(c)
        finally:
            # only now, with every check done, let the dead engines' coroutines unwind
            for task in c.frozen:
                task.cancel()
            await asyncio.gather(*c.frozen, return_exceptions=True)

    run_virtual(main())
    return c


async def invariants(c: Crash) -> dict[str, Any]:
    """The restart-safety invariants, checked against the broker and the journal."""
    engine = c.engine
    assert engine is not None
    journal = engine.journal
    await c.broker.connect()
    plan = await plan_for(c.broker, journal, c.rt.clock.now_et().date())
    executions = await c.broker.executions()
    positions = {p.contract: p.quantity for p in await c.broker.positions()}
    ours = {e.exec_id for e, _ in executions if parse_order_ref(e.order_ref)}
    journaled = [f.exec_id for f in journal.fills()]
    assert sorted(journaled) == sorted(set(journaled)), "a fill was counted twice"
    assert ours <= set(journaled), "a fill at the broker is missing from the journal"
    problems = [f for f in plan.findings if f.severity != "info"]
    assert problems == [], problems
    for check in plan.checks:
        assert check.stop_ok, f"condor {check.id} is not protected"
    entries: dict[str, int] = {}
    for e, _ in executions:
        parsed = parse_order_ref(e.order_ref)
        if parsed and parsed[1] is OrderRole.ENTRY:
            entries.setdefault(e.order_ref, 0)
            entries[e.order_ref] += 1
    today = c.rt.clock.now_et().date()
    opened = [r for r in journal.condors(day=today) if r.opened_ts is not None]
    assert len(entries) == len(opened), "a condor was opened twice or an entry was lost"
    live = journal.condors(states=[CondorState.OPEN, CondorState.CLOSING, CondorState.WORKING])
    return {"positions": positions, "live": live, "plan": plan}


def protected_after(c: Crash, condor_id: str) -> float | None:
    """Seconds of simulated time from the restart to the condor's stops being verified."""
    assert c.started is not None
    for e in c.events:
        if (
            isinstance(e, api.StopVerified)
            and e.condor_id == condor_id
            and e.ts
            and e.ts >= c.started
        ):
            return (e.ts - c.started).total_seconds()
    return None
