"""The randomized stateful driver of issue 12: one engine on the simulator, in virtual time,
pushed through random interleavings of market gaps, operator commands, broker faults, restarts
and clock jumps, with every invariant of :mod:`tests.engine.invariants` checked after each step.

How it runs: each example owns one :class:`~condordesk.market.vtime.VirtualTimeEventLoop`. The
engine's ``run()`` is a task on it; a Hypothesis rule is synchronous, so each rule does its poke
and then ``run_until_complete`` of a coroutine that sleeps a drawn number of clock seconds.
While that sleep runs, the engine, the simulated broker's ticker and any command in flight run
on the same loop, and virtual time jumps from wake-up to wake-up. Between rules the loop is
stopped, so the checker sees a frozen world.

The engine talks to the simulator through a :class:`~tests.engine.stateful_link.Link` (one per
engine, in stateful_link.py) that records every order request, injects the faults the simulator
has no knob for, and plays dead when its engine is killed. A restart is either such a kill or
a requested stop, then a new engine on the same journal file, broker and clock.

:class:`Rig` is the world; :class:`EngineMachine` the Hypothesis state machine over it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.broker.sim import SimBroker
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.market.clock import ET
from condordesk.market.vtime import VirtualTimeEventLoop
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile
from tests.engine.invariants import NAMES, Checker, Sent, Violation, World
from tests.engine.stateful_link import Faults, Link
from tests.unit.test_journal_durable import DiskFull, disk_full

COUNTED = (
    api.CondorOpened,
    api.CondorClosed,
    api.StopPlaced,
    api.EntriesPaused,
    api.AlertRaised,
    api.OrderRejected,
)
EARLY_CLOSE_DAY = date(2026, 11, 27)  # the Friday after Thanksgiving: closes at 13:00
NORMAL_DAY = date(2026, 11, 30)
LOOK_EVERY_S = 30.0
"""Longest stretch of clock time between two looks at the invariants (one engine cycle)."""
STOP_WAIT_S = 900.0
"""How long (clock seconds) a requested stop may take before the engine counts as hung."""


@dataclass
class Choice:
    """The drawn shape of one example's profile."""

    day: date = NORMAL_DAY
    contracts: int = 1
    max_concurrent: int = 2
    daily_max_loss: int = 1500
    seed: int = 11


