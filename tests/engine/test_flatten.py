"""Flatten means flat: every condor that is working, open or closing is driven to closed,
re-checked until the broker shows nothing, with one final report (issue 12, invariant 7)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.domain.orders import (
    OrderReport,
    OrderRequest,
    OrderRole,
    TimeInForce,
    parse_order_ref,
)
from condordesk.engine import api
from condordesk.errors import NotConnected
from tests.engine import harness
from tests.engine.harness import make_profile, run_engine
from tests.unit.test_journal_durable import disk_full

pytestmark = pytest.mark.usefixtures("warm_calendar")

ONE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


until = functools.partial(harness.until, step=1.0, limit_s=3600.0)


def _one_condor_flattened(out: harness.Outcome, report: list[api.AlertRaised]) -> None:
    """The run's one condor was closed by the flatten, which reported flat once."""
    assert [(r.code, r.message) for r in report] == [
        ("flatten_done", "flat: 1 condor(s) closed (test)")
    ]
    assert [c.reason for c in out.of(api.CondorClosed)] == ["flatten"]


async def _protected_and_heard(rt: Runtime, report: list[api.AlertRaised]) -> None:
    """Collect the flatten's final reports into ``report``; wait for a protected condor."""
    rt.engine.bus.add_listener(
        lambda e: (
            report.append(e)
            if isinstance(e, api.AlertRaised) and e.code.startswith("flatten")
            else None
        )
    )
    await until(rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values()))


def test_an_entry_that_fills_during_the_flatten_and_a_close_that_fails_once_end_flat(
    tmp_path: Path,
) -> None:
    marks: dict[str, datetime] = {}
    acks: list[api.Ack] = []
    report: list[api.AlertRaised] = []

    async def script(rt: Runtime) -> None:
        place = rt.broker.place_order
        entry_waiting = asyncio.Event()
        failed: list[str] = []

        async def placing(request: OrderRequest) -> OrderReport:
            parsed = parse_order_ref(request.order_ref)
            if parsed and parsed[1] is OrderRole.ENTRY and not entry_waiting.is_set():
                entry_waiting.set()
                await rt.clock.sleep(8.0)  # the flatten starts while the entry is on its way
            if parsed and parsed[1] is OrderRole.CLOSE and not failed:
                failed.append(request.order_ref)
                raise NotConnected("the link dropped under the close")
            return await place(request)

        rt.broker.place_order = placing  # type: ignore[method-assign]
        rt.engine.bus.add_listener(
            lambda e: (
                report.append(e)
                if isinstance(e, api.AlertRaised) and e.code.startswith("flatten")
                else None
            )
        )
        await entry_waiting.wait()
        marks["flatten"] = rt.clock.now()
        acks.append(await rt.engine.submit(api.FlattenAll(origin="test")))
        marks["ack"] = rt.clock.now()
        await until(rt, lambda: bool(report))
        marks["report"] = rt.clock.now()
        positions = await rt.broker.positions()
        assert [p for p in positions if p.quantity] == []
        working = await rt.broker.open_orders()
        assert [o.order_ref for o in working if not o.status.is_done] == []
        assert failed, "the first close failed"
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, script)
    assert acks and acks[0].accepted
    assert marks["ack"] == marks["flatten"]  # the ack does not wait for the flatten
    (opened,) = out.of(api.CondorOpened)  # the entry filled during the flatten
    (closed,) = out.of(api.CondorClosed)
    assert closed.condor_id == opened.condor_id and closed.reason == "flatten"
    assert [(r.level, r.code) for r in report] == [("info", "flatten_done")]
    assert report[0].message.startswith("flat: 1 condor(s) closed")
    assert out.runtime.engine.desk.live == {}
    assert "flatten" in out.runtime.engine.pauses  # entries stay paused until a resume
    assert (marks["report"] - marks["flatten"]).total_seconds() < 600


def test_a_flatten_with_nothing_live_reports_flat_at_once(tmp_path: Path) -> None:
    report: list[api.AlertRaised] = []

    async def script(rt: Runtime) -> None:
        rt.engine.bus.add_listener(
            lambda e: report.append(e) if isinstance(e, api.AlertRaised) else None
        )
        await until(rt, lambda: rt.engine.state == "armed")
        await rt.engine.submit(api.FlattenAll(origin="test"))
        await until(rt, lambda: bool(report), limit_s=60)
        rt.engine.request_stop()

    run_engine(ONE, tmp_path, script)
    assert next((r.code, r.message) for r in report) == (
        "flatten_done",
        "flat: 0 condor(s) closed (test)",
    )


