"""The engine process is killed with SIGKILL while the broker (the loopback gateway) keeps its
positions and orders; a new engine process recovers and protects everything."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import datetime, time
from pathlib import Path

import pytest

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.gateway import Gateway
from condordesk.market.clock import ET, SimClock
from tests.acceptance.test_reconcile_over_gateway import MONDAY, PAPER, reconcile_cli, sessions

pytestmark = pytest.mark.usefixtures("warm_calendar")
SPEED = 60


def engine_cmd(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "condordesk.app.cli",
        "--autotrade",
        "--profile",
        str(PAPER),
        "--set",
        "clock=broker",
        "--set",
        f"broker.clock_speed={SPEED}",
        "--set",
        f"broker.port={port}",
        "--set",
        "broker.account=DU1234567",
        "--set",
        "strategy.max_concurrent=1",
        "--set",
        "strategy.entry_end=10:00",
        "--set",
        "logging.file=false",
    ]


async def until_line(proc: asyncio.subprocess.Process, needle: str, seen: list[str]) -> str:
    assert proc.stderr is not None

    async def read() -> str:
        while True:
            raw = await proc.stderr.readline()  # type: ignore[union-attr]
            if not raw:
                raise AssertionError("engine exited early:\n" + "".join(seen[-30:]))
            line = raw.decode(errors="replace")
            seen.append(line)
            if needle in line:
                return line

    try:
        return await asyncio.wait_for(read(), 90)
    except TimeoutError:
        raise AssertionError(f"no {needle!r} from the engine:\n" + "".join(seen[-40:])) from None


async def test_sigkill_then_restart_recovers_the_condor_and_its_stops(
    condordesk_home: Path,
) -> None:
    clock = SimClock(datetime.combine(MONDAY, time(9, 40), ET), speed=SPEED)
    broker = SimBroker(clock, SimMarket(SimulatorConfig(seed=3, scenario="calm")), sessions)
    gateway = Gateway(broker, clock)
    port = await gateway.start()
    env = {**os.environ, "CONDORDESK_HOME": str(condordesk_home)}
    seen: list[str] = []
    procs: list[asyncio.subprocess.Process] = []
    try:
        first = await asyncio.create_subprocess_exec(
            *engine_cmd(port), stderr=asyncio.subprocess.PIPE, env=env
        )
        procs.append(first)
        await until_line(first, "SUCCESS  opened", seen)
        first.send_signal(signal.SIGKILL)  # no cleanup at all
        await asyncio.wait_for(first.wait(), 30)
        held = {p.contract: p.quantity for p in await broker.positions()}
        assert len(held) == 4  # the broker kept the condor

        second = await asyncio.create_subprocess_exec(
            *engine_cmd(port), stderr=asyncio.subprocess.PIPE, env=env
        )
        procs.append(second)
        line = await until_line(second, "reconcile (start)", seen)
        assert "1 open condor(s)" in line and "0 unexplained" in line

        code, out, err = await reconcile_cli(port, condordesk_home)
        assert code == 0, err[-2000:]
        doc = json.loads(out)
        assert [c["stop_ok"] for c in doc["open_condors"]] == [True]
        assert [f for f in doc["findings"] if f["severity"] != "info"] == []
        assert {p.contract: p.quantity for p in await broker.positions()} == held  # nothing doubled

        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 60) == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await gateway.stop()
