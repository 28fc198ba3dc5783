"""The operator console: time to first frame, and how it keeps up with 400 quote updates a
second.

    .venv/bin/python benchmarks/tui_bench.py [--rate 400] [--seconds 10] [--runs 5]

* first frame: a fresh process (python start-up and imports included) runs the console
  headless until the first frame that shows the engine's data; embedded (the console starts
  a simulator engine) and attached (to a running engine serving its control socket).
* streaming, attached: the console attached to an engine (``benchmarks/control_bench.py
  --serve``: the simulator at 60x, trading, plus ``--rate`` marks a second on its bus)
  follows the stream for ``--seconds``; its event-loop lag (a 10 ms ticker), CPU, frames
  rendered, and the latency of a key (``p`` opens the pause confirmation, ``n`` closes it).
* streaming, in process: the same with a handle in this process streaming ``--rate`` marks a
  second for three open condors (the table, P&L and risk panels re-render), no socket.

Headless: Textual composes every frame but writes it nowhere. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
ATTACH_PROFILE = "bench"  # the profile control_bench.py --serve runs
SIZE = (160, 45)


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


def _row(name: str, ms: dict[str, float]) -> str:
    return (
        f"  {name:<36} p50 {ms['p50']:7.2f} ms   p99 {ms['p99']:7.2f} ms   max {ms['max']:7.2f} ms"
    )


# --------------------------------------------------------------------- first frame (child)


def _sim_profile() -> Any:
    from condordesk.config.profile import Profile

    return Profile.model_validate(
        {
            "name": "tuibench",
            "simulator": {"speed": 60, "sessions": 1, "seed": 7, "scenario": "calm",
                          "start_date": "2026-11-30", "start_time": "09:44"},
            "logging": {"file": False},
        }
    )  # fmt: skip


def child(kind: str) -> None:
    """Run the console headless until its first frame with engine data; print timings."""
    t_imports = time.perf_counter()
    from loguru import logger

    from condordesk.app.consoles import attached_opener, embedded_opener
    from tui import ConsoleApp

    logger.remove()
    t_app = time.perf_counter()
    opener = (
        embedded_opener(_sim_profile()) if kind == "embedded" else attached_opener(ATTACH_PROFILE)
    )
    out: dict[str, float] = {}

    def first_frame() -> None:
        out["frame"] = time.perf_counter()
        out["frame_monotonic"] = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        app.exit()

    class Timed(ConsoleApp):
        def on_mount(self) -> None:
            self.call_after_refresh(lambda: out.setdefault("paint", time.perf_counter()))

    app = Timed(opener, attached=kind == "attached", profile="bench", on_first_frame=first_frame)
    app.run(headless=True, size=SIZE)
    print(json.dumps({"imports_s": t_app - t_imports, "app_to_frame_s": out["frame"] - t_app,
                      "app_to_paint_s": out["paint"] - t_app,
                      "frame_monotonic": out["frame_monotonic"]}))  # fmt: skip


def first_frames(kind: str, runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    spawn, imports, app, paint = [], [], [], []
    for _ in range(runs):
        t0 = time.monotonic()
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind], env=env, capture_output=True,
            text=True, timeout=120, check=True,
        )  # fmt: skip
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        spawn.append(figures["frame_monotonic"] - t0)
        imports.append(figures["imports_s"])
        app.append(figures["app_to_frame_s"])
        paint.append(figures["app_to_paint_s"])
    return {"process": spawn, "imports": imports, "app": app, "paint": paint}


def _print_first(title: str, f: dict[str, list[float]]) -> None:
    med = {k: 1000 * statistics.median(v) for k, v in f.items()}
    worst = {k: 1000 * max(v) for k, v in f.items()}
    print(title)
    print(f"  process start -> first frame           median {med['process']:7.0f} ms   "
          f"worst {worst['process']:7.0f} ms")  # fmt: skip
    print(f"  of which imports (textual, engine)     median {med['imports']:7.0f} ms")
    print(f"  console start -> first paint           median {med['paint']:7.0f} ms   "
          f"worst {worst['paint']:7.0f} ms")  # fmt: skip
    print(f"  console start -> first frame of data   median {med['app']:7.0f} ms   "
          f"worst {worst['app']:7.0f} ms")  # fmt: skip


# ------------------------------------------------------------------------------ streaming


class _Synthetic:
    """An in-process engine handle: a snapshot with three open condors, then marks for them
    at ``rate`` a second."""

    def __init__(self, rate: int) -> None:
        from condordesk.engine import api
        from tests.tui.fakes import snapshot, view

        self.api = api
        self.rate = rate
        self.views = []
        for i in range(1, 4):
            lp, sp, sc, lc = 5940 - 10 * i, 5950 - 10 * i, 6050 + 10 * i, 6060 + 10 * i
            self.views.append(view(f"20261130-0{i}", long_put=Decimal(lp), short_put=Decimal(sp),
                                   short_call=Decimal(sc), long_call=Decimal(lc),
                                   label=f"{lp}/{sp}P {sc}/{lc}C"))  # fmt: skip
        self.snap = snapshot(*self.views)
        self.sent = 0

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Any]:
        yield self

    def snapshot(self) -> Any:
        return self.snap

    async def events(self, since: int = 0) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        period, start, seq = 4 / self.rate, loop.time(), self.snap.seq
        ts = datetime(2026, 11, 30, 15, 10, tzinfo=UTC)
        spot = Decimal("6001.50")
        k = 0
        while True:
            k += 1
            if (delay := start + k * period - loop.time()) > 0:
                await asyncio.sleep(delay)
            for j in range(4):  # a quote for each condor, and a market update
                seq += 1
                ts += timedelta(milliseconds=250)
                v = self.views[j % 3]
                mark = Decimal("0.90") + Decimal(k % 40) / 100
                yield replace(
                    self.api.CondorMarked(condor_id=v.id, spot=spot + Decimal(k % 40) / 20,
                                          mark=mark, debit=mark + Decimal("0.15"),
                                          unrealized_pnl=(Decimal("1.45") - mark) * 100),
                    seq=seq, ts=ts,
                )  # fmt: skip
            self.sent += 4

    async def submit(self, command: Any) -> Any:
        return self.api.Ack(True)


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lags.append(loop.time() - due)


async def stream(opener: Any, attached: bool, seconds: float) -> dict[str, Any]:
    from textual import events

    from tui import ConsoleApp
    from tui.screens import ConfirmScreen

    frames = 0

    class Counting(ConsoleApp):
        def _render_dirty(self) -> None:
            nonlocal frames
            frames += bool(self._dirty)
            super()._render_dirty()

    app = Counting(opener, attached=attached, profile="bench")
    lags: list[float] = []
    keys: list[float] = []
    stop = asyncio.Event()
    async with app.run_test(headless=True, size=SIZE) as pilot:
        async with asyncio.timeout(60):
            while app.model.link != "live":
                await pilot.pause(0.05)
        await pilot.pause(1.0)  # settle: the first snapshot and its burst
        ticker = asyncio.create_task(_ticker(lags, stop))
        seq0, cpu0, t0, frames = app.model.seq, time.process_time(), time.monotonic(), 0
        await asyncio.sleep(seconds)  # streaming only: loop lag, CPU, frames
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
        stop.set()
        await ticker
        events_n, rendered = app.model.seq - seq0, frames
        for _ in range(10):  # then a key, ten times, while the stream goes on
            await asyncio.sleep(0.3)
            k0 = time.monotonic()
            app.post_message(events.Key("p", "p"))  # as the terminal driver would
            while not isinstance(app.screen, ConfirmScreen):  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            keys.append(time.monotonic() - k0)
            app.post_message(events.Key("n", "n"))
            while isinstance(app.screen, ConfirmScreen):  # noqa: ASYNC110
                await asyncio.sleep(0.001)
    return {
        "loop_lag": _pcts(lags),
        "keys": _pcts(keys),
        "cpu_pct": 100 * cpu / wall,
        "frames_per_s": rendered / wall,
        "events_per_s": events_n / wall,
    }


def _print_stream(title: str, r: dict[str, Any]) -> None:
    print(title)
    print(f"  engine events applied per s            {r['events_per_s']:.0f}")
    print(f"  frames rendered per s                  {r['frames_per_s']:.1f}")
    print(_row("console loop lag (10 ms ticker)", r["loop_lag"]))
    print(_row("key -> confirmation on screen", r["keys"]))
    print(f"  CPU of the console process             {r['cpu_pct']:.1f}% of one core")


# --------------------------------------------------------------------------------- main


class _Engine:
    """control_bench.py --serve: an engine on the simulator plus marks at ``rate`` a second."""

    def __init__(self, rate: int, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "control_bench.py"), "--serve", "--rate", str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready", "the engine did not start"

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["embedded", "attached"], help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, default=400, help="quote updates per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="per streaming run")
    parser.add_argument("--runs", type=int, default=5, help="first-frame runs per mode")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    home = tempfile.mkdtemp(prefix="cd-tui-")
    os.environ["CONDORDESK_HOME"] = home
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first_frames("embedded", 1, env)  # builds the calendar cache once
    _print_first(f"first frame, embedded engine ({args.runs} runs)",
                 first_frames("embedded", args.runs, env))  # fmt: skip
    engine = _Engine(args.rate, env)
    try:
        _print_first(f"first frame, attached to a running engine ({args.runs} runs)",
                     first_frames("attached", args.runs, env))  # fmt: skip
        from condordesk.app.consoles import attached_opener

        attached = asyncio.run(stream(attached_opener(ATTACH_PROFILE), True, args.seconds))
        _print_stream(f"attached, the engine streaming {args.rate} marks/s over its socket",
                      attached)  # fmt: skip
    finally:
        engine.close()
    synthetic = _Synthetic(args.rate)
    inproc = asyncio.run(stream(synthetic.open, True, args.seconds))
    _print_stream(f"in process, {args.rate} marks/s for three open condors", inproc)


if __name__ == "__main__":
    main()
