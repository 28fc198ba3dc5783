"""Whole trading days of the engine on the simulator, in virtual time."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.domain.condor import CondorState
from condordesk.engine import api
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def assert_flat(rt: Runtime) -> None:
    """Nothing left at the broker: no working order, no position."""

    async def check() -> tuple[list[object], list[object]]:
        await rt.broker.connect()
        try:
            return list(await rt.broker.open_orders()), list(await rt.broker.positions())
        finally:
            await rt.broker.disconnect()

    from condordesk.market.vtime import run_virtual

    orders, positions = run_virtual(check())
    assert orders == []
    assert positions == []


def test_a_calm_day_opens_protects_and_closes_condors_leaving_nothing_behind(
    tmp_path: Path,
) -> None:
    out = run_engine(make_profile(), tmp_path)

    opened, closed = out.of(api.CondorOpened), out.of(api.CondorClosed)
    assert opened, "a calm day with the default profile should trade"
    assert {c.condor_id for c in closed} == {o.condor_id for o in opened}
    for o in opened:
        placed = [s for s in out.of(api.StopPlaced) if s.condor_id == o.condor_id]
        assert len(placed) == 1 and len(placed[0].order_ids) == 2
        assert placed[0].trigger == (o.credit * 2).quantize(Decimal("0.05"))
        assert any(v.condor_id == o.condor_id for v in out.of(api.StopVerified))
        assert Decimal("1.00") <= o.credit <= Decimal("2.00")
    reasons = {c.reason for c in closed}
    assert reasons & {"profit_target", "first_trade_target", "expired"}
    rows = out.runtime.journal.condors(states=[CondorState.CLOSED])
    assert len(rows) == len(opened)
    assert sum(r.realized_pnl or 0 for r in rows) == out.summary.realized_pnl
    assert all(r.commissions > 0 for r in rows)
    assert_flat(out.runtime)


def test_every_order_is_journaled_as_an_intent_before_it_reaches_the_broker(tmp_path: Path) -> None:
    seen_before_send: list[bool] = []

    async def spy(rt: Runtime) -> None:
        original = rt.broker.place_order

        async def place(request):  # type: ignore[no-untyped-def]
            seen_before_send.append(rt.journal.order(request.order_ref) is not None)
            return await original(request)

        rt.broker.place_order = place  # type: ignore[method-assign]

    out = run_engine(make_profile(), tmp_path, spy)
    assert out.of(api.OrderSubmitted)
    assert seen_before_send and all(seen_before_send)
    for rec in out.runtime.journal.orders():
        assert rec.order_ref.startswith(f"cd:{rec.condor_id}:")
        assert rec.order_id is not None and rec.perm_id is not None


def _after_first_open(rt: Runtime) -> str:
    live = [lc for lc in rt.engine.desk.live.values() if lc.state is CondorState.OPEN]
    return live[0].id if live else ""


def _gap_script(points_fn):  # type: ignore[no-untyped-def]
    """Once the first condor is protected, move SPX by ``points_fn`` at once."""

    async def script(rt: Runtime) -> None:
        await until(rt, lambda: bool(_after_first_open(rt)))
        live = rt.engine.desk.live[_after_first_open(rt)]
        await until(rt, lambda: live.stop_state == "verified")
        rt.broker.gap(points_fn(rt, live))  # type: ignore[attr-defined]

    return script


async def _slide_down(rt: Runtime) -> None:
    """Once the first condor is protected, walk SPX down a point every 10 s until it closes."""
    await until(rt, lambda: bool(_after_first_open(rt)))
    live = rt.engine.desk.live[_after_first_open(rt)]
    await until(rt, lambda: live.stop_state == "verified")
    while live.state is CondorState.OPEN:
        rt.broker.gap(-1.0)  # type: ignore[attr-defined]
        await rt.clock.sleep(10)


def test_a_move_through_the_short_put_fills_the_stop_limit_and_oca_cancels_the_backup(
    tmp_path: Path,
) -> None:
    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})

    out = run_engine(profile, tmp_path, _slide_down)
    closed = out.of(api.CondorClosed)
    assert closed[0].reason == "stop_limit"
    assert out.of(api.StopTriggered)[0].role == "stop-limit"
    assert closed[0].realized_pnl < 0
    cancelled = [e.order_ref for e in out.of(api.OrderCancelled)]
    assert any(ref.endswith(":stop-market") for ref in cancelled)
    assert_flat(out.runtime)


def test_a_gap_past_the_stop_limit_is_caught_by_the_stop_market_backup(tmp_path: Path) -> None:
    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:30"})

    def points(rt: Runtime, live) -> float:  # type: ignore[no-untyped-def]
        return float(live.condor.long_put - rt.engine.spot) - 10.0  # through the whole put spread

    out = run_engine(profile, tmp_path, _gap_script(points))
    closed = out.of(api.CondorClosed)
    assert closed[0].reason == "stop_market"
    assert out.of(api.StopTriggered)[0].role == "stop-market"
    # the loss is bounded by the wing width: the backup is capped at it
    c = out.runtime.journal.condors()[0]
    assert closed[0].exit_debit <= c.condor.max_value
    assert any(
        ref.endswith(":stop-limit") for ref in (e.order_ref for e in out.of(api.OrderCancelled))
    )
    assert_flat(out.runtime)


def test_missing_greeks_mean_no_trade(tmp_path: Path) -> None:
    async def no_greeks(rt: Runtime) -> None:
        rt.broker.set_greeks_missing(1.0)  # type: ignore[attr-defined]

    out = run_engine(make_profile(), tmp_path, no_greeks)
    assert out.of(api.OrderSubmitted) == []
    assert {e.reason for e in out.of(api.EntrySkipped)} <= {"stale_greeks", "no_short_strike"}
    assert out.of(api.EntrySkipped)


def test_nan_greeks_mean_no_trade(tmp_path: Path) -> None:
    async def nan_greeks(rt: Runtime) -> None:
        rt.broker.set_nan_greeks(True)  # type: ignore[attr-defined]

    out = run_engine(make_profile(), tmp_path, nan_greeks)
    assert out.of(api.OrderSubmitted) == []
    assert out.of(api.EntrySkipped)


def test_a_killed_fok_leaves_nothing_and_a_later_entry_still_works(tmp_path: Path) -> None:
    async def kill(rt: Runtime) -> None:
        rt.broker.kill_next_fok()  # type: ignore[attr-defined]

    out = run_engine(make_profile(), tmp_path, kill)
    not_filled = out.of(api.EntryNotFilled)
    assert len(not_filled) == 1
    dead = out.runtime.journal.condor(not_filled[0].condor_id)
    assert dead is not None and dead.state is CondorState.CANCELLED
    assert out.runtime.journal.fills(dead.id) == []
    assert not any(s.condor_id == dead.id for s in out.of(api.StopPlaced))
    assert out.of(api.CondorOpened), "the next attempt trades"
    assert_flat(out.runtime)


def test_a_rejected_entry_is_reported_and_nothing_is_held(tmp_path: Path) -> None:
    async def reject(rt: Runtime) -> None:
        rt.broker.reject_next("margin", count=1)  # type: ignore[attr-defined]

    out = run_engine(make_profile(), tmp_path, reject)
    rejected = out.of(api.OrderRejected)
    assert rejected and "margin" in rejected[0].reason
    assert out.runtime.journal.order(rejected[0].order_ref).status == "rejected"  # type: ignore[union-attr]
    assert out.summary.orders_rejected == 1
    assert_flat(out.runtime)


def test_max_concurrent_condors_is_never_exceeded(tmp_path: Path) -> None:
    profile = make_profile(
        strategy={"max_concurrent": 1, "reentry_interval_min": 0},
        risk={"first_trade_profit_pct": 15, "first_trade_window_min": 120},
    )
    out = run_engine(profile, tmp_path)
    live = 0
    peak = 0
    for e in out.events:
        if isinstance(e, api.OrderSubmitted) and e.role == "entry":
            live += 1
        elif isinstance(e, api.CondorClosed | api.EntryNotFilled):
            live -= 1
        peak = max(peak, live)
    assert peak == 1
    assert len(out.of(api.CondorOpened)) >= 2, "re-entries happen once a condor is closed"


def test_the_first_trade_takes_its_profit_early(tmp_path: Path) -> None:
    profile = make_profile(
        risk={"first_trade_profit_pct": 15, "first_trade_window_min": 90},
        strategy={"max_concurrent": 1},
    )
    out = run_engine(profile, tmp_path)
    first = out.of(api.CondorOpened)[0]
    assert first.first_trade
    closed = next(c for c in out.of(api.CondorClosed) if c.condor_id == first.condor_id)
    assert closed.reason == "first_trade_target"
    assert closed.exit_debit <= first.credit * Decimal("0.85")
    later = out.of(api.CondorOpened)[1:]
    assert all(not o.first_trade for o in later)


def test_expiry_safety_closes_a_condor_near_its_short_strike_before_the_close(
    tmp_path: Path,
) -> None:
    profile = make_profile(
        risk={
            "stop_multiple": 10.0,
            "expiry_safety_time": "15:45",
            "itm_buffer_points": 5,
            "profit_close_price": 0,
            "first_trade_profit_pct": 0,
        },
        strategy={"max_concurrent": 1, "entry_end": "10:30"},
    )

    async def drift(rt: Runtime) -> None:
        day = date(2026, 11, 30)
        await rt.clock.sleep_until(at(day, "15:40"))
        live = next(iter(rt.engine.desk.live.values()))
        rt.broker.gap(float(live.condor.short_call - rt.engine.spot) - 2.0)  # type: ignore[attr-defined]

    out = run_engine(profile, tmp_path, drift)
    closed = out.of(api.CondorClosed)
    assert [c.reason for c in closed] == ["expiry_safety"]
    assert time(15, 45) <= out.et(closed[0].ts) < time(16, 0)
    assert_flat(out.runtime)


def test_daily_max_loss_pauses_entries_for_the_rest_of_the_day(tmp_path: Path) -> None:
    profile = make_profile(risk={"daily_max_loss": 50}, strategy={"max_concurrent": 1})
    out = run_engine(profile, tmp_path, _slide_down)
    paused = out.of(api.EntriesPaused)
    assert paused and paused[0].reason.startswith("daily max loss")
    after = [e for e in out.of(api.OrderSubmitted) if e.role == "entry" and e.seq > paused[0].seq]
    assert after == []
