"""``condordesk reconcile --profile paper`` as a user runs it: a real process with its own
client id, the IB adapter over the real ib_async client, against the loopback gateway."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import OrderAction
from condordesk.gateway import Gateway
from condordesk.market.clock import ET, SimClock

MONDAY = date(2025, 3, 3)
PAPER = Path(__file__).resolve().parents[2] / "profiles" / "paper.toml"


def sessions(day: date) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5:
        return None
    return datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16), ET)


async def reconcile_cli(port: int, home: Path) -> tuple[int, str, str]:
    env = {**os.environ, "CONDORDESK_HOME": str(home)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "condordesk.app.cli",
        "reconcile",
        "--profile",
        str(PAPER),
        "--set",
        f"broker.port={port}",
        "--set",
        "broker.account=DU1234567",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_reconcile_reports_a_position_no_condor_owns(condordesk_home: Path) -> None:
    clock = SimClock(datetime.combine(MONDAY, time(10), ET), speed=20.0)
    broker = SimBroker(clock, SimMarket(SimulatorConfig(seed=3, scenario="calm")), sessions)
    gateway = Gateway(broker, clock)
    port = await gateway.start()
    try:
        code, out, err = await reconcile_cli(port, condordesk_home)
        assert code == 0, err[-2000:]
        assert json.loads(out) == {"open_condors": [], "findings": []}

        stranger = OptionContract(MONDAY, Decimal(5800), Right.PUT)
        broker.trade_by_hand(stranger, OrderAction.BUY, 2)
        code, out, err = await reconcile_cli(port, condordesk_home)
        assert code == 0, err[-2000:]
        (finding,) = json.loads(out)["findings"]
        assert finding["code"] == "unknown_position" and finding["severity"] == "critical"
        assert "+2 SPXW 20250303 5800P" in finding["message"]
    finally:
        await gateway.stop()
