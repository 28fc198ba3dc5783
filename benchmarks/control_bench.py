"""The control channel: attach-to-live-data time, and an attached console's lag while the engine
streams quote updates (marks) at 400 a second.

    .venv/bin/python benchmarks/control_bench.py [--rate 400] [--seconds 10] [--attaches 20]

A child process runs a real engine on the simulator (at 60x, trading) serving its control
socket, and publishes ``--rate`` extra marks a second on its bus, each stamped with
``time.monotonic()`` (shared by processes on Linux) in its ``spot`` field. This process
attaches with the real client (:func:`condordesk.engine.control.attach`) and measures:

* attach: connect -> hello with snapshot, and -> the first live event;
* streaming: marks received per second, lag publish -> received (p50/p99/max), this process's
  own event-loop lag (a 10 ms ticker) and CPU; the engine's loop lateness and CPU;
* the same with a second client that never reads (the engine must not care), and with four.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from typing import Any

PROFILE = "bench"


# ------------------------------------------------------------------------------ the engine


class _Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.late: list[float] = []
        self.published = 0
        self.cpu0, self.wall0 = time.process_time(), time.monotonic()

    def report(self) -> dict[str, Any]:
        wall = time.monotonic() - self.wall0
        return {
            "late": _pcts(self.late),
            "published_per_s": self.published / wall,
            "cpu_pct": 100 * (time.process_time() - self.cpu0) / wall,
        }


async def _publish(engine: Any, rate: int, stats: _Stats) -> None:
    from condordesk.engine import api

    loop = asyncio.get_running_loop()
    per_tick = 4  # four condors, one mark each per tick
    period = per_tick / rate
    start, k = loop.time(), 0
    zero = Decimal(0)
    while True:
        k += 1
        due = start + k * period
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        stats.late.append(loop.time() - due)
        stamp = Decimal(f"{time.monotonic():.6f}")
        for i in range(per_tick):
            engine.bus.publish(
                api.CondorMarked(
                    condor_id=f"bench-{i}", spot=stamp, mark=zero, debit=zero, unrealized_pnl=zero
                )
            )
        stats.published += per_tick


async def serve(rate: int) -> None:
    """The child: an engine trading the simulator at 60x, serving its socket, plus marks."""
    from loguru import logger

    from condordesk.app.bootstrap import build_sim
    from condordesk.config.profile import Profile
    from condordesk.engine.control import ControlServer
    from condordesk.ops.runlock import EngineLock

    logger.remove()
    profile = Profile.model_validate(
        {
            "name": PROFILE,
            "simulator": {
                "speed": 60,
                "sessions": 0,
                "seed": 7,
                "scenario": "calm",
                "start_date": "2026-11-30",
                "start_time": "09:44",
            },
            "strategy": {"max_concurrent": 3, "reentry_interval_min": 1},
            "logging": {"file": False},
        }
    )
    with EngineLock(PROFILE) as lock:
        rt = build_sim(profile)
        async with ControlServer(rt.engine, PROFILE, lock=lock) as server:
            engine = asyncio.create_task(rt.engine.run())
            stats = _Stats()
            publisher = asyncio.create_task(_publish(rt.engine, rate, stats))
            loop = asyncio.get_running_loop()
            stdin = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
            print("ready", flush=True)
            while (line := (await stdin.readline()).strip()) not in (b"", b"quit"):
                if line == b"report":
                    out = stats.report() | {"resyncs": server.resyncs}
                    print(json.dumps(out), flush=True)
                    stats.reset()
                elif line == b"reset":
                    stats.reset()
            publisher.cancel()
            rt.engine.request_stop()
            await engine
        rt.journal.close()


# ------------------------------------------------------------------------------ the console


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": 1000 * ordered[len(ordered) // 2],
        "p99": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": 1000 * ordered[-1],
    }


class Child:
    def __init__(self, rate: int, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--rate", str(rate)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def ask(self, what: str) -> dict[str, Any] | None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return json.loads(self.line()) if what == "report" else None

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.ask("quit")
        self.proc.wait(timeout=60)


async def first_condor() -> None:
    from condordesk.engine import api
    from condordesk.engine.control import attach

    async with asyncio.timeout(120), attach(PROFILE) as handle:
        if not handle.snapshot().condors:
            async for event in handle.events(since=handle.snapshot().seq):
                if isinstance(event, api.CondorOpened):
                    return


async def attach_times(n: int) -> dict[str, Any]:
    from condordesk.engine import api
    from condordesk.engine.control import attach

    hello, live, sizes = [], [], []
    for _ in range(n):
        t0 = time.monotonic()
        async with attach(PROFILE) as handle:
            t1 = time.monotonic()
            snap = handle.snapshot()
            await anext(handle.events(since=snap.seq))
            t2 = time.monotonic()
            sizes.append(len(json.dumps(api.to_wire(snap))))
            condors = len(snap.condors)
        hello.append(t1 - t0)
        live.append(t2 - t0)
    return {
        "hello": _pcts(hello),
        "live": _pcts(live),
        "snapshot_bytes": max(sizes),
        "condors": condors,
    }


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lags.append(loop.time() - due)


async def _stuck_client() -> Any:
    from condordesk.engine.control import socket_path

    reader, writer = await asyncio.open_unix_connection(str(socket_path(PROFILE)), limit=1 << 16)
    await reader.readline()
    writer.write(b'{"id": 1, "op": "events", "since": 0}\n')
    await writer.drain()
    return writer  # never read again


async def stream(seconds: float, clients: int, stuck: bool) -> dict[str, Any]:
    from condordesk.engine import api
    from condordesk.engine.control import attach

    lags: list[float] = []
    got = [0] * clients
    loop_lags: list[float] = []
    stop = asyncio.Event()
    blocker = await _stuck_client() if stuck else None

    async def follow(i: int) -> None:
        async with attach(PROFILE) as handle:
            async for event in handle.events(since=handle.snapshot().seq):
                if isinstance(event, api.CondorMarked) and event.condor_id.startswith("bench"):
                    got[i] += 1
                    if i == 0:
                        lags.append(time.monotonic() - float(event.spot))
                if stop.is_set():
                    return

    ticker = asyncio.create_task(_ticker(loop_lags, stop))
    followers = [asyncio.create_task(follow(i)) for i in range(clients)]
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    stop.set()
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    await asyncio.gather(ticker, *followers)
    if blocker is not None:
        blocker.close()
    return {
        "received_per_s": [g / wall for g in got],
        "lag": _pcts(lags),
        "loop_lag": _pcts(loop_lags),
        "cpu_pct": 100 * cpu / wall,
    }


def _row(name: str, ms: dict[str, float]) -> str:
    return (
        f"  {name:<34} p50 {ms['p50']:7.2f} ms   p99 {ms['p99']:7.2f} ms   max {ms['max']:7.2f} ms"
    )


def _print_stream(title: str, mine: dict[str, Any], engine: dict[str, Any]) -> None:
    print(title)
    rates = ", ".join(f"{r:.0f}" for r in mine["received_per_s"]) or "-"
    print(f"  marks published / received per s   {engine['published_per_s']:.0f} / {rates}")
    if mine["lag"]["n"]:
        print(_row("lag publish -> received", mine["lag"]))
    print(_row("console loop lag (10 ms ticker)", mine["loop_lag"]))
    print(_row("engine loop lateness", engine["late"]))
    print(f"  CPU console {mine['cpu_pct']:.1f}%   engine {engine['cpu_pct']:.1f}%", end="")
    print(f"   resyncs {engine['resyncs']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, default=400, help="marks per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="per streaming run")
    parser.add_argument("--attaches", type=int, default=20)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.rate))
        return
    home = tempfile.mkdtemp(prefix="cd-ctl-")
    os.environ["CONDORDESK_HOME"] = home
    child = Child(args.rate, {**os.environ, "CONDORDESK_HOME": home})
    try:
        assert child.line() == "ready", "the engine did not start"
        asyncio.run(first_condor())  # a snapshot worth sending: the engine has a condor on

        a = asyncio.run(attach_times(args.attaches))
        print(
            f"attach ({args.attaches} times, snapshot {a['snapshot_bytes']} bytes, "
            f"{a['condors']} condor(s))"
        )
        print(_row("connect -> snapshot", a["hello"]))
        print(_row("connect -> first live event", a["live"]))

        for title, clients, stuck in (
            (f"publishing {args.rate} marks/s, no console attached (baseline)", 0, False),
            (f"streaming {args.rate} marks/s to one attached console", 1, False),
            ("... with a second client that never reads", 1, True),
            ("... to four attached consoles", 4, False),
        ):
            child.ask("reset")
            mine = asyncio.run(stream(args.seconds, clients, stuck))
            engine = child.ask("report")
            assert engine is not None
            _print_stream(title, mine, engine)
    finally:
        child.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