class Rig:
    """One engine on the simulator in virtual time, with its faults, restarts and checker."""

    def __init__(self, choice: Choice, workdir: Path) -> None:
        self.choice = choice
        self.profile = make_profile(
            simulator={
                "seed": choice.seed,
                "sessions": 2,
                "start_date": choice.day.isoformat(),
                "start_time": "09:40",
            },
            strategy={
                "contracts": choice.contracts,
                "max_concurrent": choice.max_concurrent,
                "reentry_interval_min": 15,
            },
            risk={"daily_max_loss": choice.daily_max_loss},
        )
        self.journal_path = workdir / "journal.sqlite3"
        self.loop = VirtualTimeEventLoop()
        self.loop.set_exception_handler(self._on_loop_error)
        self.faults = Faults()
        self.sent: list[Sent] = []
        self.events: list[api.Event] = []
        self.loop_errors: list[str] = []
        self.counts: Counter[str] = Counter()
        self.checker = Checker()
        self.commands: list[asyncio.Task[api.Ack]] = []
        self.frozen: list[asyncio.Future[Any]] = []
        self.generation = 0
        self.journals: list[Journal] = []
        self.found: list[Violation] = []
        self.buried: set[asyncio.Task[Any]] = set()  # engine tasks whose end was reported
        self.disk: DiskFull | None = None  # the full disk under the running engine's journal
        self.rt: Runtime = self._run(self._build())
        self.sim: SimBroker = self.rt.broker  # type: ignore[assignment]
        self.link = Link(self.sim, self)
        self.engine: Engine = self.rt.engine
        self.task: asyncio.Task[Any] = self._spawn(self.rt.journal)

    async def _build(self) -> Runtime:
        return build_sim(self.profile, journal_path=self.journal_path)

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.loop_errors.append(f"{context.get('message')}: {exc!r}")

    def clock_now(self) -> datetime:
        """The simulated time (read on the loop: off it, a SimClock tells its last reading)."""
        if self.loop.is_running():
            return self.rt.clock.now()
        return self._run(self._read_clock())  # type: ignore[no-any-return]

    async def _read_clock(self) -> datetime:
        return self.rt.clock.now()

    def _spawn(self, journal: Journal) -> asyncio.Task[Any]:
        """A new engine on ``journal``, talking through a new link, running."""
        self.generation += 1
        gen = self.generation
        self.journals.append(journal)
        self.link = Link(self.sim, self)
        engine = Engine(
            self.profile,
            self.link,  # type: ignore[arg-type]
            journal,
            self.rt.clock,
            self.rt.calendar,
            max_sessions=self.profile.simulator.sessions,
        )
        self.engine = self.rt.engine = engine

        def listen(event: api.Event) -> None:
            if gen == self.generation:
                self.events.append(event)
                if isinstance(event, COUNTED):
                    self.counts[type(event).__name__] += 1
                if isinstance(event, api.EntriesPaused) and "daily max loss" in event.reason:
                    self.counts["daily-loss pauses"] += 1

        engine.bus.add_listener(listen)
        return self.loop.create_task(engine.run(), name=f"engine-{gen}")

    # -- stepping -----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of clock time pass with everything running; the invariants are
        looked at every :data:`LOOK_EVERY_S` on the way (what they find is kept for
        :meth:`check`), so a long wait cannot hide a condor left without a stop meanwhile."""
        left = seconds
        while left > 0:
            session, now = self.session(), self.clock_now()
            trading = session is not None and session[0] <= now < session[1]
            piece = min(left, LOOK_EVERY_S) if trading else left
            self._run(self.rt.clock.sleep(piece))
            left -= piece
            if left > 0:
                self.found.extend(self._look())

    def advance_to(self, when: datetime) -> None:
        """Let the clock run up to ``when`` (no-op if it is past)."""
        left = (when - self.clock_now()).total_seconds()
        if left > 0:
            self.advance(left)

    def submit(self, command: api.Command) -> None:
        """Hand a command to the running engine, as a console would; let one second pass."""
        self.counts["commands"] += 1
        task = self.loop.create_task(self.engine.submit(command))
        task.add_done_callback(self._command_done)
        self.commands.append(task)
        self.advance(1.0)

    def _command_done(self, task: asyncio.Task[api.Ack]) -> None:
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self.loop_errors.append(f"command raised {exc!r}")

    @property
    def running(self) -> bool:
        """True while the engine's task runs (it ends when its sessions are done)."""
        return not self.task.done()

    def session(self) -> tuple[datetime, datetime] | None:
        """Today's (open, cut-off), or None on a day without a session."""
        s = self.rt.calendar.session(self.clock_now().astimezone(ET).date())
        return None if s is None else (s.open, s.close)

    # -- restarts -----------------------------------------------------------------------------

    def restart(self, *, crash: bool) -> None:
        """Kill the engine (``crash``) or ask it to stop, then start a new one on the same
        journal file, broker and clock."""
        self.counts["restarts"] += 1
        old, task = self.engine, self.task
        if crash:
            self.link.dead = True
            old.desk.on_broker_event = lambda event: None  # type: ignore[method-assign]
            for t in list(old.desk._tasks):
                t.cancel()
            self.frozen.append(task)
            self.frozen.extend(self.commands)
        else:
            old.request_stop()
            self._run(self._await_stop(task))
        self.commands = []
        self.checker.restarted()
        self.disk = None  # the restart stands for the disk freed and the service restarted
        self.task = self._spawn(Journal(self.journal_path))
        self.advance(1.0)

    async def _await_stop(self, task: asyncio.Task[Any]) -> None:
        done, _ = await asyncio.wait([task], timeout=self.rt.clock.loop_seconds(STOP_WAIT_S))
        if not done:
            self.loop_errors.append(f"the engine did not stop within {STOP_WAIT_S:.0f}s")
            self.frozen.append(task)

    # -- the journal's disk -------------------------------------------------------------------

    @property
    def disk_is_full(self) -> bool:
        """True while the running engine's journal refuses writes."""
        return self.disk is not None and self.disk.full

    def fill_disk(self) -> None:
        """The journal's disk fills up: every write of the running engine's journal is refused
        (reads still work) until :meth:`free_disk` or a restart."""
        if self.disk is None:
            self.disk = disk_full(self.engine.journal)
        self.disk.full = True
        self.counts["disk outages"] += 1

    def free_disk(self) -> None:
        """Space is freed: the journal takes writes again (the engine retries on its own)."""
        if self.disk is not None:
            self.disk.full = False

    # -- checking -----------------------------------------------------------------------------

    def engine_failure(self) -> str | None:
        """Why the engine's task ended unasked, if it did (told once per engine)."""
        if not self.task.done() or self.task.cancelled() or self.task in self.buried:
            return None
        self.buried.add(self.task)
        if (exc := self.task.exception()) is not None:
            return f"the engine died: {exc!r}"
        if self.engine.max_sessions and not self.engine._stopping:
            return None  # its sessions are done
        return "the engine stopped unasked"

    def check(self) -> list[Violation]:
        """The invariants now, and what was found on the way here."""
        found, self.found = [*self.found, *self._look()], []
        return found

    def _look(self) -> list[Violation]:
        found = self.checker.check(
            World(
                now=self.clock_now(),
                session=self.session(),
                link_up=self.sim.connected,
                sim=self.sim,
                journal=self.engine.journal,
                engine=self.engine,
                engine_failure=self.engine_failure(),
                loop_errors=list(self.loop_errors),
                events=self.events,
                sent=self.sent,
                disk_full=self.disk_is_full,
            )
        )
        self.loop_errors.clear()
        return found

    def close(self) -> None:
        """Stop everything and free the loop."""
        for t in [*self.frozen, *self.commands]:
            t.cancel()
        if not self.task.done():
            self.engine.request_stop()
            with contextlib.suppress(Exception):
                self._run(self._await_stop(self.task))
        self.task.cancel()
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:  # a dead engine's finally may wait forever on its dead link: bounded
            self._run(asyncio.wait(pending, timeout=3600.0))
        self.loop.set_exception_handler(lambda loop, ctx: None)
        for journal in self.journals:
            with contextlib.suppress(Exception):
                journal.close()
        self.loop.close()


