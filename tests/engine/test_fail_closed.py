"""Fail closed without the journal: when its disk refuses writes the engine stops entering at
once, keeps its stops at the broker, alerts without the journal, tells systemd, retries the
writes (an exec id counts as applied only once journaled) and recovers by itself."""

from __future__ import annotations

import socket
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.broker.base import ExecutionReceived
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import parse_order_ref
from condordesk.engine import api
from condordesk.engine.safety import OUTAGE_MAX_S
from condordesk.notify import MemoryNotifier
from condordesk.ops import systemd
from condordesk.ops.alerts import AlertRouter
from tests.engine.harness import make_profile, run_engine, until
from tests.engine.test_trading_day import assert_flat
from tests.unit.test_journal import execution
from tests.unit.test_journal_durable import DiskFull, disk_full

pytestmark = pytest.mark.usefixtures("warm_calendar")


def _first_protected(rt: Runtime) -> str | None:
    for cid, live in rt.engine.desk.live.items():
        if live.state is CondorState.OPEN and live.stop_state == "verified":
            return cid
    return None


class Outage:
    """Fills the disk once the first condor is protected, gaps SPX through its put wing so
    its stop fires, and frees the disk ``seconds`` after the stop's fills reached the engine."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.disk: DiskFull | None = None
        self.full_at: datetime | None = None
        self.back_at: datetime | None = None
        self.condor_id = ""
        self.phone: list[str] = []  # what the alert router had queued while the disk was full

    async def __call__(self, rt: Runtime) -> None:
        notifier = MemoryNotifier(clock=rt.clock)
        rt.engine.bus.add_listener(AlertRouter(notifier, "sim"))  # the phone's path
        await until(rt, lambda: _first_protected(rt) is not None)
        self.condor_id = cid = _first_protected(rt) or ""
        live = rt.engine.desk.live[cid]
        self.disk = disk_full(rt.journal)
        self.disk.full, self.full_at = True, rt.clock.now()
        spot = rt.engine.spot or Decimal(0)
        rt.broker.gap(float(live.condor.long_put - spot) - 10.0)  # type: ignore[attr-defined]
        await until(rt, lambda: live.state is not CondorState.OPEN, step=1.0)
        await until(rt, lambda: rt.engine.desk.unjournaled >= 4, step=1.0)
        await rt.clock.sleep(self.seconds)
        self.phone = [m.text for m in notifier.messages]
        self.disk.full, self.back_at = False, rt.clock.now()


def _entries_between(events: list[api.Event], start: datetime, end: datetime) -> list[str]:
    return [
        e.order_ref
        for e in events
        if isinstance(e, api.OrderSubmitted)
        and e.role == "entry"
        and e.ts is not None
        and start <= e.ts <= end
    ]


@pytest.mark.parametrize("seconds", [5.0, 40.0], ids=["within-fill-timeout", "longer"])
def test_a_full_disk_at_a_stop_fill_pauses_entries_and_the_fill_lands_when_it_is_back(
    tmp_path: Path, seconds: float
) -> None:
    """The issue's reproduction: the disk is full for a moment when a stop fills. Entries stop
    at once, the alert still reaches the listeners, the stop's fills are journaled once writes
    return (within the exit flow's wait, or after it by the recovery and a reconciliation),
    the journal pause lifts by itself, and the day ends with even legs."""
    outage = Outage(seconds)
    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "14:00"})
    out = run_engine(profile, tmp_path, outage)
    rt, journal = out.runtime, out.runtime.journal
    assert outage.full_at is not None and outage.back_at is not None
    assert outage.disk is not None and outage.disk.refused > 0

    alerts = [a for a in out.of(api.AlertRaised) if a.code == "journal"]
    assert alerts and alerts[0].level == "critical"
    assert outage.full_at <= alerts[0].ts <= outage.back_at  # heard while nothing was written
    pauses = [p for p in out.of(api.EntriesPaused) if p.reason.startswith("journal")]
    assert pauses and pauses[0].ts <= outage.back_at
    assert _entries_between(out.events, outage.full_at, outage.back_at) == []
    assert any("journal cannot be written" in text for text in outage.phone)
    restored = [a for a in out.of(api.AlertRaised) if a.code == "journal_restored"]
    assert restored and restored[0].ts >= outage.back_at
    assert "journal" not in rt.engine.pauses  # lifted by the engine itself
    cleared = [c for c in out.of(api.AlertCleared) if c.code == "journal"]
    assert cleared and cleared[0].alert.startswith("journal: the journal cannot be written")
    assert not [a for a in rt.engine.open_alerts if a.startswith("journal:")]

    closed = next(c for c in out.of(api.CondorClosed) if c.condor_id == outage.condor_id)
    assert closed.reason in ("stop_limit", "stop_market")
    stop_fills = [
        f
        for f in journal.fills(outage.condor_id)
        if (p := parse_order_ref(f.order_ref)) and p[1].value.startswith("stop")
    ]
    assert len(stop_fills) == 4  # one unit, four legs: each applied once, none lost
    assert journal.pending == 0 and rt.engine.desk.unjournaled == 0
    kinds = [(kind, payload.get("code")) for _seq, _ts, kind, payload in journal.events()]
    assert ("AlertRaised", "journal") in kinds  # journaled later, when the disk was back
    assert journal.condor(outage.condor_id).state is CondorState.CLOSED  # type: ignore[union-attr]
    assert out.of(api.CondorOpened)[-1].ts > outage.back_at  # trading resumed by itself
    assert_flat(rt)


def test_an_exec_id_counts_as_applied_only_once_journaled(tmp_path: Path) -> None:
    rt = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3")
    desk = rt.engine.desk
    disk = disk_full(rt.journal)
    disk.full = True
    fill = ExecutionReceived(execution("e1", "manual"))

    desk.on_broker_event(fill)
    assert desk.unjournaled == 1
    desk.on_broker_event(fill)  # the broker's replay while the disk is still full
    assert rt.journal.fills() == []
    assert "journal" in rt.engine.pauses

    disk.full = False
    assert desk.retry_fills()
    assert [f.exec_id for f in rt.journal.fills()] == ["e1"]
    assert desk.unjournaled == 0
    assert not desk._on_execution(fill)  # applied now: a replay is a no-op


class NotifySocket:
    """A fake ``$NOTIFY_SOCKET``: a datagram socket the test reads."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.path = path
        self.messages: list[tuple[datetime, str]] = []

    def read(self, now: datetime) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return
            self.messages.append((now, data.decode()))


def test_systemd_hears_the_outage_and_the_watchdog_fails_if_it_lasts(tmp_path: Path) -> None:
    notify = NotifySocket(tmp_path / "notify")
    profile = make_profile(strategy={"max_concurrent": 1})
    rt = build_sim(profile, journal_path=tmp_path / "j.sqlite3")
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "30000000"}
    beat = systemd.attach(rt.engine, rt.clock, env)  # as the service's composition root does
    assert beat is not None and rt.engine.heartbeat_failed == beat.fail
    beats: list[datetime] = []

    def heartbeat(status: str) -> None:
        beats.append(rt.clock.now())
        beat(status)

    rt.engine.heartbeat = heartbeat  # the same hook, counting its calls
    full_from: list[int] = []  # index of the first datagram sent after the disk filled

    async def reader(rt: Runtime) -> None:
        while True:
            notify.read(rt.clock.now())
            await rt.clock.sleep(5)

    async def fault(rt: Runtime) -> None:
        await until(rt, lambda: rt.engine.state == "armed")
        notify.read(rt.clock.now())
        full_from.append(len(notify.messages))
        disk_full(rt.journal).full = True
        await until(rt, lambda: beat.failed)
        await rt.clock.sleep(120)
        notify.read(rt.clock.now())
        rt.engine.request_stop()

    try:
        out = run_engine(profile, tmp_path, reader, fault, runtime=rt)
    finally:
        notify.sock.close()
    down = next(a for a in out.of(api.AlertRaised) if a.code == "journal")
    outage = next(a for a in out.of(api.AlertRaised) if a.code == "journal_outage")
    assert OUTAGE_MAX_S <= (outage.ts - down.ts).total_seconds() <= OUTAGE_MAX_S + 60
    during = [(ts, m) for ts, m in notify.messages[full_from[0] :]]
    told = next(i for i, (_ts, m) in enumerate(during) if "STATUS=JOURNAL FAILING" in m)
    assert (during[told][0] - down.ts).total_seconds() <= 5  # at once (read every 5 s)
    triggers = [i for i, (_ts, m) in enumerate(during) if "WATCHDOG=trigger" in m]
    assert len(triggers) == 1 and triggers[0] > told
    waiting = during[told : triggers[0]]
    assert any("WATCHDOG=1" in m for _ts, m in waiting)  # alive while within the bound
    during = [m for _ts, m in during]  # type: ignore[misc]
    assert any(ts > outage.ts for ts in beats)  # the engine still beats...
    assert not any("WATCHDOG=1" in m for m in during[triggers[0] + 1 :])  # ...but never feeds


