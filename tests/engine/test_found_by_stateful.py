"""Violations the randomized stateful test found, each as the minimal interleaving Hypothesis
shrank it to (``benchmarks/soak.py --hunt NAME``), replayed step by step on the same machine.

A test marked ``xfail(strict=True)`` reproduces a violation the engine still has: it fails
today (the invariant does not hold), and the day the engine is fixed it passes, the strict
xfail turns red, and the mark comes off (with the invariant's name off
``test_stateful.KNOWN_FAILING``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from loguru import logger

from condordesk.engine import api
from tests.engine.stateful import EARLY_CLOSE_DAY, NORMAL_DAY, EngineMachine, Tally

pytestmark = pytest.mark.usefixtures("warm_calendar")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[EngineMachine]:
    """A fresh machine whose every invariant fails a step; torn down after the test."""

    class Replay(EngineMachine):
        pass

    Replay.workdir = tmp_path
    Replay.tally = Tally()
    logger.disable("condordesk")
    state = Replay()
    try:
        yield state
    finally:
        state.teardown()
        logger.enable("condordesk")


def opened(state: EngineMachine) -> None:
    """Start the day (1 lot, one condor at a time) and check a condor is open and protected."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    (live,) = state.r.engine.desk.live.values()
    assert live.stop_state == "verified"


def accepted(state: EngineMachine, command: str) -> bool:
    """Whether the last ``command`` the engine received was accepted (it must have one)."""
    got = [e for e in state.r.events if isinstance(e, api.CommandReceived)]
    answers = [e.accepted for e in got if e.command == command]
    assert answers, f"the engine never received {command}"
    return answers[-1]


def test_a_stop_moved_to_the_mark_never_reverses_the_position(state: EngineMachine) -> None:
    """Found at 3215b18: the new pair fired at once, the fallback placed two more and each
    filled: the condor was bought back three times (every leg reversed by 2)."""
    opened(state)
    state.move_stop(kind="at-mark", pick=0)
    state.hold()
    accepted(state, "MoveStop")
    state.wait(300.0)
    state.hold()


def test_an_off_tick_trigger_never_reaches_the_broker(state: EngineMachine) -> None:
    """Found at 3215b18: a trigger 0.02 off the grid was accepted and sent (three pairs)."""
    opened(state)
    state.move_stop(kind="off-tick", pick=0)
    state.hold()
    assert not accepted(state, "MoveStop")


def test_a_flatten_that_meets_a_dropped_link_is_contained(state: EngineMachine) -> None:
    """Found at 3215b18: FlattenAll's close chase met a dropped link and NotConnected escaped
    ``engine.submit`` (the command was not contained)."""
    opened(state)
    state.flatten()
    state.hold()
    state.drop_link(seconds=60.0)
    state.hold()
    state.wait(900.0)  # and the flatten is carried through: flat 600 s after the link is back
    state.hold()


