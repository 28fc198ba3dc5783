"""What one hostile process of the engine's own user costs the engine through its control
socket: RSS and event-loop lag, and the operator's ``ctl pause`` meanwhile.

    .venv/bin/python benchmarks/hostile_client_bench.py [--spam-s 20] [--idle 1100]

A child process runs a real engine on the simulator (at 60x, trading) serving its control
socket, with a 10 ms ticker measuring how late its event loop wakes up. Its soft limit of open
files is set to 1,024 first (the usual default; the engine may raise it itself). This process
then attacks it, in phases, and prints the engine's figures after each:

1. baseline: nobody attached;
2. idle: ``--idle`` connections that never send nor read; then an attached
   ``submit(PauseEntries)`` is timed and the operator runs ``condordesk ctl pause`` (a real
   process); then the connections are closed ("idle gone");
3. spam: a client sends snapshot requests as fast as it can and never reads an answer; a
   quarter of the way through, the pause is timed again (attached and ``ctl``);
4. after the spam: the spammer is gone (or was dropped), what is left of the memory.

Run it on the old code by putting an old checkout first on the path (``PYTHONPATH=/tmp/before``).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

PROFILE = "sim"
CTL = [sys.executable, "-m", "condordesk.app.cli", "ctl"]


# ------------------------------------------------------------------------------ the engine


_STATM = os.open("/proc/self/statm", os.O_RDONLY)  # opened now: no file may be left later


def _rss_mb() -> tuple[float, float]:
    """This process's resident set now and at its peak, in MB."""
    resident = int(os.pread(_STATM, 200, 0).split()[1]) * resource.getpagesize()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return resident / (1 << 20), peak_kb / 1024


