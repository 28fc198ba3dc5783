"""Order refs are unique across restarts: the generations of a condor's stops and closes are
restored from the journal (issue 12, invariant 6)."""

from __future__ import annotations

import asyncio
import functools
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRole, parse_order_ref
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from tests.engine import harness
from tests.engine.crash import Crash, restart, run_crash
from tests.engine.harness import at, make_profile

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
PROFILE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


until = functools.partial(harness.until, step=5.0, limit_s=3600.0)


def test_a_condor_closed_once_closes_again_after_a_restart(tmp_path: Path) -> None:
    acks: list[api.Ack] = []

    async def scenario(c: Crash) -> None:
        first = c.rt.engine
        first.bus.add_listener(c.events.append)
        task = asyncio.ensure_future(first.run())
        await until(
            c.rt, lambda: any(lc.stop_state == "verified" for lc in first.desk.live.values())
        )
        cid = next(iter(first.desk.live))
        # a close that cannot fill (far under the market): sent, cancelled, the condor reopens
        acks.append(
            await first.submit(api.CloseCondor(origin="test", condor_id=cid, limit=Decimal("0.05")))
        )
        await until(
            c.rt,
            lambda: (
                first.desk.live[cid].state is CondorState.OPEN and not first.desk.live[cid].exiting
            ),
        )
        assert first.journal.order(f"cd:{cid}:close") is not None
        first.request_stop()
        await task

        engine = await restart(c, PROFILE, until_done=False)
        again = asyncio.ensure_future(engine.run())
        await until(
            c.rt, lambda: cid in engine.desk.live and engine.desk.live[cid].stop_state == "placed"
        )
        acks.append(await engine.submit(api.CloseCondor(origin="test", condor_id=cid)))
        await until(c.rt, lambda: cid not in engine.desk.live)
        engine.request_stop()
        await again

    c = run_crash(PROFILE, tmp_path, scenario)
    assert all(a.accepted for a in acks)
    rec = c.rt.journal.condors()[0]
    assert rec.state is CondorState.CLOSED
    refs = [o.order_ref for o in c.rt.journal.orders(rec.id)]
    assert len(refs) == len(set(refs))
    closes = [r for r in refs if (p := parse_order_ref(r)) and p[1] is OrderRole.CLOSE]
    assert closes[0] == f"cd:{rec.id}:close" and f"cd:{rec.id}:close.2" in closes
    assert not any(isinstance(e, api.AlertRaised) and e.level == "critical" for e in c.events)
    assert c.rt.clock.now() < at(DAY, "16:00")


def test_from_record_restores_each_roles_highest_generation(tmp_path: Path) -> None:
    from condordesk.app.bootstrap import build_sim
    from condordesk.market.vtime import run_virtual

    rt = build_sim(PROFILE, journal_path=tmp_path / "j.sqlite3")

    async def open_one() -> None:
        task = asyncio.ensure_future(rt.engine.run())
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        live = next(iter(rt.engine.desk.live.values()))
        await rt.engine.desk.move_stops(live, live.stop.trigger + Decimal("0.50"), "test")  # type: ignore[union-attr]
        rt.engine.request_stop()
        await task

    run_virtual(open_one())
    rec = rt.journal.condors()[0]
    orders = rt.journal.orders(rec.id)
    top = max(
        p[2] for o in orders if (p := parse_order_ref(o.order_ref)) and p[1] is OrderRole.STOP_LIMIT
    )
    live = LiveCondor.from_record(rec, orders)
    assert live.stop_generation == top
    assert live.close_generation == 0