def test_two_condors_holding_one_strike_on_opposite_sides_are_both_protected(
    state: EngineMachine,
) -> None:
    """Found at 7d41370: condor -03 was long the 6025 call condor -02 was short (net 0 in the
    account); the exit-budget guard read the account's net per contract, refused every stop of
    -03 as 'could reverse a position' (unprotected for hours) and every close of -02."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=2, daily_max_loss=1500, seed=321)
    for _ in range(9):  # to 14:16: -03 opened at 13:59:45
        state.wait(seconds=1800.0)
        state.hold()
    rows = {r.id[-2:]: r.condor for r in state.r.engine.journal.condors(day=NORMAL_DAY)}
    shared = set(rows["02"].contracts) & set(rows["03"].contracts)
    assert shared and all(
        rows["02"].position_sign(c) == -rows["03"].position_sign(c) for c in shared
    )


def test_a_link_dropped_during_the_start_reconciliation_does_not_kill_the_engine(
    state: EngineMachine,
) -> None:
    """Found at 20e1484: the link dropped while the start reconciliation re-armed a stop
    (waiting on order_status) and NotConnected escaped engine.run(): the engine died."""
    opened(state)
    state.arm_stops(pick=0)
    state.hold()
    state.arm_stops(pick=0)
    state.hold()
    state.fault(fault="reject", seconds=2.0)
    state.hold()
    state.arm_stops(pick=0)
    state.hold()
    state.cancel_by_hand(pick=0, which=0)  # the new engine finds half a pair and re-arms
    state.hold()
    state.restart(crash=False)
    state.hold()
    state.drop_link(seconds=60.0)
    state.hold()
    state.wait(seconds=300.0)
    state.hold()
    assert state.r.running


def test_the_daily_max_loss_pause_survives_a_second_restart_the_same_session(
    state: EngineMachine,
) -> None:
    """Found at 9927f60: the daily max loss paused entries at 09:47:11 (early-close day, limit
    $120); the old engine's ArmStops, still running when it stopped, failed afterwards and its
    contained fault journaled the old engine's pause set (without the daily loss) over the new
    engine's, so a clean restart at 09:47:22 found no daily-loss pause and resumed entries.
    Fixed: an engine whose run() returned records nothing (tests/engine/test_stopped_engine.py)."""
    state.start(day=EARLY_CLOSE_DAY, contracts=2, daily_max_loss=120, max_concurrent=1, seed=146)
    state.hold()
    state.arm_stops(pick=0)
    state.drop_link(seconds=60.0)
    state.arm_stops(pick=0)
    state.arm_stops(pick=0)
    state.fault(fault="reject", seconds=2.0)
    state.arm_stops(pick=0)
    state.cancel_stop(pick=0)
    state.fault(fault="ack-delay", seconds=2.0)
    state.gap(pick=0, points=8.0)
    state.fault(fault="reject", seconds=2.0)
    state.arm_stops(pick=0)
    state.restart(crash=False)  # the new engine's first cycle hits the daily max loss
    state.hold()
    assert state.r.checker.loss_day == EARLY_CLOSE_DAY
    state.drop_link(seconds=10.0)
    state.hold()
    state.restart(crash=False)
    state.hold()


def test_a_stop_market_never_pays_more_than_the_condor_can_be_worth(
    state: EngineMachine,
) -> None:
    """Found at 041d982 (issue 12, pnl-bounds): a gap through the short call fired the
    stop-market backup, which bought the condor back at the natural price, above the wing
    width: realized -908.57 against a worst case of -883.57 (max loss plus commissions).
    Fixed: the backup is a stop-limit whose limit is the wing width."""
    state.start(day=EARLY_CLOSE_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=189)
    state.hold()
    state.jump(where="15:45")  # past the 13:00 close: the next session, 2026-11-30
    state.hold()
    state.arm_stops(pick=0)
    state.cancel_stop(pick=0)
    state.fault(fault="reject", seconds=2.0)
    state.wait(seconds=5.0)
    state.fault(fault="reject-3", seconds=2.0)
    state.hold()
    state.gap(pick=0, points=25.0)
    state.hold()
    state.jump(where="cutoff-5m")
    state.hold()


def test_a_close_whose_cancel_was_lost_never_blocks_the_stops(state: EngineMachine) -> None:
    """Found at 7452542 (``benchmarks/soak.py --seed 224``): the flatten's close (LMT 1.10)
    stayed working after its cancel was lost with the link (close_unknown); it used up the exit
    budget, so every re-arm and every later close was refused as 'could reverse a position':
    held with no stop until the close, never flat. Fixed: a refused re-arm or close first
    cancels the condor's closes no flow follows (engine/stale.py) and waits for the broker."""
    opened(state)
    state.flatten()
    state.hold()
    state.cancel_by_hand(pick=0, which=0)  # half the pair gone: the flow's end re-arms
    state.hold()
    state.gap(pick=0, points=-8.0)
    state.hold()
    state.drop_link(seconds=10.0)  # the close's cancel is lost with the link
    state.hold()
    state.jump(where="15:45")
    state.hold()
    assert not state.r.engine.desk.live
    assert not state.r.sim._working
    codes = [e.code for e in state.r.events if isinstance(e, api.AlertRaised)]
    assert "stale_close" in codes and "flatten_done" in codes
    assert "exit_budget" not in codes  # the stale close is gone before the budget refuses


def test_an_open_condors_close_left_working_is_cancelled_on_reconnect(
    state: EngineMachine,
) -> None:
    """A close (limit at the mark) whose cancel was lost with the link while its stop pair
    stayed whole: nothing needs the budget, so only the reconciliation after the reconnect
    can find it; it cancels it (finding stale_close) and the condor keeps its pair."""
    opened(state)
    (live,) = state.r.engine.desk.live.values()
    state.close_condor(pick=0, kind="mark")
    state.hold()
    state.gap(pick=0, points=-8.0)
    state.hold()
    state.drop_link(seconds=10.0)
    state.hold()
    state.wait(seconds=300.0)
    state.hold()
    working = sorted(o.request.order_ref for o in state.r.sim._working.values())
    assert working == [f"cd:{live.id}:stop-limit", f"cd:{live.id}:stop-market"]
    assert live.stop_state == "verified"


