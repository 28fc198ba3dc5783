"""The SQLite journal: schema, condors, orders, fills, stops, events, daily figures, purge."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.condor import CondorState, ExitReason, IronCondor
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import (
    Execution,
    OrderAction,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    TimeInForce,
    order_ref,
)
from condordesk.errors import JournalError
from condordesk.market.clock import ET
from condordesk.store.journal import CondorRecord, Journal, StopRecord
from condordesk.store.schema import SCHEMA_VERSION

D = Decimal
DAY = date(2026, 11, 27)
T0 = datetime(2026, 11, 27, 15, 0, 0, 123456, tzinfo=UTC)


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal" / "sim.sqlite"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    j = Journal(path)
    yield j
    j.close()


def make_condor(expiry: date = DAY, quantity: int = 1) -> IronCondor:
    return IronCondor(expiry, D("5950"), D("5960"), D("6040"), D("6050"), quantity)


def record(
    cid: str = "c1",
    day: date = DAY,
    state: CondorState = CondorState.WORKING,
    created: datetime = T0,
    **extra: object,
) -> CondorRecord:
    return CondorRecord(
        id=cid,
        day=day,
        condor=make_condor(day),
        state=state,
        created_ts=created,
        target_credit=D("1.45"),
        **extra,  # type: ignore[arg-type]
    )


def request(cid: str = "c1", role: OrderRole = OrderRole.ENTRY) -> OrderRequest:
    c = make_condor()
    return OrderRequest(
        order_ref=order_ref(cid, role),
        legs=c.short_legs(),
        action=OrderAction.BUY,
        order_type=OrderType.LIMIT,
        quantity=1,
        tif=TimeInForce.FOK,
        limit_price=D("-1.45"),
    )


def execution(
    exec_id: str,
    ref: str = "cd:c1:entry",
    *,
    strike: str = "5960",
    price: str = "2.10",
    ts: datetime = T0,
) -> Execution:
    return Execution(
        exec_id=exec_id,
        order_id=11,
        perm_id=900011,
        order_ref=ref,
        contract=OptionContract(DAY, D(strike), Right.PUT),
        side=OrderAction.SELL,
        quantity=1,
        price=D(price),
        ts=ts,
    )


def stop(cid: str = "c1", group: str = "oca-c1-1") -> StopRecord:
    return StopRecord(
        condor_id=cid,
        oca_group=group,
        limit_ref=order_ref(cid, OrderRole.STOP_LIMIT),
        market_ref=order_ref(cid, OrderRole.STOP_MARKET),
        trigger=D("2.90"),
        limit_price=D("3.40"),
        backup_trigger=D("3.20"),
        state="placed",
        placed_ts=T0,
    )


# --- opening and schema -----------------------------------------------------------------------


def test_open_creates_schema_in_wal_mode(journal: Journal, path: Path) -> None:
    assert path.exists()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert {"condors", "orders", "fills", "stops", "events", "daily", "kv"} <= tables


def test_a_new_journal_is_empty(journal: Journal) -> None:
    assert journal.condors() == []
    assert journal.orders() == []
    assert journal.fills() == []
    assert journal.events() == []
    assert journal.last_event_seq() == 0


def test_reopening_keeps_data(path: Path) -> None:
    first = Journal(path)
    first.insert_condor(record())
    first.set_state("paused", "operator")
    first.append_event(1, T0, "EngineStarted", {"profile": "sim"})
    first.close()

    second = Journal(path)
    try:
        assert [c.id for c in second.condors()] == ["c1"]
        assert second.get_state("paused") == "operator"
        assert second.last_event_seq() == 1
    finally:
        second.close()


def test_a_journal_from_a_newer_condordesk_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()

    with pytest.raises(JournalError, match="newer"):
        Journal(path)

    db = sqlite3.connect(path)
    try:  # the newer file was not migrated or damaged
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert db.execute("SELECT name FROM sqlite_master WHERE name='condors'").fetchone() is None
    finally:
        db.close()


def test_an_unreadable_file_is_a_journal_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError):
        Journal(path)


# --- condors ----------------------------------------------------------------------------------


def test_condor_round_trips_exactly(journal: Journal) -> None:
    rec = record(first_trade=True)
    journal.insert_condor(rec)

    got = journal.condor("c1")

    assert got == rec
    assert got is not None
    assert str(got.target_credit) == "1.45"
    assert got.created_ts.microsecond == 123456
    assert got.condor.short_put == D("5960")


def test_unknown_condor_is_none(journal: Journal) -> None:
    assert journal.condor("nope") is None


def test_update_condor_round_trips_decimals_datetimes_and_enums(journal: Journal) -> None:
    journal.insert_condor(record())
    opened = datetime(2026, 11, 27, 10, 5, 7, 250000, tzinfo=ET)
    closed = T0 + timedelta(hours=1, microseconds=1)

    journal.update_condor(
        "c1",
        state=CondorState.CLOSED,
        credit=D("1.450"),
        opened_ts=opened,
        closed_ts=closed,
        exit_reason=ExitReason.STOP_LIMIT,
        exit_debit=D("3.05"),
        commissions=D("6.6200"),
        realized_pnl=D("-166.62"),
        profit_target=D("0.05"),
        stop_trigger=D("2.90"),
        stop_limit=D("3.40"),
        stop_backup=D("3.20"),
        note="stopped out",
    )
    got = journal.condor("c1")

    assert got is not None
    assert got.state is CondorState.CLOSED
    assert got.exit_reason is ExitReason.STOP_LIMIT
    assert got.opened_ts == opened
    assert got.opened_ts is not None
    assert got.opened_ts.utcoffset() == opened.utcoffset()
    assert got.closed_ts == closed
    # Decimals keep their exact value and representation (no float detour)
    assert str(got.credit) == "1.450"
    assert str(got.commissions) == "6.6200"
    assert got.realized_pnl == D("-166.62")
    assert (got.exit_debit, got.profit_target) == (D("3.05"), D("0.05"))
    assert (got.stop_trigger, got.stop_limit, got.stop_backup) == (D("2.90"), D("3.40"), D("3.20"))
    assert got.note == "stopped out"


def test_update_condor_rejects_unknown_fields(journal: Journal) -> None:
    journal.insert_condor(record())
    with pytest.raises(ValueError, match="unknown condor fields"):
        journal.update_condor("c1", state=CondorState.OPEN, short_put=D("6000"))
    got = journal.condor("c1")
    assert got is not None
    assert got.state is CondorState.WORKING  # nothing of the rejected update was applied
    assert got.condor.short_put == D("5960")


def test_condors_filter_by_day_and_states_oldest_first(journal: Journal) -> None:
    prev = DAY - timedelta(days=1)
    journal.insert_condor(record("b", created=T0 + timedelta(minutes=5)))
    journal.insert_condor(record("a", created=T0))
    journal.insert_condor(record("old", day=prev, created=T0 - timedelta(days=1)))
    journal.update_condor("b", state=CondorState.OPEN)
    journal.update_condor("old", state=CondorState.CLOSED)

    assert [c.id for c in journal.condors()] == ["old", "a", "b"]
    assert [c.id for c in journal.condors(day=DAY)] == ["a", "b"]
    assert [c.id for c in journal.condors(states=[CondorState.OPEN])] == ["b"]
    live = [s for s in CondorState if s.is_live]
    assert [c.id for c in journal.condors(states=live)] == ["a", "b"]
    assert [c.id for c in journal.condors(day=prev, states=live)] == []
    assert [c.id for c in journal.condors(day=prev, states=[CondorState.CLOSED])] == ["old"]


def test_duplicate_condor_id_is_a_journal_error(journal: Journal) -> None:
    journal.insert_condor(record())
    with pytest.raises(JournalError):
        journal.insert_condor(record())


# --- orders -----------------------------------------------------------------------------------


def test_intent_then_broker_ack(journal: Journal) -> None:
    journal.insert_condor(record())
    req = request()
    journal.record_intent("c1", OrderRole.ENTRY, req, T0)

    intent = journal.order(req.order_ref)
    assert intent is not None
    assert intent.status == "intent"
    assert intent.working
    assert intent.request == req  # the whole order request survives the journal
    assert (intent.order_id, intent.perm_id) == (None, None)
    assert [o.order_ref for o in journal.orders(working_only=True)] == [req.order_ref]

    later = T0 + timedelta(seconds=1)
    journal.update_order(
        req.order_ref, status=OrderStatus.WORKING, ts=later, order_id=11, perm_id=900011
    )
    acked = journal.order(req.order_ref)
    assert acked is not None
    assert (acked.status, acked.order_id, acked.perm_id) == ("working", 11, 900011)
    assert acked.updated_ts == later
    assert journal.order_by_id(11) == acked

    journal.update_order(
        req.order_ref, status=OrderStatus.FILLED, ts=later, filled=1, avg_price=D("-1.45")
    )
    done = journal.order(req.order_ref)
    assert done is not None
    assert (done.status, done.filled, done.avg_price) == ("filled", 1, D("-1.45"))
    assert (done.order_id, done.perm_id) == (11, 900011)  # not wiped by an update without ids
    assert not done.working
    assert journal.orders(working_only=True) == []
    assert [o.order_ref for o in journal.orders("c1")] == [req.order_ref]


def test_intent_for_an_unknown_condor_is_refused(journal: Journal) -> None:
    with pytest.raises(JournalError):
        journal.record_intent("ghost", OrderRole.ENTRY, request("ghost"), T0)


@pytest.mark.parametrize("final", [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED])
@pytest.mark.parametrize("late", [OrderStatus.PENDING, OrderStatus.WORKING])
def test_a_final_status_is_never_overwritten_by_a_late_update(
    journal: Journal, final: OrderStatus, late: OrderStatus
) -> None:
    journal.insert_condor(record())
    ref = request().order_ref
    journal.record_intent("c1", OrderRole.ENTRY, request(), T0)
    journal.update_order(ref, status=final, ts=T0, reason="done")

    journal.update_order(ref, status=late, ts=T0, order_id=11, perm_id=900011)

    got = journal.order(ref)
    assert got is not None
    assert got.status == final.value
    assert not got.working
    assert (got.order_id, got.perm_id) == (11, 900011)  # ids still get filled in
    assert journal.order_by_id(11) is not None


def test_a_late_update_does_not_undo_the_fill_figures_of_a_filled_order(journal: Journal) -> None:
    journal.insert_condor(record())
    ref = request().order_ref
    journal.record_intent("c1", OrderRole.ENTRY, request(), T0)
    journal.update_order(ref, status=OrderStatus.FILLED, ts=T0, filled=1, avg_price=D("-1.45"))

    # an out-of-order 'working' report from before the fill, as a replay delivers it
    journal.update_order(ref, status=OrderStatus.WORKING, ts=T0, order_id=11, filled=0)

    got = journal.order(ref)
    assert got is not None
    assert (got.status, got.filled, got.avg_price) == ("filled", 1, D("-1.45"))


# --- fills ------------------------------------------------------------------------------------


def test_a_fill_is_recorded_once(journal: Journal) -> None:
    e = execution("0001.01")
    assert journal.record_fill(e, "c1") is True
    assert journal.record_fill(e, "c1") is False
    # a replay with a different payload (as after a reconnect) changes nothing either
    assert journal.record_fill(replace(e, price=D("9.99")), None) is False

    fills = journal.fills()
    assert len(fills) == 1
    assert fills[0].execution == e
    assert fills[0].condor_id == "c1"
    assert fills[0].commission is None


def test_commission_attaches_once(journal: Journal) -> None:
    journal.record_fill(execution("0001.01"), "c1")

    assert journal.record_commission("0001.01", D("1.1500")) is True
    assert journal.record_commission("0001.01", D("9.99")) is False
    assert journal.record_commission("unknown", D("1.00")) is False

    [fill] = journal.fills()
    assert str(fill.commission) == "1.1500"


def test_fills_filter_by_condor_and_order_ref_in_execution_order(journal: Journal) -> None:
    journal.record_fill(execution("e3", "cd:c2:entry", ts=T0 + timedelta(seconds=2)), "c2")
    journal.record_fill(execution("e2", "cd:c1:close", ts=T0 + timedelta(seconds=1)), "c1")
    journal.record_fill(execution("e1", "cd:c1:entry", ts=T0), "c1")
    journal.record_fill(execution("e4", "cd:other:entry", ts=T0), None)

    assert [f.exec_id for f in journal.fills()] == ["e1", "e4", "e2", "e3"]
    assert [f.exec_id for f in journal.fills(condor_id="c1")] == ["e1", "e2"]
    assert [f.exec_id for f in journal.fills(order_ref="cd:c1:close")] == ["e2"]
    assert [f.exec_id for f in journal.fills("c2", "cd:c2:entry")] == ["e3"]
    assert journal.fills("c1", "cd:c2:entry") == []


# --- stops ------------------------------------------------------------------------------------


def test_stops_record_update_and_list(journal: Journal) -> None:
    journal.insert_condor(record())
    first, second = stop(group="oca-1"), stop(group="oca-2")
    journal.record_stop(first)
    journal.record_stop(second)

    assert journal.stops("c1") == [first, second]
    assert journal.stops("other") == []

    journal.update_stop("oca-1", "cancelled")
    journal.update_stop("oca-2", "verified")
    assert [s.state for s in journal.stops("c1")] == ["cancelled", "verified"]
    assert journal.stops("c1")[1].trigger == D("2.90")


# --- events, daily figures, settings --------------------------------------------------------


def test_events_append_and_read_since(journal: Journal) -> None:
    for seq in (1, 2, 3):
        journal.append_event(seq, T0 + timedelta(seconds=seq), f"E{seq}", {"n": seq})

    assert journal.last_event_seq() == 3
    assert [e[0] for e in journal.events()] == [1, 2, 3]
    assert journal.events(since=1) == [
        (2, T0 + timedelta(seconds=2), "E2", {"n": 2}),
        (3, T0 + timedelta(seconds=3), "E3", {"n": 3}),
    ]
    assert journal.events(since=3) == []
    assert [e[0] for e in journal.events(since=0, limit=2)] == [1, 2]


def test_daily_figures_upsert(journal: Journal) -> None:
    assert journal.daily(DAY) is None
    journal.save_daily(DAY, realized=D("120.50"), opened=2)
    assert journal.daily(DAY) == {"realized": "120.50", "opened": "2"}

    journal.save_daily(DAY, realized=D("-30.00"), opened=3, closed=3)
    assert journal.daily(DAY) == {"realized": "-30.00", "opened": "3", "closed": "3"}
    assert journal.daily(DAY - timedelta(days=1)) is None


def test_kv_get_set_clear(journal: Journal) -> None:
    assert journal.get_state("paused") is None
    journal.set_state("paused", "operator")
    journal.set_state("paused", "daily loss")
    assert journal.get_state("paused") == "daily loss"
    journal.set_state("paused", None)
    assert journal.get_state("paused") is None
    journal.set_state("paused", None)  # clearing twice is harmless


# --- purge and transactions -------------------------------------------------------------------


def _condor_with_history(j: Journal, cid: str, day: date, state: CondorState) -> None:
    created = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
    j.insert_condor(record(cid, day=day, created=created))
    if state is not CondorState.WORKING:
        j.update_condor(cid, state=state)
    j.record_intent(cid, OrderRole.ENTRY, request(cid), created)
    j.record_fill(execution(f"{cid}-x", order_ref(cid, OrderRole.ENTRY), ts=created), cid)
    j.record_stop(stop(cid, f"oca-{cid}"))


def test_purge_removes_only_old_finished_condors(journal: Journal) -> None:
    old, cutoff = date(2026, 10, 1), date(2026, 11, 1)
    _condor_with_history(journal, "old-closed", old, CondorState.CLOSED)
    _condor_with_history(journal, "old-cancelled", old, CondorState.CANCELLED)
    _condor_with_history(journal, "old-open", old, CondorState.OPEN)  # never deleted
    _condor_with_history(journal, "old-working", old, CondorState.WORKING)
    _condor_with_history(journal, "new-closed", DAY, CondorState.CLOSED)
    journal.append_event(1, datetime(2026, 10, 1, 15, tzinfo=UTC), "Old", {})
    journal.append_event(2, datetime(2026, 11, 2, 15, tzinfo=UTC), "New", {})
    journal.save_daily(old, realized=D(1))
    journal.save_daily(DAY, realized=D(2))

    removed = journal.purge_before(cutoff)

    # 2 condors x (condor, order, fill, stop) + 1 event + 1 daily row
    assert removed == 10
    kept = {"old-open", "old-working", "new-closed"}
    assert {c.id for c in journal.condors()} == kept
    assert {o.condor_id for o in journal.orders()} == kept
    assert {f.condor_id for f in journal.fills()} == kept
    for cid in kept:
        assert len(journal.stops(cid)) == 1
    assert journal.stops("old-closed") == []
    assert [e[0] for e in journal.events()] == [2]
    assert journal.daily(old) is None
    assert journal.daily(DAY) is not None

    assert journal.purge_before(cutoff) == 0  # idempotent


def test_transaction_rolls_back_on_exception(journal: Journal) -> None:
    class Boom(Exception):
        pass

    def write_then_fail() -> None:
        with journal.transaction():
            journal.insert_condor(record("a"))
            with journal.transaction():  # nested blocks join the outer one
                journal.set_state("k", "v")
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()

    assert journal.condors() == []
    assert journal.get_state("k") is None

    with journal.transaction():
        journal.insert_condor(record("b"))
    assert [c.id for c in journal.condors()] == ["b"]