# -- the state machine ---------------------------------------------------------------------------

TRIGGERS = ("tick-up", "tick-down", "off-tick", "at-mark", "below-mark", "above-width", "zero")
LIMITS = (None, "mark", "off-tick", "above-width", "zero")
JUMPS = ("15:45", "cutoff-5m", "cutoff", "next-open")


def drawn_trigger(kind: str, live: Any) -> Decimal:
    """A MoveStop trigger of ``kind`` for a live condor (possibly a bad one, on purpose)."""
    width = max(live.condor.put_width, live.condor.call_width)
    base = live.stop.trigger if live.stop else Decimal("2.00")
    mark = live.mark if live.mark is not None else base
    table = {
        "tick-up": base + Decimal("0.50"),
        "tick-down": max(base - Decimal("0.25"), Decimal("0.05")),
        "off-tick": base + Decimal("0.02"),
        "at-mark": _grid(mark),
        "below-mark": _grid(mark) - Decimal("0.10"),
        "above-width": width + Decimal(63),
        "zero": Decimal(0),
    }
    return table[kind]


def drawn_limit(kind: str | None, live: Any) -> Decimal | None:
    """A CloseCondor limit of ``kind`` (None: the engine prices it)."""
    if kind is None:
        return None
    width = max(live.condor.put_width, live.condor.call_width)
    mark = live.mark if live.mark is not None else Decimal("1.00")
    return {
        "mark": _grid(mark),
        "off-tick": _grid(mark) + Decimal("0.03"),
        "above-width": width + Decimal(5),
        "zero": Decimal(0),
    }[kind]


def _grid(price: Decimal) -> Decimal:
    return (price / Decimal("0.05")).quantize(Decimal(1)) * Decimal("0.05")