def test_a_close_interrupted_by_a_crash_is_protected_again_at_once(state: EngineMachine) -> None:
    """Found at 3af1aa9 (``soak.py --seed 224 --examples 200 --steps 60``): both stops were
    cancelled by hand while the flatten's close worked, then the engine crashed; the new
    engine's start reconciliation cancelled the close and reopened the condor, but a closing
    condor's stops are not checked, so it was held with no stop until the periodic check.
    Fixed: a condor reopened by a reconciliation is re-armed at once when its pair is gone."""
    opened(state)
    state.flatten()
    state.hold()
    state.cancel_by_hand(pick=0, which=0)
    state.hold()
    state.cancel_by_hand(pick=0, which=1)
    state.hold()
    state.restart(crash=True)
    state.hold()
    (live,) = state.r.engine.desk.live.values()
    assert live.stop_state == "verified"
    state.jump(where="15:45")
    state.hold()


def test_a_close_that_fills_while_the_link_is_down_is_journaled(state: EngineMachine) -> None:
    """Found by the fills-journaled invariant (``soak.py --hunt fills-journaled --seed 600``):
    a flatten's close filled while the link was down for 10 s; its four executions were never
    journaled (the condor's P&L and the day's book lacked them)."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=2)
    state.hold()
    state.flatten()
    state.hold()
    state.drop_link(seconds=10.0)
    state.hold()
    state.wait(seconds=300.0)
    state.hold()


def test_a_stop_cancelled_at_the_broker_is_re_armed_while_the_disk_is_full(
    state: EngineMachine,
) -> None:
    """Found by the stateful test's full-disk rule (``soak.py --hunt one-protection --seed
    613``): a stop cancelled at the broker (TWS) just before the journal's disk filled left the
    condor held without a stop for the whole outage (400 s), since a cycle does nothing while
    the journal refuses writes. Now the engine re-arms it anyway, its writes queued."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    state.cancel_by_hand(pick=0, which=0)
    state.hold()
    state.fill_disk(seconds=400.0)
    state.hold()
    (live,) = state.r.engine.desk.live.values()
    assert state.r.engine.journal.failing and live.stop_state == "verified"
    codes = [e.code for e in state.r.events if isinstance(e, api.AlertRaised)]
    assert "outage_protection" in codes
    state.free_disk()
    state.hold()
    state.wait(seconds=300.0)
    state.hold()
    stops = state.r.engine.journal.stops(live.id)
    assert stops[-1].state == "verified"  # the re-armed pair reached the journal


def test_a_close_reported_late_during_a_flatten_is_journaled(state: EngineMachine) -> None:
    """Shrunk by ``soak.py --hunt fills-journaled --seed 600`` (an invariant that gave no fill
    time to arrive): the flatten's close fills and its report is held back 20 s; once it comes,
    its executions are journaled."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    state.flatten()
    state.hold()
    state.fault(fault="late-fill", seconds=20.0)
    state.hold()
    state.wait(seconds=20.0)
    state.hold()
    state.wait(seconds=300.0)
    state.hold()
    refs = {f.order_ref for f in state.r.engine.journal.fills()}
    assert any(ref.startswith("cd:20261130-01:close") for ref in refs)


def test_a_stop_the_operator_cancels_during_an_outage_stays_cancelled(
    state: EngineMachine,
) -> None:
    """Shrunk by ``soak.py --hunt one-protection --seed 605``: the operator's cancel-stop is
    accepted while the disk is full (a cancel sends no order); its record waits for the disk,
    and the engine neither re-arms the condor nor counts it as unprotected meanwhile."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    state.fill_disk(seconds=5.0)
    state.hold()
    state.cancel_stop(pick=0)
    state.hold()
    assert accepted(state, "CancelStop")
    state.jump(where="15:45")
    state.hold()
    (live,) = state.r.engine.desk.live.values()
    assert live.stop_state == "cancelled-by-operator"
    assert not [o for o in state.r.sim._working.values() if o.request.order_ref.startswith("cd:")]
    state.free_disk()
    state.hold()
    state.wait(seconds=60.0)
    state.hold()
    assert state.r.engine.journal.stops(live.id)[-1].state == "cancelled-by-operator"


