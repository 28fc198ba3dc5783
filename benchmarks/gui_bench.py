"""The desktop console: window-to-first-data time, memory, and frame times while 400 quote
updates a second stream in. Offscreen (``QT_QPA_PLATFORM=offscreen``): Qt paints every frame
into memory as it would on a VNC desktop.

    .venv/bin/python benchmarks/gui_bench.py [--rate 400] [--seconds 10] [--runs 3]

* first data: a fresh process (python start-up and imports included) opens the window and runs
  until the first redraw that shows the engine's data; embedded (the window starts a simulator
  engine) and attached (to an engine serving its socket: ``benchmarks/control_bench.py
  --serve``, the simulator at 60x plus ``--rate`` probe marks a second). Reported: process
  start to first data, and window shown to first data.
* streaming, in process: a handle in this process streams ``--rate`` marks a second for three
  open condors (every table, chart and the risk graph move) for ``--seconds``.
* streaming, attached: the window attached over the socket to the control_bench engine.

Per streaming run: redraw time (model to widgets, at most ten a second), paint time of the
frame that follows (Qt's repaint of the window), event-loop lag (a 10 ms ticker), events
applied a second, CPU, RSS. Prints figures; asserts nothing.
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
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
ATTACH_PROFILE = "bench"  # the profile control_bench.py --serve runs


def pcts(values: list[float]) -> dict[str, float]:
    """n, p50, p99 and max of durations in seconds, as milliseconds."""
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": 1000 * ordered[len(ordered) // 2],
        "p99": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": 1000 * ordered[-1],
    }


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def sim_profile() -> Any:
    from condordesk.config.profile import Profile

    return Profile.model_validate({
        "name": "guibench",
        "simulator": {"speed": 60, "sessions": 1, "seed": 7, "scenario": "calm",
                      "start_date": "2026-11-30", "start_time": "09:44"},
        "logging": {"file": False},
    })  # fmt: skip


# ------------------------------------------------------------------------ the Qt application


def make_app() -> Any:
    """The QApplication with a hook timing each repaint of a window (the frame's paint)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from gui import theme

    class TimedApp(QApplication):
        paints: list[float]

        def notify(self, receiver: Any, event: Any) -> bool:
            if event.type() != QEvent.Type.UpdateRequest:
                return super().notify(receiver, event)
            t0 = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                self.paints.append(time.perf_counter() - t0)

    app = TimedApp([sys.argv[0]])
    app.paints = []
    app.setQuitOnLastWindowClosed(False)
    theme.apply(app)
    return app


def run_in_qt(app: Any, coro: Any) -> Any:
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


# --------------------------------------------------------------------- first data (child)


def child_first(kind: str) -> None:
    """Open the window; print timings at the first redraw that shows the engine's data."""
    t_start = time.perf_counter()
    from loguru import logger

    from condordesk.app.consoles import attached_opener, embedded_opener
    from gui.window import MainWindow

    logger.remove()
    app = make_app()
    t_app = time.perf_counter()
    opener = embedded_opener(sim_profile()) if kind == "embedded" else attached_opener(
        ATTACH_PROFILE)  # fmt: skip
    out: dict[str, float] = {}

    async def main() -> None:
        first = asyncio.Event()

        def first_data() -> None:
            out["data"] = time.perf_counter()
            first.set()

        w = MainWindow(opener, attached=kind == "attached", profile="bench",
                       on_first_data=first_data)  # fmt: skip
        w.resize(1600, 1000)
        w.show()
        out["shown"] = time.perf_counter()
        w.start()
        await asyncio.wait_for(first.wait(), 120)
        w.close_now()
        await asyncio.wait_for(w.wait_closed(), 60)

    run_in_qt(app, main())
    print(json.dumps({
        "imports_s": t_app - t_start,
        "shown_to_data_s": out["data"] - out["shown"],
        "start_to_data_s": out["data"] - t_start,
    }))  # fmt: skip


def first_data(kind: str, runs: int, env: dict[str, str]) -> None:
    rows: list[dict[str, float]] = []
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind], env=env, capture_output=True,
            text=True, timeout=300, check=True,
        )  # fmt: skip
        walls.append(time.perf_counter() - t0)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))

    def med(key: str) -> float:
        return 1000 * sorted(r[key] for r in rows)[len(rows) // 2]

    def worst(key: str) -> float:
        return 1000 * max(r[key] for r in rows)

    print(f"first data, {kind} ({runs} fresh processes)")
    print(f"  process start -> first data          median {1000 * sorted(walls)[runs // 2]:6.0f}"
          f" ms (wall, python start-up and exit included)")  # fmt: skip
    print(f"  of which imports (Qt, pyqtgraph...)  median {med('imports_s'):6.0f} ms")
    print(f"  window shown -> first data           median {med('shown_to_data_s'):6.0f} ms   "
          f"worst {worst('shown_to_data_s'):6.0f} ms")  # fmt: skip


# ------------------------------------------------------------------------------ streaming


class Synthetic:
    """An in-process engine handle: three open condors, then ``rate`` marks a second for them
    (SPX walking) and a market update a second."""

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
        api, loop = self.api, asyncio.get_running_loop()
        per_tick = 4
        period, start, seq = per_tick / self.rate, loop.time(), self.snap.seq
        ts = datetime(2026, 11, 30, 15, 10, tzinfo=UTC)  # engine time runs at 10x
        k = 0
        while True:
            k += 1
            if (delay := start + k * period - loop.time()) > 0:
                await asyncio.sleep(delay)
            spot = Decimal("6001.50") + Decimal((k * 7) % 60 - 30) / 4
            for j in range(per_tick):
                seq += 1
                ts += timedelta(milliseconds=25)
                v = self.views[j % 3]
                mark = Decimal("0.90") + Decimal(k % 40) / 100
                event = api.CondorMarked(condor_id=v.id, spot=spot, mark=mark,
                                         debit=mark + Decimal("0.15"),
                                         unrealized_pnl=(Decimal("1.45") - mark) * 100)  # fmt: skip
                if j == 3 and k % (self.rate // per_tick) == 0:
                    event = api.MarketUpdated(
                        spot=spot, expected_move=Decimal("21.85"), greeks=self.snap.greeks,
                        next_event="entries close", next_event_at=self.snap.next_event_at,
                        condors=[replace(x, mark=mark) for x in self.views],
                    )  # fmt: skip
                yield replace(event, seq=seq, ts=ts)
            self.sent += per_tick

    async def submit(self, command: Any) -> Any:
        return self.api.Ack(True)

    async def history(self, since: Any = None) -> list[Any]:
        return []


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lags.append(loop.time() - due)


async def stream(app: Any, opener: Any, attached: bool, seconds: float) -> dict[str, Any]:
    from gui.window import MainWindow

    live = asyncio.Event()
    w = MainWindow(opener, attached=attached, profile="bench", on_first_data=live.set)
    w.resize(1600, 1000)
    redraws: list[float] = []
    applied = [0]
    original_render, original_deliver = w.render_dirty, w.deliver

    def timed_render() -> None:
        t0 = time.perf_counter()
        original_render()
        redraws.append(time.perf_counter() - t0)

    def counted(event: Any) -> None:
        applied[0] += 1
        original_deliver(event)

    w.timer.timeout.disconnect()
    w.timer.timeout.connect(timed_render)
    w.link._on_event = counted
    w.show()
    w.start()
    await asyncio.wait_for(live.wait(), 60)
    await asyncio.sleep(1.0)  # settle: the first frames, the history request
    redraws.clear()
    app.paints.clear()
    applied[0] = 0
    lags: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    stop.set()
    await tick
    out = {
        "redraw": pcts(redraws),
        "paint": pcts(list(app.paints)),
        "lag": pcts(lags),
        "frames_per_s": len(redraws) / wall,
        "events_per_s": applied[0] / wall,
        "cpu_pct": 100 * cpu / wall,
        "rss_mb": rss_mb(),
    }
    w.close_now()
    await w.wait_closed()
    w.deleteLater()
    return out


def print_stream(title: str, r: dict[str, Any]) -> None:
    print(title)
    for name in ("redraw", "paint", "lag"):
        ms = r[name]
        label = {"redraw": "redraw (model -> widgets)", "paint": "paint (Qt repaints the window)",
                 "lag": "event-loop lag (10 ms ticker)"}[name]  # fmt: skip
        print(f"  {label:<32} p50 {ms['p50']:7.2f} ms   p99 {ms['p99']:7.2f} ms   "
              f"max {ms['max']:7.2f} ms   (n={ms['n']})")  # fmt: skip
    now, peak = r["rss_mb"]
    print(f"  frames {r['frames_per_s']:.1f}/s   events applied {r['events_per_s']:.0f}/s   "
          f"CPU {r['cpu_pct']:.0f}%   RSS {now:.0f} MB (peak {peak:.0f} MB)")  # fmt: skip


class Server:
    """control_bench.py --serve: an engine on the simulator serving its socket, plus marks."""

    def __init__(self, rate: int, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "control_bench.py"), "--serve", "--rate", str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the bench engine did not start")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("embedded", "attached"), help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, default=400, help="marks per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="per streaming run")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per first-data")
    args = parser.parse_args()
    if args.child:
        child_first(args.child)
        return
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CONDORDESK_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        os.environ["CONDORDESK_HOME"] = home
        first_data("embedded", args.runs, env)
        server = Server(args.rate, env)
        try:
            first_data("attached", args.runs, env)
            from loguru import logger

            from condordesk.app.consoles import attached_opener

            logger.remove()
            app = make_app()
            synthetic = Synthetic(args.rate)
            r = run_in_qt(app, stream(app, synthetic.open, False, args.seconds))
            print_stream(f"streaming in process: {args.rate} marks/s for three condors, "
                         f"{args.seconds:g} s", r)  # fmt: skip
            r = run_in_qt(app, stream(app, attached_opener(ATTACH_PROFILE), True, args.seconds))
            print_stream(f"streaming attached over the socket: the engine at 60x plus "
                         f"{args.rate} probe marks/s, {args.seconds:g} s", r)  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    main()