@dataclass
class Tally:
    """What the machine did, across examples (the soak prints it)."""

    examples: int = 0
    steps: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)  # first detail per invariant


class EngineMachine(RuleBasedStateMachine):
    """Random interleavings against one engine; every invariant after every step.

    Class attributes set by the test or the soak: ``workdir`` (where each example's journal
    goes), ``enforced`` (the invariants that fail the example; the others are only counted),
    ``tally`` (the counts).
    """

    workdir: ClassVar[Path] = Path(".")
    enforced: ClassVar[frozenset[str]] = frozenset(NAMES)
    tally: ClassVar[Tally] = Tally()
    on_violation: ClassVar[Callable[[Violation], None] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.rig: Rig | None = None

    @initialize(
        day=st.sampled_from([NORMAL_DAY, EARLY_CLOSE_DAY]),
        contracts=st.sampled_from([1, 2]),
        max_concurrent=st.sampled_from([1, 2]),
        daily_max_loss=st.sampled_from([1500, 120]),
        seed=st.integers(1, 500),
    )
    def start(
        self, day: date, contracts: int, max_concurrent: int, daily_max_loss: int, seed: int
    ) -> None:
        type(self).tally.examples += 1
        n = type(self).tally.examples
        workdir = type(self).workdir / f"example-{n}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.rig = Rig(Choice(day, contracts, max_concurrent, daily_max_loss, seed), workdir)
        self.rig.advance_to(datetime.combine(day, time(9, 46), ET))

    @property
    def r(self) -> Rig:
        assert self.rig is not None
        return self.rig

    def _live(self, pick: int) -> Any | None:
        live = sorted(self.r.engine.desk.live.values(), key=lambda lc: lc.id)
        return live[pick % len(live)] if live else None

    def _target(self, pick: int) -> str:
        live = self._live(pick)
        return live.id if live is not None else "no-such-condor"

    # -- time ------------------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([5.0, 20.0, 45.0, 120.0, 300.0, 900.0, 1800.0]))
    def wait(self, seconds: float) -> None:
        self.r.advance(seconds)

    @rule(where=st.sampled_from(JUMPS))
    def jump(self, where: str) -> None:
        session = self.r.session()
        now = self.r.clock_now()
        if where == "next-open" or session is None:
            nxt = self.r.rt.calendar.next_session(now + timedelta(hours=12))
            self.r.advance_to(nxt.open + timedelta(minutes=16))
            return
        close = session[1]
        target = {
            "15:45": datetime.combine(close.date(), time(15, 45), ET),
            "cutoff-5m": close - timedelta(minutes=5),
            "cutoff": close + timedelta(seconds=1),
        }[where]
        self.r.advance_to(target)
        self.r.counts["jumps"] += 1

    # -- the market ------------------------------------------------------------------------------

    @rule(points=st.sampled_from([-60.0, -25.0, -8.0, 8.0, 25.0, 60.0]), pick=st.integers(0, 3))
    def gap(self, points: float, pick: int) -> None:
        if not self.r.sim.connected and not self.r.sim._dropped:
            return
        live = self._live(pick)
        if live is not None and abs(points) >= 25 and self.r.engine.spot is not None:
            spot = self.r.engine.spot  # aim past the short strike on the side drawn
            edge = live.condor.short_put if points < 0 else live.condor.short_call
            points = float(edge - spot) + (-3.0 if points < 0 else 3.0)
        with contextlib.suppress(ValueError):
            self.r.sim.gap(points)
        self.r.counts["gaps"] += 1
        self.r.advance(5.0)

    # -- operator commands -----------------------------------------------------------------

    @rule(pick=st.integers(0, 3), kind=st.sampled_from(TRIGGERS))
    def move_stop(self, pick: int, kind: str) -> None:
        live = self._live(pick)
        trigger = drawn_trigger(kind, live) if live is not None else Decimal("2.00")
        self.r.submit(api.MoveStop(origin="test", condor_id=self._target(pick), trigger=trigger))

    @rule(pick=st.integers(0, 3))
    def cancel_stop(self, pick: int) -> None:
        self.r.submit(api.CancelStop(origin="test", condor_id=self._target(pick)))

    @rule(pick=st.integers(0, 3))
    def arm_stops(self, pick: int) -> None:
        self.r.submit(api.ArmStops(origin="test", condor_id=self._target(pick)))

    @rule(pick=st.integers(0, 3), kind=st.sampled_from(LIMITS))
    def close_condor(self, pick: int, kind: str | None) -> None:
        live = self._live(pick)
        limit = drawn_limit(kind, live) if live is not None else None
        self.r.submit(api.CloseCondor(origin="test", condor_id=self._target(pick), limit=limit))

    @rule()
    def flatten(self) -> None:
        self.r.submit(api.FlattenAll(origin="test"))

    @rule(command=st.sampled_from(["pause", "resume", "ack"]))
    def entries(self, command: str) -> None:
        made = {
            "pause": api.PauseEntries(origin="test", reason="operator"),
            "resume": api.ResumeEntries(origin="test"),
            "ack": api.AcknowledgeAlerts(origin="test"),
        }[command]
        self.r.submit(made)

    # -- faults ----------------------------------------------------------------------------

    @rule(
        fault=st.sampled_from(
            ["reject", "reject-3", "kill-fok", "partial", "ack-delay", "late-fill", "late-fee"]
        ),
        seconds=st.sampled_from([2.0, 20.0, 90.0]),
    )
    def fault(self, fault: str, seconds: float) -> None:
        sim, f = self.r.sim, self.r.faults
        if fault == "reject":
            sim.reject_next("rejected by the simulator (fault)")
        elif fault == "reject-3":
            sim.reject_next("rejected by the simulator (fault)", count=3)
        elif fault == "kill-fok":
            sim.kill_next_fok()
        elif fault == "partial":
            sim.partial_fills(count=2, pieces=2, interval_s=seconds)
        elif fault == "ack-delay":
            f.ack_delays.append(seconds)
        elif fault == "late-fill":
            f.fill_holds.append(seconds)
        else:
            f.commission_holds.append(seconds * 20)
        self.r.counts["faults"] += 1

    @rule(seconds=st.sampled_from([10.0, 60.0, 400.0]))
    def drop_link(self, seconds: float) -> None:
        self.r.sim.drop_connection()
        self.r.counts["faults"] += 1
        self.r.advance(seconds)
        self.r.sim.restore_connection()
        self.r.checker.link_restored(self.r.clock_now())

    @rule(pick=st.integers(0, 3), which=st.integers(0, 1))
    def cancel_by_hand(self, pick: int, which: int) -> None:
        live = self._live(pick)
        if live is not None and live.stop_order_ids:
            self.r.sim.cancel_order_by_hand(live.stop_order_ids[which % len(live.stop_order_ids)])
            self.r.counts["faults"] += 1

    @precondition(lambda self: self.rig is not None and not self.rig.disk_is_full)
    @rule(seconds=st.sampled_from([5.0, 60.0, 400.0]))
    def fill_disk(self, seconds: float) -> None:
        self.r.fill_disk()
        self.r.advance(seconds)

    @precondition(lambda self: self.rig is not None and self.rig.disk_is_full)
    @rule()
    def free_disk(self) -> None:
        self.r.free_disk()
        self.r.advance(1.0)

    @precondition(lambda self: self.rig is not None and self.rig.running)
    @rule(crash=st.booleans())
    def restart(self, crash: bool) -> None:
        self.r.restart(crash=crash)

    # -- after every step ------------------------------------------------------------------

    @invariant()
    def hold(self) -> None:
        if self.rig is None:
            return
        cls = type(self)
        cls.tally.steps += 1
        found = self.rig.check()
        for v in found:
            cls.tally.violations[v.name] += 1
            cls.tally.first.setdefault(v.name, v.detail)
            if cls.on_violation is not None:
                cls.on_violation(v)
        enforced = [v for v in found if v.name in cls.enforced]
        assert not enforced, "\n".join(str(v) for v in enforced)

    def teardown(self) -> None:
        if self.rig is not None:
            type(self).tally.counts.update(self.rig.counts)
            self.rig.close()
            self.rig = None