def test_a_backup_stop_filled_in_part_before_a_crash_is_replaced_at_once(
    state: EngineMachine,
) -> None:
    """Found by ``soak.py --hunt one-protection --seed 644``: a 2-lot condor's backup stop
    filled one unit (partial fills) when the engine crashed. The new engine reopened the condor
    and cancelled the backup's working rest to place a fresh pair for the unit still held, but
    took the backup's earlier fill for one made during the cancel ("the exit flow takes over":
    none ran, it died in the crash) and placed nothing: the unit was held without a stop until
    the periodic check, five minutes later. Now only a fill made after the cancel was decided
    stops the new pair."""
    state.start(day=NORMAL_DAY, contracts=2, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    for _ in range(9):  # the shrunk example's timing: one clock second each
        state.flatten()
        state.hold()
    state.fault(fault="partial", seconds=2.0)
    state.hold()
    state.gap(pick=0, points=-60.0)
    state.hold()
    state.restart(crash=True)
    state.hold()
    state.wait(seconds=45.0)
    state.hold()
    # the fresh pair went out at once for the unit held; the market was past its trigger
    # after the gap, so it bought that unit back at once
    assert state.r.engine.desk.live == {}
    journal = state.r.engine.journal
    (condor,) = journal.condors()
    refs = {o.order_ref: (str(o.status), o.filled) for o in journal.orders(condor.id)}
    assert refs[f"cd:{condor.id}:stop-market.2"] == ("filled", 1)
    assert [p for p in state.r.sim._ledger.positions() if p.quantity] == []
    state.jump(where="15:45")
    state.hold()


def test_a_stop_fill_at_a_clean_restart_is_journaled(state: EngineMachine) -> None:
    """Found by ``soak.py --hunt fills-journaled --seed 700``: a re-armed pair's backup filled
    in a gap just as the engine was stopped and started again."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    state.drop_link(seconds=10.0)
    state.hold()
    state.cancel_by_hand(pick=0, which=1)
    state.hold()
    state.gap(pick=0, points=-60.0)
    state.hold()
    state.restart(crash=False)
    state.hold()
    state.jump(where="15:45")
    state.hold()


def test_a_close_that_filled_while_the_link_was_down_near_the_close_is_booked_from_its_fills(
    state: EngineMachine,
) -> None:
    """Found by ``soak.py --hunt fills-journaled --seed 820`` (replayed as shrunk): an expiry
    safety close filled at 15:47 while the link was down and the disk full; the link was down
    again at the cut-off, so no reconciliation read the day's executions before the day was
    booked. The condor was booked as expired at its settlement value (P&L +104.59) and the
    close's fills were never journaled (a broker reports only the day's executions). Now the
    end of a session reads the day's executions before it settles and books anything: the
    condor is booked from its close's fills (P&L -253.42; its reason still says expired)."""
    state.start(day=NORMAL_DAY, contracts=1, seed=22, daily_max_loss=1500, max_concurrent=2)
    state.hold()
    state.gap(pick=0, points=25.0)
    state.hold()
    state.drop_link(seconds=10.0)
    state.hold()
    state.jump(where="15:45")
    state.hold()
    state.drop_link(seconds=60.0)
    state.hold()
    state.cancel_stop(pick=0)
    state.hold()
    state.cancel_stop(pick=0)
    state.hold()
    state.gap(pick=0, points=-60.0)
    state.hold()
    state.fill_disk(seconds=5.0)
    state.hold()
    state.arm_stops(pick=0)
    state.hold()
    state.arm_stops(pick=0)
    state.hold()
    state.entries(command="pause")
    state.hold()
    state.drop_link(seconds=400.0)
    state.hold()
    state.gap(pick=0, points=-60.0)
    state.hold()
    state.gap(pick=0, points=-60.0)
    state.hold()
    state.free_disk()
    state.hold()
    state.drop_link(seconds=10.0)
    state.hold()
    state.drop_link(seconds=10.0)
    state.hold()
    state.drop_link(seconds=400.0)
    state.hold()
    state.arm_stops(pick=0)
    state.hold()
    state.wait(seconds=300.0)
    state.hold()
    rec = state.r.engine.journal.condor("20261130-05")
    assert rec is not None and rec.realized_pnl is not None
    assert rec.exit_debit == Decimal("3.55")  # its close's fills, not the settlement (0.01)
    assert rec.realized_pnl < 0  # bought back above its 1.10 credit: not the +104.59 booked


def test_a_flatten_never_pays_more_than_the_width_and_says_what_is_still_held(
    state: EngineMachine,
) -> None:
    """Shrunk by ``soak.py --hunt flat-after-flatten --seed 936``: three 60-point gaps put the
    market's ask for the condor at 13.80, above its 10-point width. The flatten chases up to
    the width and no further (paying more than a condor can be worth at expiry is a certain
    loss), reports what is still held, and the capped backup keeps working at the width. The
    invariant now excuses such a condor (it was the invariant's false alarm)."""
    state.start(day=NORMAL_DAY, contracts=1, max_concurrent=1, daily_max_loss=1500, seed=1)
    state.hold()
    state.flatten()
    state.hold()
    state.flatten()
    state.hold()
    state.cancel_by_hand(pick=0, which=1)
    state.hold()
    for _ in range(3):
        state.gap(pick=0, points=-60.0)
        state.hold()
    state.jump(where="15:45")
    state.hold()
    codes = [e.code for e in state.r.events if isinstance(e, api.AlertRaised)]
    assert "flatten_incomplete" in codes and "stop_waiting" in codes
    limits = [o.request.limit_price for o in state.r.engine.journal.orders("20261130-01")]
    assert max(p for p in limits if p is not None) == Decimal("10")  # never above the width