def test_an_entry_that_fills_while_the_disk_is_full_is_protected_at_once(
    tmp_path: Path,
) -> None:
    """The disk fills between the entry's intent and its fill: the fill cannot be journaled,
    yet the condor is opened and protected during the outage (its fills, state and stop pair
    queued in the journal); once the disk is back they land, and the day ends flat (see
    tests/engine/test_outage_entries.py)."""
    state: dict[str, Any] = {}

    async def script(rt: Runtime) -> None:
        disk = disk_full(rt.journal)

        async def hook(step: str) -> None:
            if step == "sent:entry" and "cid" not in state:
                state["cid"] = next(iter(rt.engine.desk.live))
                disk.full, state["full_at"] = True, rt.clock.now()

        rt.engine.desk.checkpoint = hook
        await until(rt, lambda: "cid" in state, step=1.0)
        await rt.clock.sleep(20)
        disk.full, state["back_at"] = False, rt.clock.now()

    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})
    out = run_engine(profile, tmp_path, script)
    cid = state["cid"]
    opened = [o for o in out.of(api.CondorOpened) if o.condor_id == cid]
    assert opened and state["full_at"] <= opened[0].ts < state["back_at"]
    verified = [v for v in out.of(api.StopVerified) if v.condor_id == cid]
    assert verified and verified[0].ts < state["back_at"]
    assert [a.code for a in out.of(api.AlertRaised)].count("outage_protection") == 1
    assert len([f for f in out.runtime.journal.fills(cid) if f.order_ref.endswith("entry")]) == 4
    assert_flat(out.runtime)


