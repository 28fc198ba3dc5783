"""Flatten means flat: FlattenAll drives every condor to closed and checks the broker.

The command pauses entries (a ``flatten`` pause) and returns its ack at once; this runs in
the background, in rounds on the engine's clock:

* a working entry is cancelled (if it filled meanwhile, the desk opens and protects it, and
  the next round closes it);
* every open condor is closed (chasing to the natural price); a running exit flow (a close,
  a fired stop) is left to finish, and checked again next round;
* while the broker is not connected or the journal cannot be written (a close's intent is
  journaled before it is sent), rounds wait (uncounted, for at most half an hour in all);
* after each round the broker is asked: no position in any of the condors' contracts and no
  order of theirs working means flat. Otherwise a reconciliation settles what the desk does
  not know yet (a close that ended while nobody watched, a closing condor whose close is
  gone) and the next round goes again.

It ends with one report: an info alert ``flat: N condor(s) closed``, or a critical alert
naming what is still held after the last round.
"""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from condordesk.domain.condor import CondorState, ExitReason
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import OrderRole, order_ref, parse_order_ref
from condordesk.engine.book import LiveCondor
from condordesk.engine.ports import DeskForFlatten, EngineForFlatten
from condordesk.errors import CondordeskError

ROUNDS = 8
"""How many rounds a flatten tries before it reports what is still held."""
ROUND_WAIT_S = 15.0
"""Clock seconds between rounds (fills, cancels and reports come in meanwhile)."""
MAX_WAIT_S = 1800.0
"""While the broker is not connected or the journal cannot be written rounds wait
(uncounted), at most this long in all."""


async def flatten(engine: EngineForFlatten, origin: str) -> bool:
    """Drive every working, open and closing condor to closed; True once the broker shows
    nothing of them. Publishes one final report (see the module)."""
    desk = engine.desk
    touched: set[str] = set(desk.live)
    held: list[str] = []
    rounds = 0
    deadline = engine.clock.now() + timedelta(seconds=MAX_WAIT_S)
    while True:
        if waiting := _cannot_round(engine):  # a round would only fail
            held = [waiting]
        else:
            rounds += 1
            held = await _round(engine, touched)
            if not held:
                break
            logger.info("flatten round {}: still held: {}", rounds, "; ".join(held))
        out_of_time = engine.clock.now() >= deadline or (engine.stopping and bool(waiting))
        if rounds >= ROUNDS or out_of_time:
            break
        await engine.clock.sleep(ROUND_WAIT_S)
        if desk.connected:
            try:
                await engine.reconcile("flatten")
            except CondordeskError as exc:
                logger.warning("flatten: reconciliation failed ({}); trying again", exc)
    if not held:
        engine.alert("info", "flatten_done", f"flat: {_outcome(engine, touched)} ({origin})")
        return True
    engine.alert(
        "critical",
        "flatten_incomplete",
        f"flatten by {origin} is not flat after {rounds} round(s): still held: {'; '.join(held)}",
    )
    return False


def _cannot_round(engine: EngineForFlatten) -> str:
    """Why a round now could only fail (no close can leave), or ""."""
    if not engine.desk.connected:
        return "the broker is not connected"
    if engine.journal.failing:  # a close's intent must be journaled before it is sent
        return "the journal cannot be written"
    return ""


async def _round(engine: EngineForFlatten, touched: set[str]) -> list[str]:
    """One step towards closed for every live condor, then what is still held."""
    touched |= set(engine.desk.live)
    for live in list(engine.desk.live.values()):
        await _drive(engine.desk, live)
    touched |= set(engine.desk.live)
    return await _still_held(engine, touched)


def _outcome(engine: EngineForFlatten, ids: set[str]) -> str:
    """``N condor(s) closed`` (and the working entries cancelled, if any)."""
    states = [r.state for cid in ids if (r := engine.journal.condor(cid)) is not None]
    closed = sum(1 for s in states if s is CondorState.CLOSED)
    cancelled = sum(1 for s in states if s is CondorState.CANCELLED)
    text = f"{closed} condor(s) closed"
    return text + (f", {cancelled} working entr(ies) cancelled" if cancelled else "")


async def _drive(desk: DeskForFlatten, live: LiveCondor) -> None:
    """One step towards closed for one condor (errors are logged: the next round retries)."""
    try:
        if live.state is CondorState.WORKING:
            await _cancel_entry(desk, live)
        elif live.state is CondorState.OPEN and not live.exiting:
            await desk.close(live, ExitReason.FLATTEN)
        # CLOSING, or an exit flow running: it closes the condor; the next round checks
    except CondordeskError as exc:
        logger.warning("flatten: {} not closed this round ({})", live.id, exc)


async def _cancel_entry(desk: DeskForFlatten, live: LiveCondor) -> None:
    ref = order_ref(live.id, OrderRole.ENTRY)
    report = desk.tracker.latest(ref)
    if report is not None and not report.status.is_done:
        logger.info("flatten: cancelling the working entry of {}", live.id)
        await desk.cancel(report.order_id)


async def _still_held(engine: EngineForFlatten, ids: set[str]) -> list[str]:
    """What of condors ``ids`` is not flat: live in the desk, positions in their contracts,
    orders of theirs working at the broker. Unknown (the broker cannot say) is not flat."""
    desk = engine.desk
    held = [f"{cid} {desk.live[cid].state.value}" for cid in sorted(ids) if cid in desk.live]
    contracts: set[OptionContract] = set()
    for cid in ids:
        rec = engine.journal.condor(cid)
        if rec is not None:
            contracts |= set(rec.condor.contracts)
    try:
        positions = await engine.broker.positions()
        working = await engine.broker.open_orders()
    except CondordeskError as exc:
        return [*held, f"the broker cannot say ({exc})"]
    held += [
        f"{p.quantity:+d} {p.contract.symbol}"
        for p in positions
        if p.contract in contracts and p.quantity
    ]
    held += [
        f"order {o.order_ref} working"
        for o in working
        if (parsed := parse_order_ref(o.order_ref)) and parsed[0] in ids and not o.status.is_done
    ]
    return held
