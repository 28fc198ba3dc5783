"""Restart safety: the engine dies at each step of a condor's life; a new engine on the same
journal and broker recovers every condor, protects it, and loses or doubles nothing."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import OrderRole
from condordesk.engine import api
from tests.engine.crash import (
    Crash,
    crash_at,
    invariants,
    make_resting,
    patch_orders,
    protected_after,
    restart,
    run_crash,
)
from tests.engine.harness import at, make_profile

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
# one condor at 09:45, nothing after 10:00; no profit rule so it stays open until we look
PROFILE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


def first_condor(c: Crash) -> str:
    return c.rt.journal.condors()[0].id


async def restart_and_check(c: Crash, until: str = "10:30") -> dict[str, object]:
    engine = await restart(c, PROFILE, until_done=False)
    task = asyncio.ensure_future(engine.run())
    await c.rt.clock.sleep_until(at(DAY, until))
    result = await invariants(c)
    engine.request_stop()
    await task
    return result


def test_crash_after_the_entry_intent_is_journaled(tmp_path: Path) -> None:
    async def scenario(c: Crash) -> None:
        await crash_at(c, "intent:entry")
        await restart_and_check(c)

    c = run_crash(PROFILE, tmp_path, scenario)
    first = c.rt.journal.condors()[0]
    assert first.state is CondorState.CANCELLED
    assert c.rt.journal.order(f"cd:{first.id}:entry").status == "cancelled"  # type: ignore[union-attr]
    assert "never reached the broker" in c.rt.journal.order(f"cd:{first.id}:entry").reason  # type: ignore[union-attr]


def test_crash_with_the_entry_working_at_the_broker(tmp_path: Path) -> None:
    async def scenario(c: Crash) -> None:
        patch_orders(c.rt, make_resting(OrderRole.ENTRY, Decimal("-9.00")))
        await crash_at(c, "sent:entry")
        await restart_and_check(c)

    c = run_crash(PROFILE, tmp_path, scenario)
    first = c.rt.journal.condors()[0]
    assert first.state is CondorState.CANCELLED
    entry = c.rt.journal.order(f"cd:{first.id}:entry")
    assert entry is not None and entry.status == "cancelled"
    assert any(isinstance(e, api.AlertRaised) and e.code == "entry_still_working" for e in c.events)


def test_crash_after_the_entry_filled_before_the_journal_saw_it(tmp_path: Path) -> None:
    async def scenario(c: Crash) -> None:
        await crash_at(c, "sent:entry", deaf_from="intent:entry")
        assert c.rt.journal.fills() == []  # the fills happened at the broker only
        out = await restart_and_check(c)
        assert len(out["live"]) == 1  # type: ignore[arg-type]

    c = run_crash(PROFILE, tmp_path, scenario)
    cid = first_condor(c)
    rec = c.rt.journal.condor(cid)
    assert rec is not None and rec.state is CondorState.OPEN and rec.credit is not None
    assert len(c.rt.journal.fills(cid)) == 4
    assert protected_after(c, cid) is not None


def test_crash_before_the_stops_are_placed(tmp_path: Path) -> None:
    async def scenario(c: Crash) -> None:
        await crash_at(c, "opened")
        assert not c.rt.journal.stops(first_condor(c))
        await restart_and_check(c)

    c = run_crash(PROFILE, tmp_path, scenario)
    cid = first_condor(c)
    assert len(c.rt.journal.stops(cid)) == 1
    assert protected_after(c, cid) == 0.0


def test_crash_with_one_stop_placed(tmp_path: Path) -> None:
    async def scenario(c: Crash) -> None:
        await crash_at(c, "sent:stop-limit")
        await restart_and_check(c)

    c = run_crash(PROFILE, tmp_path, scenario)
    cid = first_condor(c)
    stops = c.rt.journal.stops(cid)
    assert len(stops) == 2  # the half pair was replaced by a whole one
    first = c.rt.journal.order(stops[0].limit_ref)
    assert first is not None and first.status == "cancelled"
    assert protected_after(c, cid) == 0.0


def test_crash_with_a_closing_order_working(tmp_path: Path) -> None:
    profile = make_profile(
        strategy={"max_concurrent": 1, "entry_end": "10:00"},
        risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
    )

    async def scenario(c: Crash) -> None:
        patch_orders(c.rt, make_resting(OrderRole.CLOSE, Decimal("0.05")))
        engine = c.rt.engine

        async def operator() -> None:
            await c.rt.clock.sleep_until(at(DAY, "09:50"))
            cid = first_condor(c)
            await engine.submit(api.CloseCondor(origin="test", condor_id=cid))

        pending = asyncio.ensure_future(operator())
        await crash_at(c, "sent:close")
        c.frozen.append(pending)
        await restart_and_check(c)

    c = run_crash(profile, tmp_path, scenario)
    cid = first_condor(c)
    rec = c.rt.journal.condor(cid)
    assert rec is not None and rec.state is CondorState.OPEN and rec.exit_reason is None
    closes = [o for o in c.rt.journal.orders(cid) if o.role is OrderRole.CLOSE]
    assert closes and all(o.status == "cancelled" for o in closes)


def test_a_stop_that_fills_while_the_engine_is_dead(tmp_path: Path) -> None:
    async def scenario(c: Crash) -> None:
        await crash_at(c, "intent:entry", skip=1)  # dies when it tries a second entry (10:15)
        cid = first_condor(c)
        rec = c.rt.journal.condor(cid)
        assert rec is not None and rec.state is CondorState.OPEN
        spot = c.dead[0].spot
        assert spot is not None
        c.broker.gap(float(rec.condor.long_put - spot) - 10)  # through the put wing
        await restart_and_check(c)

    profile = make_profile(
        strategy={"max_concurrent": 2, "entry_end": "10:30"},
        risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
    )
    c = run_crash(profile, tmp_path, scenario)
    cid = first_condor(c)
    rec = c.rt.journal.condor(cid)
    assert rec is not None and rec.state is CondorState.CLOSED
    assert rec.exit_reason is not None and rec.exit_reason.value.startswith("stop")
    assert rec.realized_pnl is not None and rec.realized_pnl < 0
    assert any(isinstance(e, api.AlertRaised) and e.code == "closed_while_away" for e in c.events)


def test_a_crash_during_the_morning_reset_after_a_condor_settled_overnight(tmp_path: Path) -> None:
    profile = make_profile(
        simulator={"sessions": 2},
        strategy={"max_concurrent": 1, "entry_end": "10:00"},
        risk={
            "first_trade_profit_pct": 0,
            "profit_close_price": 0,
            "stop_multiple": 10.0,
            "itm_buffer_points": 0,
        },
    )

    async def scenario(c: Crash) -> None:
        # the first engine dies on day 1 with its condor open; the broker settles it at 16:00
        await crash_at(c, "intent:entry", skip=1)
        cid = first_condor(c)
        await c.rt.clock.sleep_until(at(DAY + timedelta(days=1), "09:00"))
        # a second engine starts before the reset and dies during it
        second = await restart(c, profile, until_done=False)
        second.desk.checkpoint = _die_at("reset")
        task = asyncio.ensure_future(second.run())
        await c.rt.clock.sleep_until(at(DAY + timedelta(days=1), "09:28"))
        from tests.engine.crash import kill

        kill(second)
        assert not task.done()
        c.frozen.append(task)
        # the third engine finds the condor settled and the books straight
        third = await restart(c, profile, until_done=False)
        t3 = asyncio.ensure_future(third.run())
        await c.rt.clock.sleep_until(at(DAY + timedelta(days=1), "10:30"))
        await invariants(c)
        third.request_stop()
        await t3
        rec = third.journal.condor(cid)
        assert rec is not None and rec.state is CondorState.CLOSED
        assert rec.exit_reason is not None and rec.exit_reason.value == "expired"
        assert rec.realized_pnl is not None

    run_crash(profile, tmp_path, scenario)


def _die_at(step: str):  # type: ignore[no-untyped-def]
    async def hook(name: str) -> None:
        if name == step:
            await asyncio.Future()

    return hook