def test_a_disk_that_fills_again_while_the_engine_recovers_keeps_it_paused(
    tmp_path: Path,
) -> None:
    """The disk frees, and fills again at the very write that lifts the journal pause: the
    engine stays paused and keeps retrying, and recovers when the disk is free for good."""
    state: dict[str, Any] = {}

    async def script(rt: Runtime) -> None:
        await until(rt, lambda: rt.engine.state == "armed")
        disk = disk_full(rt.journal)
        disk.full = True
        await until(rt, lambda: "journal" in rt.engine.pauses, step=1.0)
        await rt.clock.sleep(10)
        # freed, and full again at the write of the pauses without the journal one (its lift)
        disk.full, disk.full_again_at = False, "('pauses', '[]')"
        await until(rt, lambda: disk.full, step=0.5)
        state["again"] = rt.clock.now()
        assert "journal" in rt.engine.pauses
        await rt.clock.sleep(30)
        assert "journal" in rt.engine.pauses and rt.journal.failing
        disk.full, state["back"] = False, rt.clock.now()
        await until(rt, lambda: "journal" not in rt.engine.pauses, step=1.0)
        state["lifted"] = rt.clock.now()

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    assert state["back"] <= state["lifted"]
    assert (state["lifted"] - state["back"]).total_seconds() <= 15
    restored = [a for a in out.of(api.AlertRaised) if a.code == "journal_restored"]
    assert len(restored) == 1 and restored[0].ts >= state["back"]
    assert out.runtime.journal.pending == 0


def test_an_order_command_is_refused_while_the_journal_cannot_be_written(tmp_path: Path) -> None:
    acks: dict[str, api.Ack] = {}

    async def script(rt: Runtime) -> None:
        await until(rt, lambda: _first_protected(rt) is not None)
        cid = _first_protected(rt) or ""
        disk = disk_full(rt.journal)
        disk.full = True
        rt.journal.set_state("note", "the disk is full")  # the first refused write, at once
        assert rt.journal.failing
        acks["close"] = await rt.engine.submit(api.CloseCondor(condor_id=cid, origin="tui"))
        acks["pause"] = await rt.engine.submit(api.PauseEntries(reason="lunch", origin="tui"))
        disk.full = False
        await until(rt, lambda: not rt.journal.failing, step=1.0)
        acks["after"] = await rt.engine.submit(api.CloseCondor(condor_id=cid, origin="tui"))

    out = run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    assert not acks["close"].accepted and "journal cannot be written" in acks["close"].reason
    assert acks["pause"].accepted  # pausing sends nothing: it holds in memory, journaled later
    assert acks["after"].accepted
    assert [c.reason for c in out.of(api.CondorClosed)][:1] == ["manual"]
    assert_flat(out.runtime)


def test_a_stop_with_fills_the_disk_refused_logs_each_of_them(tmp_path: Path) -> None:
    """Stopped (as by systemd) while the disk is still full after a stop filled: the fills
    the journal never took are each logged, critically, with what a trader needs to book them
    by hand (the next start finds them at the broker only if it is the same trading day)."""
    lines: list[str] = []
    stop_refs: list[str] = []

    async def script(rt: Runtime) -> None:
        await until(rt, lambda: _first_protected(rt) is not None)
        cid = _first_protected(rt) or ""
        live = rt.engine.desk.live[cid]
        disk = disk_full(rt.journal)
        disk.full = True
        spot = rt.engine.spot or Decimal(0)
        rt.broker.gap(float(live.condor.long_put - spot) - 10.0)  # type: ignore[attr-defined]
        await until(rt, lambda: rt.engine.desk.unjournaled >= 4, step=1.0)
        stop_refs.extend(e.order_ref for e in rt.engine.desk.unjournaled_fills())
        rt.engine.request_stop()

    sink = logger.add(lambda m: lines.append(m.record["message"]), level="CRITICAL")
    try:
        run_engine(make_profile(strategy={"max_concurrent": 1}), tmp_path, script)
    finally:
        logger.remove(sink)
    logged = [line for line in lines if line.startswith("not journaled: fill ")]
    assert len(logged) == 4 and len(stop_refs) == 4
    for line in logged:
        assert " of cd:" in line and ":stop-" in line and " at " in line and "UTC)" in line
    assert any("only in the lines below" in line for line in lines)
