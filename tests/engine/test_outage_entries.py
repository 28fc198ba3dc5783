"""Entries working when the journal fails: an entry order working at the broker when the
journal starts refusing writes is cancelled at once (a cancel adds no risk and needs no
intent); one that fills before its cancel lands is protected anyway, its fills, state and
stop pair queued in the journal in that order; and a restart that lost those queued writes
adopts the pair at the broker as the condor's protection instead of cancelling it."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.broker.base import BrokerMessage
from condordesk.broker.sim.broker import SimBroker
from condordesk.domain.condor import CondorState
from condordesk.domain.orders import (
    OrderReport,
    OrderRequest,
    OrderRole,
    OrderStatus,
    TimeInForce,
    parse_order_ref,
)
from condordesk.engine import api
from condordesk.engine.book import realized
from condordesk.errors import JournalError
from condordesk.store.journal import Journal
from condordesk.store.writes import protecting
from tests.engine.crash import Crash, crash_at, invariants, restart, run_crash
from tests.engine.harness import at, make_profile, run_engine, until
from tests.engine.test_trading_day import assert_flat
from tests.unit.test_journal import T0, execution, record, request, stop
from tests.unit.test_journal_durable import DiskFull, disk_full

pytestmark = pytest.mark.usefixtures("warm_calendar")

PROFILE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


class SlowEntry:
    """The first FOK entry stays working at the (simulated) broker, as at a slow exchange,
    and the journal's disk fills the moment it is sent. Its cancel either lands (``race``
    False) or arrives after the entry filled (``race`` True: the exchange filled it on the
    way, the broker answers that it cannot cancel a filled order)."""

    def __init__(self, rt: Runtime, *, race: bool, seen_in_flight: bool = False) -> None:
        self.broker: SimBroker = rt.broker  # type: ignore[assignment]
        self.journal = rt.journal
        self.race = race
        self.seen_in_flight = seen_in_flight  # the outage is seen before the send returns
        self.disk: DiskFull | None = None
        self.full_at: datetime | None = None
        self.cancelled_at: datetime | None = None
        self.entry: OrderReport | None = None
        self.held: dict[int, Any] = {}
        self._place, self._cancel = self.broker.place_order, self.broker.cancel_order
        self.broker.place_order = self.place_order  # type: ignore[method-assign]
        self.broker.cancel_order = self.cancel_order  # type: ignore[method-assign]

    async def place_order(self, request: OrderRequest) -> OrderReport:
        if self.entry is not None or request.tif is not TimeInForce.FOK:
            return await self._place(request)
        b = self.broker
        now = b._clock.now()
        b._sync(now)
        order = b._new_order(request, now)
        path = b._today(now)
        assert path is not None
        order.combo = b._combo_for(order.legs, path)
        self.held[order.order_id] = order
        b._set_status(order, OrderStatus.WORKING, "", now)
        self.entry = order.report()
        self.disk = disk_full(self.journal)  # the disk fills while the entry works
        self.disk.full, self.full_at = True, now
        if self.seen_in_flight:  # another write fails first, while the entry's send flies
            self.journal.set_state("note", "the disk is full")
            assert self.journal.failing
        return self.entry

    async def cancel_order(self, order_id: int) -> None:
        order = self.held.pop(order_id, None)
        if order is None:
            await self._cancel(order_id)
            return
        b = self.broker
        now = self.cancelled_at = b._clock.now()
        if not self.race:
            b._set_status(order, OrderStatus.CANCELLED, "cancelled", now)
            return
        path = b._today(now)
        assert path is not None
        b._execute_now(order, path, now)  # filled on the way: the cancel comes too late
        assert order.status is OrderStatus.FILLED
        b._emit(BrokerMessage(161, f"order {order_id} is filled: cannot cancel", order_id))


@pytest.mark.parametrize("in_flight", [False, True], ids=["working", "send-in-flight"])
def test_an_entry_working_when_the_journal_fails_is_cancelled_at_once(
    tmp_path: Path, in_flight: bool
) -> None:
    """Layer one: the first failed write of the outage cancels the working entry (it never
    fills), or, when the outage is seen while the entry's send still awaits the broker's
    answer, the answer's arrival does; the entry never fills; once the disk is back the
    condor is journaled as not filled and nothing is left at the broker."""
    state: dict[str, Any] = {}

    async def script(rt: Runtime) -> None:
        slow = state["slow"] = SlowEntry(rt, race=False, seen_in_flight=in_flight)
        await until(rt, lambda: slow.full_at is not None, step=1.0)
        await rt.clock.sleep(30)
        assert slow.disk is not None
        state["back_at"] = rt.clock.now()
        slow.disk.full = False

    out = run_engine(PROFILE, tmp_path, script)
    slow: SlowEntry = state["slow"]
    assert slow.entry is not None and slow.full_at is not None
    ref = slow.entry.order_ref
    cid = parse_order_ref(ref)[0]  # type: ignore[index]
    assert slow.cancelled_at == slow.full_at  # at once, not after the entry's fill timeout
    down = next(a for a in out.of(api.AlertRaised) if a.code == "journal")
    assert (f"working entries cancelled ({ref})" in down.message) is not in_flight
    journal = out.runtime.journal
    assert [f for f in journal.fills(cid) if f.order_ref == ref] == []  # it never filled
    rec = journal.condor(cid)
    assert rec is not None and rec.state is CondorState.CANCELLED
    assert journal.order(ref).status == "cancelled"  # type: ignore[union-attr]
    assert not [e for e in out.of(api.CondorOpened) if e.condor_id == cid]
    assert journal.pending == 0 and out.runtime.engine.desk.unjournaled == 0
    assert_flat(out.runtime)


def test_an_entry_that_fills_before_its_cancel_lands_is_protected_during_the_outage(
    tmp_path: Path,
) -> None:
    """Layer two: the entry fills before the cancel lands, while nothing can be journaled.
    The condor is opened and its stop pair placed and verified at the broker during the
    outage (an unprotected condor is worse than an intent journaled late); the operator is
    told; once the disk is back the fills, the condor and the pair (intents included) are in
    the journal, and the day ends flat."""
    state: dict[str, Any] = {}

    async def script(rt: Runtime) -> None:
        slow = state["slow"] = SlowEntry(rt, race=True)
        await until(rt, lambda: slow.full_at is not None, step=1.0)
        await rt.clock.sleep(30)
        assert slow.disk is not None and slow.disk.full and rt.journal.failing
        working = [
            o
            for o in await rt.broker.open_orders()
            if (p := parse_order_ref(o.order_ref)) and p[1].value.startswith("stop")
        ]
        state["working"] = {o.order_ref: o.order_id for o in working}
        state["journaled_then"] = rt.journal.fills()
        state["back_at"] = rt.clock.now()
        slow.disk.full = False

    out = run_engine(PROFILE, tmp_path, script)
    slow: SlowEntry = state["slow"]
    assert slow.entry is not None and slow.full_at is not None
    cid = parse_order_ref(slow.entry.order_ref)[0]  # type: ignore[index]
    back = state["back_at"]
    assert len(state["working"]) == 2  # the pair worked at the broker while the disk was full
    assert state["journaled_then"] == []  # nothing of it could be journaled then
    opened = [o for o in out.of(api.CondorOpened) if o.condor_id == cid]
    verified = [v for v in out.of(api.StopVerified) if v.condor_id == cid]
    assert opened and opened[0].ts < back
    assert verified and verified[0].ts < back
    assert (verified[0].ts - slow.full_at).total_seconds() < 30
    told = [a for a in out.of(api.AlertRaised) if a.code == "outage_protection"]
    assert told and told[0].level == "critical" and told[0].ts < back
    assert "placed anyway (verified" in told[0].message

    journal = out.runtime.journal
    entry = [f for f in journal.fills(cid) if f.order_ref == slow.entry.order_ref]
    assert len(entry) == 4  # one unit, four legs, each once
    pairs = journal.stops(cid)
    assert [p.limit_ref for p in pairs][:1] == [ref for ref in state["working"] if "limit" in ref]
    for ref in state["working"]:
        assert journal.order(ref) is not None  # the intents, journaled late
    rec = journal.condor(cid)
    assert rec is not None and rec.credit is not None and rec.opened_ts is not None
    assert journal.pending == 0 and out.runtime.engine.desk.unjournaled == 0
    assert_flat(out.runtime)


def test_a_stop_that_fires_in_the_same_outage_books_the_condor_from_all_its_fills(
    tmp_path: Path,
) -> None:
    """The condor protected during the outage is stopped out while the disk is still full.
    Its exit is not booked on the journal's fills of that moment (none: its entry fills are
    queued), which would close it with no loss; once the disk is back the condor is closed
    by its stop with the P&L of all its fills, and the day ends flat."""
    state: dict[str, Any] = {}

    async def script(rt: Runtime) -> None:
        slow = state["slow"] = SlowEntry(rt, race=True)
        await until(rt, lambda: slow.entry is not None, step=1.0)
        assert slow.entry is not None
        cid = state["cid"] = parse_order_ref(slow.entry.order_ref)[0]  # type: ignore[index]
        live = rt.engine.desk.live[cid]
        await until(rt, lambda: live.stop_state == "verified", step=1.0, limit_s=60)
        spot = rt.engine.spot
        assert spot is not None
        rt.broker.gap(float(live.condor.long_put - spot) - 10.0)  # type: ignore[attr-defined]
        await until(rt, lambda: live.state is not CondorState.OPEN, step=1.0, limit_s=60)
        await rt.clock.sleep(60)
        assert slow.disk is not None and slow.disk.full
        state["back_at"] = rt.clock.now()
        slow.disk.full = False

    out = run_engine(PROFILE, tmp_path, script)
    cid = state["cid"]
    journal = out.runtime.journal
    rec = journal.condor(cid)
    assert rec is not None and rec.state is CondorState.CLOSED
    assert rec.exit_reason is not None and rec.exit_reason.value.startswith("stop")
    fills = journal.fills(cid)
    assert len(fills) == 8  # four legs in, four out
    _debit, _fees, pnl = realized(fills, rec.condor, None)
    assert rec.realized_pnl == pnl and pnl < 0
    closed = next(c for c in out.of(api.CondorClosed) if c.condor_id == cid)
    assert closed.realized_pnl == pnl and closed.ts >= state["back_at"]
    assert_flat(out.runtime)


@pytest.mark.parametrize("drained", [False, True], ids=["nothing-written", "partly-written"])
def test_a_restart_that_lost_the_outage_writes_adopts_the_pair_at_the_broker(
    tmp_path: Path, drained: bool
) -> None:
    """The engine protects the entry during the outage and dies before the disk is back:
    the fills, the condor's state and the pair's intents queued in memory are lost (all of
    them, or, ``partly-written``, all but the fills and the condor's opening, so the restart
    finds an open condor with no journaled stop and the reconciliation judges its stops). The
    new engine learns the fills from the broker and takes the working pair (our refs, a newer
    generation than its journal knows) as the condor's protection: journaled, kept working
    with the same order ids, never cancelled; no ref is sent twice."""
    state: dict[str, Any] = {}

    async def scenario(c: Crash) -> None:
        state["slow"] = SlowEntry(c.rt, race=True)
        await crash_at(c, "sent:stop-market")
        pair = [
            o
            for o in await c.broker.open_orders()
            if (p := parse_order_ref(o.order_ref)) and p[1].value.startswith("stop")
        ]
        state["pair"] = {o.order_ref: o.order_id for o in pair}
        cid = pair[0].order_ref.split(":")[1]
        journal = Journal(c.journal_path)
        assert journal.stops(cid) == []
        if drained:  # the queue's first writes landed before the process died
            for e, _ in await c.broker.executions():
                journal.record_fill(e, cid)
            dead = c.dead[0].desk.live[cid]
            journal.update_condor(
                cid, state=CondorState.OPEN, credit=dead.credit, opened_ts=dead.opened
            )
        engine = await restart(c, PROFILE, until_done=False)
        task = asyncio.ensure_future(engine.run())
        await c.rt.clock.sleep_until(at(c.rt.clock.now_et().date(), "09:59"))
        state["working"] = {o.order_ref: o.order_id for o in await c.broker.open_orders()}
        state["result"] = await invariants(c)
        engine.request_stop()
        await task

    c = run_crash(PROFILE, tmp_path, scenario)
    pair: dict[str, int] = state["pair"]
    assert len(pair) == 2
    assert state["working"] == pair  # the same orders, never cancelled nor replaced
    cid = next(iter(pair)).split(":")[1]
    journal = Journal(c.journal_path)
    assert [(s.limit_ref, s.market_ref) for s in journal.stops(cid)] == [tuple(sorted(pair))]
    assert journal.condor(cid).state is CondorState.OPEN  # type: ignore[union-attr]
    adopted = [e for e in c.events if isinstance(e, api.AlertRaised) and e.code == "stop_adopted"]
    assert adopted
    cancels = [e for e in c.events if isinstance(e, api.OrderCancelled) and e.order_ref in pair]
    assert cancels == []


def test_protecting_queues_the_fill_and_the_stop_pair_in_order(tmp_path: Path) -> None:
    """The journal's side: outside ``protecting`` a fill or an intent the disk refuses
    raises (nothing leaves); inside it they queue behind each other, in order, and land when
    the disk takes writes again."""
    journal = Journal(tmp_path / "j.sqlite3")
    journal.insert_condor(record("c1"))
    disk = disk_full(journal)
    disk.full = True
    fill = execution("e1", "cd:c1:entry")
    with pytest.raises(JournalError):
        journal.record_fill(fill, "c1")
    assert journal.failing
    limit = request("c1", role=OrderRole.STOP_LIMIT)
    with pytest.raises(JournalError):
        journal.record_intent("c1", OrderRole.STOP_LIMIT, limit, T0)
    with protecting():
        assert journal.record_fill(fill, "c1")
        with journal.transaction():
            journal.record_stop(stop("c1"))
        journal.record_intent("c1", OrderRole.STOP_LIMIT, limit, T0)
    queued = [re.findall(r"INTO (\w+)", sql)[0] for sql, _args in journal._pending]
    assert queued == ["fills", "stops", "orders"]  # the fill first, then its protection
    assert journal.fills() == []
    disk.full = False
    assert journal.flush()
    assert [f.exec_id for f in journal.fills("c1")] == ["e1"]
    assert len(journal.stops("c1")) == 1
    assert journal.order(limit.order_ref) is not None