async def _ticker(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + 0.010
        await asyncio.sleep(0.010)
        lags.append(max(0.0, loop.time() - due))


async def serve() -> None:
    """The child: an engine trading the simulator at 60x, serving its socket, measured."""
    from loguru import logger

    from condordesk.app.bootstrap import build_sim
    from condordesk.config.profile import Profile
    from condordesk.engine.control import ControlServer
    from condordesk.ops.runlock import EngineLock

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
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
    lags: list[float] = []
    with EngineLock(PROFILE) as lock:
        rt = build_sim(profile)
        async with ControlServer(rt.engine, PROFILE, lock=lock) as server:
            engine = asyncio.create_task(rt.engine.run())
            ticker = asyncio.create_task(_ticker(lags))
            loop = asyncio.get_running_loop()
            stdin = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
            print("ready", flush=True)
            while (line := (await stdin.readline()).strip()) not in (b"", b"quit"):
                if line == b"report":
                    rss, peak = _rss_mb()
                    out = {
                        "rss_mb": rss,
                        "peak_rss_mb": peak,
                        "lag": _pcts(lags),
                        "clients": server.connections,
                        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                        "refused": getattr(server, "refused", "-"),
                        "dropped": getattr(server, "dropped", "-"),
                    }
                    print(json.dumps(out), flush=True)
                    lags.clear()
            ticker.cancel()
            rt.engine.request_stop()
            await engine
        rt.journal.close()


# ------------------------------------------------------------------------------ the attacker


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


def _low_nofile() -> None:  # in the child, before exec: the usual soft limit
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


class Child:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=_low_nofile,  # no threads yet in this process
        )

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def report(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("report\n")
            self.proc.stdin.flush()
            return dict(json.loads(self.line()))
        except (OSError, ValueError) as exc:
            return {"failed": f"the engine did not report ({type(exc).__name__}): it died?"}

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _socket_path() -> str:
    from condordesk.engine.control import socket_path

    return str(socket_path(PROFILE))


class Spammer(threading.Thread):
    """Asks for snapshots as fast as the socket takes them; never reads a byte."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.sent = 0
        self.dropped_after: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.path)
            s.settimeout(0.5)
            while not self.stop.is_set():
                batch = b"".join(
                    b'{"id":%d,"op":"snapshot"}\n' % (self.sent + i) for i in range(64)
                )
                try:
                    s.sendall(batch)
                    self.sent += 64
                except TimeoutError:
                    continue  # the engine stopped reading us: keep pressing
                except OSError:
                    self.dropped_after = time.monotonic() - t0
                    return


async def _attached_pause() -> float | str:
    """Seconds for an attached client to connect, submit a pause and get the ack."""
    from condordesk.engine import api
    from condordesk.engine.control import attach

    t0 = time.monotonic()
    try:
        async with asyncio.timeout(30), attach(PROFILE) as handle:
            ack = await handle.submit(api.PauseEntries(origin="cli", reason="bench"))
    except (api.EngineUnavailable, TimeoutError) as exc:
        return f"failed: {type(exc).__name__}: {exc}"[:160]
    return time.monotonic() - t0 if ack.accepted else f"rejected: {ack.reason}"


def _ctl_pause(env: dict[str, str]) -> dict[str, Any]:
    """``condordesk ctl pause`` as the operator runs it: exit code and seconds."""
    t0 = time.monotonic()
    run = subprocess.run(
        [*CTL, "--timeout", "30", "--profile", PROFILE, "pause", "--reason", "operator"],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    return {
        "rc": run.returncode,
        "s": round(time.monotonic() - t0, 3),
        "err": run.stderr.strip()[-160:],
    }


def _idle_connections(path: str, n: int) -> tuple[list[socket.socket], int]:
    """``n`` connections that never send nor read (blocking connects: a Unix socket's
    backlog refuses a non-blocking one outright). After a few connects in a row that the
    engine does not take within 10 s, the rest count as failed without trying."""
    held: list[socket.socket] = []
    failed = in_a_row = 0
    for _ in range(n):
        if in_a_row >= 3:
            failed += 1
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # blocking, with a kernel timeout: Python's own timeout makes the socket
        # non-blocking, and a full backlog then fails at once instead of waiting
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 10, 0))
        try:
            s.connect(path)
        except OSError:
            failed += 1
            in_a_row += 1
            s.close()
            continue
        in_a_row = 0
        held.append(s)
    return held, failed


def _show(phase: str, report: dict[str, Any], **extra: Any) -> None:
    if "failed" in report:
        print(f"{phase:<10} {report['failed']}")
        for key, value in extra.items():
            print(f"{'':<10} {key}: {value}")
        return
    lag = report["lag"]
    print(
        f"{phase:<10} rss {report['rss_mb']:7.1f} MB (peak {report['peak_rss_mb']:7.1f})  "
        f"loop lag p50 {lag['p50']:6.1f} p99 {lag['p99']:7.1f} max {lag['max']:7.1f} ms  "
        f"clients {report['clients']:4d}  nofile {report['nofile']}  "
        f"refused {report['refused']}  dropped {report['dropped']}"
    )
    for key, value in extra.items():
        print(f"{'':<10} {key}: {value}")


async def main(args: argparse.Namespace) -> None:
    # the attacker's own file limit: it holds the idle connections
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CONDORDESK_HOME": home}
        os.environ["CONDORDESK_HOME"] = home
        child = Child(env)
        try:
            assert child.line() == "ready"
            path = _socket_path()
            await asyncio.sleep(args.warm_s)
            child.report()
            await asyncio.sleep(3)
            _show("baseline", child.report())

            held, failed = await asyncio.to_thread(_idle_connections, path, args.idle)
            await asyncio.sleep(args.settle_s)  # the engine accepts what is in its backlog
            attached = await _attached_pause()
            ctl = await asyncio.to_thread(_ctl_pause, env)
            _show(
                "idle",
                child.report(),
                idle=f"{len(held)} connections held, {failed} refused at connect",
                attached_pause_s=attached,
                ctl_pause=ctl,
            )
            for s in held:
                s.close()
            await asyncio.sleep(5)
            _show("idle gone", child.report())

            spammer = Spammer(path)
            spammer.start()
            await asyncio.sleep(args.spam_s / 4)
            attached = await _attached_pause()
            ctl = await asyncio.to_thread(_ctl_pause, env)
            await asyncio.sleep(max(0.0, args.spam_s - args.spam_s / 4))
            report = child.report()
            spammer.stop.set()
            spammer.join(5)
            _show(
                "spam",
                report,
                spammer=f"{spammer.sent} requests sent, dropped by the engine after "
                f"{spammer.dropped_after:.2f} s"
                if spammer.dropped_after is not None
                else f"{spammer.sent} requests sent, never dropped",
                attached_pause_s=attached,
                ctl_pause=ctl,
            )
            await asyncio.sleep(3)
            _show("after", child.report())
        finally:
            child.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spam-s", type=float, default=40.0)
    parser.add_argument("--idle", type=int, default=1100)
    parser.add_argument("--warm-s", type=float, default=5.0)
    parser.add_argument("--settle-s", type=float, default=20.0)
    parsed = parser.parse_args()
    if parsed.serve:
        asyncio.run(serve())
    else:
        asyncio.run(main(parsed))
