"""sd_notify: the messages systemd would receive, on a Unix datagram socket the test listens
on; from the notifier itself, from an engine running a simulated day, and from the
``condordesk --autotrade`` process."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import build_sim
from condordesk.market.vtime import run_virtual
from condordesk.ops import systemd
from tests.engine.harness import at, make_profile, run_engine, until

DAY = date(2026, 11, 30)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket standing in for systemd's notify socket."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    try:
        yield sock, path
    finally:
        sock.close()


def drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def fields(message: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in message.splitlines())


def test_notifier_speaks_the_protocol_to_a_path_and_to_an_abstract_socket(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    n = systemd.Notifier(path)
    assert n.ready("armed") and n.status("paused (FOMC)\nsecond line") and n.watchdog()
    assert n.stopping("SIGTERM received")
    got = [fields(m) for m in drain(sock)]
    assert got == [
        {"READY": "1", "STATUS": "armed"},
        {"STATUS": "paused (FOMC) second line"},
        {"WATCHDOG": "1"},
        {"STOPPING": "1", "STATUS": "SIGTERM received"},
    ]

    name = f"condordesk-test-{os.getpid()}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract.bind("\0" + name)
    try:
        assert systemd.Notifier(f"@{name}").watchdog()
        assert abstract.recv(100) == b"WATCHDOG=1"
    finally:
        abstract.close()


def test_outside_systemd_nothing_is_sent_and_a_vanished_socket_never_raises(
    tmp_path: Path,
) -> None:
    assert systemd.Heartbeat.from_env({}) is None
    assert not systemd.Notifier.from_env({}).watchdog()
    gone = systemd.Notifier(str(tmp_path / "nobody-listens.sock"))
    assert not gone.ready("armed") and not gone.watchdog()  # logged once, not raised


def test_the_watchdog_timeout_applies_only_to_the_process_it_names() -> None:
    env = {"WATCHDOG_USEC": "90000000"}
    assert systemd.watchdog_seconds(env) == 90.0
    assert systemd.watchdog_seconds({**env, "WATCHDOG_PID": str(os.getpid())}) == 90.0
    assert systemd.watchdog_seconds({**env, "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    beat = systemd.Heartbeat.from_env({"NOTIFY_SOCKET": "/run/x", **env})
    assert beat is not None and beat.interval_s == 45.0


def test_an_engine_reports_ready_once_then_feeds_the_watchdog_all_day(
    listener: tuple[socket.socket, str], tmp_path: Path, warm_calendar: None
) -> None:
    sock, path = listener
    # WatchdogSec=120 (beats at least every 60 s while waiting; trading cycles are 30 s apart
    # and a cycle that sends an entry may itself take a fill timeout of 15 s and more)
    timeout = 120.0
    rt = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3")
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(int(timeout * 1e6))}
    assert systemd.attach(rt.engine, rt.clock, env) is not None
    received: list[tuple[datetime, dict[str, str]]] = []

    async def listen(_rt: object) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(sock, 4096)
            received.append((rt.clock.now(), fields(data.decode())))

    out = run_engine(rt.profile, tmp_path, listen, runtime=rt)
    received += [(rt.clock.now(), fields(m)) for m in drain(sock)]

    assert out.summary.to_json()["sessions"] == 1
    readies = [i for i, (_, f) in enumerate(received) if "READY" in f]
    assert readies == [0], "READY=1 exactly once, before anything else"
    first_status = received[0][1]["STATUS"]
    assert first_status.startswith("hibernating"), first_status  # started 09:25, reset 09:27
    statuses = [f["STATUS"] for _, f in received if "STATUS" in f]
    assert any(s.startswith("armed") for s in statuses)
    assert any("condor(s) live" in s for s in statuses), "an opened condor shows in the status"
    # receipt times are exact once the session runs (hibernation jumps the clock at once)
    opened = next(t for t, f in received if f.get("STATUS", "").startswith("armed"))
    beats = [t for t, f in received if t >= opened]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(beats)]
    assert max(gaps) < timeout, "a healthy engine never lets the watchdog expire"
    assert beats[-1] >= at(DAY, "15:59"), "fed through the whole session"
    assert sum(1 for _, f in received if f.get("WATCHDOG") == "1") > 600  # one per cycle


def test_a_hung_main_loop_stops_feeding_the_watchdog(
    listener: tuple[socket.socket, str], tmp_path: Path, warm_calendar: None
) -> None:
    sock, path = listener
    rt = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3")
    systemd.attach(rt.engine, rt.clock, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "60000000"})
    wedged_at: list[datetime] = []

    async def hang() -> Decimal:  # a broker call that never answers
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")

    async def main() -> list[datetime]:
        engine = asyncio.ensure_future(rt.engine.run())
        await until(rt, lambda: rt.engine.state == "armed")
        await rt.clock.sleep_until(at(DAY, "11:00"))
        drain(sock)
        rt.broker.underlying_price = hang  # type: ignore[method-assign]
        wedged_at.append(rt.clock.now())
        beats = []
        for _ in range(20):  # ten minutes of the clock, looking every 30 s
            await rt.clock.sleep(30)
            beats += [rt.clock.now() for m in drain(sock) if "WATCHDOG=1" in m]
        engine.cancel()
        await asyncio.gather(engine, return_exceptions=True)
        return beats

    try:
        beats = run_virtual(main())
    finally:
        rt.journal.close()
    # at most the beat of the cycle under way when the broker stopped answering
    assert all(b - wedged_at[0] <= timedelta(seconds=31) for b in beats), beats
    assert len(beats) <= 1


def test_the_autotrade_process_notifies_ready_status_and_stopping(
    listener: tuple[socket.socket, str], condordesk_home: Path, warm_calendar: None
) -> None:
    sock, path = listener
    sock.setblocking(True)
    sock.settimeout(60)
    env = {
        **os.environ,
        "CONDORDESK_HOME": str(condordesk_home),
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "30000000",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "condordesk.app.cli",
            "--autotrade",
            "--speed",
            "600",
            "--sessions",
            "0",
            "--start-date",
            "2026-11-30",
            "--seed",
            "7",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "WATCHDOG_PID": ""},
    )
    try:
        first = fields(sock.recv(4096).decode())
        assert first.get("READY") == "1" and first["STATUS"], first
        deadline = time.monotonic() + 60
        armed = False
        while not armed and time.monotonic() < deadline:
            armed = fields(sock.recv(4096).decode()).get("STATUS", "").startswith("armed")
        assert armed, "the status turns to armed when the simulated session opens"
        proc.send_signal(signal.SIGTERM)
        seen: list[dict[str, str]] = []
        while not any("STOPPING" in f for f in seen) and time.monotonic() < deadline:
            seen.append(fields(sock.recv(4096).decode()))
        assert {"STOPPING": "1", "STATUS": "SIGTERM received: stopping"} in seen
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-2000:]
