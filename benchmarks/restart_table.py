"""Restart safety, measured: for each crash point, kill the engine there, restart a new one on
the same journal and simulated broker, and print what came back.

    .venv/bin/python benchmarks/restart_table.py

Columns: the crash point; whether every invariant held after the restart (positions match the
journal, every open condor has its verified OCA stop pair, no fill lost or counted twice, no
condor opened twice); simulated seconds from the restart to the condor's stops verified at the
broker (``-`` when nothing needed protecting); what the journal says became of the condor.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CONDORDESK_HOME", tempfile.mkdtemp(prefix="cd-restart-"))

from loguru import logger

from condordesk.domain.orders import OrderRole
from condordesk.engine import api
from tests.engine.crash import (
    Crash,
    crash_at,
    invariants,
    kill,
    make_resting,
    patch_orders,
    protected_after,
    restart,
    run_crash,
)
from tests.engine.harness import at, make_profile

DAY = date(2026, 11, 30)
PROFILE = make_profile(
    strategy={"max_concurrent": 2, "entry_end": "10:30"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


async def _restart_and_check(c: Crash, until: str = "10:45") -> bool:
    engine = await restart(c, PROFILE, until_done=False)
    task = asyncio.ensure_future(engine.run())
    await c.rt.clock.sleep_until(at(DAY, until))
    try:
        await invariants(c)
        ok = True
    except AssertionError as exc:
        print("   invariant failed:", exc)
        ok = False
    engine.request_stop()
    await task
    return ok


def _simple(step: str, **kw: object) -> Callable[[Crash], Awaitable[bool]]:
    async def scenario(c: Crash) -> bool:
        await crash_at(c, step, **kw)  # type: ignore[arg-type]
        return await _restart_and_check(c)

    return scenario


async def _resting(c: Crash, role: OrderRole, price: str, step: str) -> bool:
    patch_orders(c.rt, make_resting(role, Decimal(price)))
    if role is OrderRole.CLOSE:

        async def operator() -> None:
            await c.rt.clock.sleep_until(at(DAY, "09:50"))
            await c.rt.engine.submit(
                api.CloseCondor(origin="test", condor_id=c.rt.journal.condors()[0].id)
            )

        c.frozen.append(asyncio.ensure_future(operator()))
    await crash_at(c, step)
    return await _restart_and_check(c)


async def _stop_while_dead(c: Crash) -> bool:
    await crash_at(c, "intent:entry", skip=1)
    rec = c.rt.journal.condors()[0]
    spot = c.dead[0].spot
    assert spot is not None
    c.broker.gap(float(rec.condor.long_put - spot) - 10)
    return await _restart_and_check(c)


async def _reset_after_settlement(c: Crash) -> bool:
    await crash_at(c, "intent:entry", skip=1)
    next_day = DAY + timedelta(days=1)
    await c.rt.clock.sleep_until(at(next_day, "09:00"))
    second = await restart(c, PROFILE, until_done=False)

    async def die(name: str) -> None:
        if name == "reset":
            await asyncio.Future()

    second.desk.checkpoint = die
    task = asyncio.ensure_future(second.run())
    await c.rt.clock.sleep_until(at(next_day, "09:28"))
    kill(second)
    c.frozen.append(task)
    third = await restart(c, PROFILE, until_done=False)
    t3 = asyncio.ensure_future(third.run())
    await c.rt.clock.sleep_until(at(next_day, "10:00"))
    try:
        await invariants(c)
        ok = True
    except AssertionError as exc:
        print("   invariant failed:", exc)
        ok = False
    third.request_stop()
    await t3
    return ok


POINTS: list[tuple[str, Callable[[Crash], Awaitable[bool]]]] = [
    ("entry intent journaled, not sent", _simple("intent:entry")),
    ("entry order sent, resting", lambda c: _resting(c, OrderRole.ENTRY, "-9.00", "sent:entry")),
    ("entry filled before the journal saw it", _simple("sent:entry", deaf_from="intent:entry")),
    ("filled, stops not yet placed", _simple("opened")),
    ("one stop placed", _simple("sent:stop-limit")),
    ("closing order working", lambda c: _resting(c, OrderRole.CLOSE, "0.05", "sent:close")),
    ("stop triggered while down", _stop_while_dead),
    ("09:27 reset (condor settled overnight)", _reset_after_settlement),
]


def main() -> None:
    logger.remove()
    print(
        f"{'crash point':<42} {'recovered':<10} {'protected after':<16} outcome of the first condor"
    )
    for name, scenario in POINTS:
        result: dict[str, object] = {}

        async def run(c: Crash, scenario=scenario, result=result) -> None:
            result["ok"] = await scenario(c)

        with tempfile.TemporaryDirectory() as tmp:
            c = run_crash(PROFILE, Path(tmp), run)
            rec = c.rt.journal.condors()[0]
            seconds = protected_after(c, rec.id)
            fills = len(c.rt.journal.fills(rec.id))
            outcome = f"{rec.state.value}" + (
                f" ({rec.exit_reason.value})" if rec.exit_reason else ""
            )
            outcome += f", {fills} fills journaled once"
        if seconds is not None:
            shown = f"{seconds:.0f} s"
        else:
            shown = "stops kept" if rec.state.value == "open" else "-"
        print(f"{name:<42} {'yes' if result.get('ok') else 'NO':<10} {shown:<16} {outcome}")


if __name__ == "__main__":
    main()
