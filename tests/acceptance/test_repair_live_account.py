"""``condordesk reconcile --repair`` places orders: on a real-money account (not an IB paper
account) it needs ``--live``, whatever the profile's mode says (issue 12, invariant 13)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, time
from pathlib import Path

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.gateway import Gateway
from condordesk.market.clock import ET, SimClock
from tests.acceptance.test_reconcile_over_gateway import MONDAY, PAPER, sessions

REAL = "U1234567"


async def reconcile(port: int, home: Path, *extra: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "condordesk.app.cli", "reconcile", "--profile", str(PAPER),
        "--set", f"broker.port={port}", "--set", f"broker.account={REAL}", "--json", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CONDORDESK_HOME": str(home)},
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_repair_on_a_real_account_needs_live(condordesk_home: Path) -> None:
    clock = SimClock(datetime.combine(MONDAY, time(10), ET), speed=20.0)
    broker = SimBroker(
        clock, SimMarket(SimulatorConfig(seed=3, scenario="calm")), sessions, account=REAL
    )
    gateway = Gateway(broker, clock, account=REAL)
    port = await gateway.start()
    try:
        code, err = await reconcile(port, condordesk_home, "--repair")
        assert code == 2 and "REAL MONEY" in err and "--live" in err, err[-2000:]
        code, err = await reconcile(port, condordesk_home)  # looking needs no confirmation
        assert code == 0, err[-2000:]
        code, err = await reconcile(port, condordesk_home, "--repair", "--live")
        assert code == 0, err[-2000:]
    finally:
        await gateway.stop()