def test_a_working_entry_is_cancelled_by_the_flatten(tmp_path: Path) -> None:
    report: list[api.AlertRaised] = []
    marks: dict[str, datetime] = {}

    async def script(rt: Runtime) -> None:
        place = rt.broker.place_order

        async def resting(request: OrderRequest) -> OrderReport:
            parsed = parse_order_ref(request.order_ref)
            if parsed and parsed[1] is OrderRole.ENTRY:  # rests far from the market
                request = dataclasses.replace(
                    request, tif=TimeInForce.DAY, limit_price=Decimal("-9.00")
                )
            return await place(request)

        rt.broker.place_order = resting  # type: ignore[method-assign]
        rt.engine.bus.add_listener(
            lambda e: (
                report.append(e)
                if isinstance(e, api.AlertRaised) and e.code.startswith("flatten")
                else None
            )
        )
        await until(rt, lambda: any(o.status == "working" for o in rt.journal.orders()))
        marks["flatten"] = rt.clock.now()
        await rt.engine.submit(api.FlattenAll(origin="test"))
        await until(rt, lambda: bool(report))
        assert [o for o in await rt.broker.open_orders() if not o.status.is_done] == []
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, script)
    (entry,) = [o for o in out.runtime.journal.orders() if o.role is OrderRole.ENTRY]
    assert entry.status == "cancelled" and entry.updated_ts is not None
    assert (entry.updated_ts - marks["flatten"]).total_seconds() < ONE.risk.fill_timeout_s
    assert [r.message for r in report] == [
        "flat: 0 condor(s) closed, 1 working entr(ies) cancelled (test)"
    ]


def test_a_flatten_takes_over_a_close_that_cannot_fill(tmp_path: Path) -> None:
    report: list[api.AlertRaised] = []

    async def script(rt: Runtime) -> None:
        await _protected_and_heard(rt, report)
        cid = next(iter(rt.engine.desk.live))
        far = api.CloseCondor(origin="test", condor_id=cid, limit=Decimal("0.05"))
        closing = asyncio.ensure_future(rt.engine.submit(far))  # rests: it cannot fill
        await until(rt, lambda: rt.engine.desk.live[cid].exiting)
        await rt.engine.submit(api.FlattenAll(origin="test"))
        await until(rt, lambda: bool(report))
        await closing
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, script)
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason == "flatten"
    assert [(r.code, r.message) for r in report] == [
        ("flatten_done", "flat: 1 condor(s) closed (test)")
    ]


def test_a_flatten_during_a_dropped_link_waits_for_it_and_ends_flat(tmp_path: Path) -> None:
    report: list[api.AlertRaised] = []

    async def script(rt: Runtime) -> None:
        await _protected_and_heard(rt, report)
        rt.broker.drop_connection()  # type: ignore[attr-defined]
        await until(rt, lambda: not rt.engine.desk.connected)
        await rt.engine.submit(api.FlattenAll(origin="test"))
        await rt.clock.sleep(300.0)  # longer than all the rounds together
        assert report == []  # no round counted while the broker was away
        rt.broker.restore_connection()  # type: ignore[attr-defined]
        await until(rt, lambda: bool(report))
        rt.engine.request_stop()

    _one_condor_flattened(run_engine(ONE, tmp_path, script), report)


def test_a_flatten_the_disk_interrupts_waits_for_the_journal_and_ends_flat(
    tmp_path: Path,
) -> None:
    """Found by the stateful test's full-disk rule: a flatten accepted just before the journal's
    disk filled spent its rounds on closes the outage refused, reported flatten_incomplete and
    left the condor held once the disk was back. Rounds now wait, uncounted, while the journal
    cannot be written (as while the broker is away), and the flatten ends flat after it."""
    report: list[api.AlertRaised] = []

    async def script(rt: Runtime) -> None:
        await _protected_and_heard(rt, report)
        disk = disk_full(rt.journal)
        place = rt.broker.place_order

        async def filling_the_disk(request: OrderRequest) -> OrderReport:
            disk.full = True  # the flatten's first close is the last write that lands
            return await place(request)

        rt.broker.place_order = filling_the_disk  # type: ignore[method-assign]
        assert (await rt.engine.submit(api.FlattenAll(origin="test"))).accepted
        await rt.clock.sleep(300.0)  # longer than all the rounds together
        assert rt.journal.failing
        assert report == []  # no round counted while the journal refused writes
        rt.broker.place_order = place  # type: ignore[method-assign]
        disk.full = False
        await until(rt, lambda: bool(report))
        rt.engine.request_stop()

    _one_condor_flattened(run_engine(ONE, tmp_path, script), report)
