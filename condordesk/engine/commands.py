"""Operator commands: validation (the ack) and what each one does."""

from __future__ import annotations

from condordesk.domain.condor import CondorState, ExitReason
from condordesk.engine import api
from condordesk.engine.flatten import flatten
from condordesk.engine.pauses import ACK_LIFTS, DAILY_LOSS, FLATTEN, OPERATOR, RESUME_LIFTS
from condordesk.engine.ports import EngineForCommands
from condordesk.engine.reconcile import OPERATOR_CANCELLED
from condordesk.engine.validate import command_problem

RECONCILE_PAUSE = "reconcile"
"""Start of the pause reason set by reconciliation (lifted by acknowledging the alerts)."""


def accept(engine: EngineForCommands, command: api.Command) -> api.Ack:
    """Whether the engine can carry ``command`` out now (the ack a console sees)."""
    condor_id = getattr(command, "condor_id", None)
    if condor_id is not None:
        live = engine.desk.live.get(condor_id)
        if live is None:
            return api.Ack(False, f"no live condor {condor_id}")
        if live.state is not CondorState.OPEN:
            return api.Ack(False, f"condor {condor_id} is {live.state.value}, not open")
        problem = command_problem(live, command)  # prices on the grid and within range
        if problem is not None:
            return api.Ack(False, problem)
    lifts = {api.ResumeEntries: RESUME_LIFTS, api.AcknowledgeAlerts: ACK_LIFTS}.get(type(command))
    if lifts is not None and (kept := _kept(engine, lifts)):
        return api.Ack(True, f"entries stay paused: {kept}")  # a risk limit is never lifted
    return api.Ack(True)


def _kept(engine: EngineForCommands, lifts: frozenset[str]) -> str:
    """The pause reasons ``lifts`` leaves in place, joined ("" if none)."""
    return "; ".join(
        p.text for k in engine.pauses.kinds if k not in lifts and (p := engine.pauses.get(k))
    )


async def carry_out(engine: EngineForCommands, command: api.Command) -> None:
    """Carry out an accepted command."""
    origin = command.origin
    if isinstance(command, api.PauseEntries):
        engine.add_pause(OPERATOR, f"{command.reason}", origin)
    elif isinstance(command, api.ResumeEntries):
        _lift(engine, RESUME_LIFTS, origin)
    elif isinstance(command, api.AcknowledgeAlerts):
        engine.open_alerts.clear()
        engine.bus.publish(api.AlertsAcknowledged(origin=origin))
        engine.acknowledged |= engine.known_findings
        _lift(engine, ACK_LIFTS, origin)
    elif isinstance(command, api.FlattenAll):
        engine.add_pause(FLATTEN, "flatten", origin)
        if not engine.flattening:  # one flatten at a time; it covers every condor
            engine.flattening = True
            engine.desk.spawn(_flatten(engine, origin))
    elif isinstance(command, api.CloseCondor):
        await engine.desk.close(
            engine.desk.live[command.condor_id], ExitReason.MANUAL, command.limit
        )
    elif isinstance(command, api.CancelStop | api.MoveStop | api.ArmStops):
        async with engine.stop_lock:  # never interleaved with a reconciliation's stop check
            await _stop_command(engine, command)


async def _flatten(engine: EngineForCommands, origin: str) -> None:
    """Flatten in the background (the ack returns at once); see :mod:`.flatten`."""
    try:
        await flatten(engine, origin)
    finally:
        engine.flattening = False


def _lift(engine: EngineForCommands, kinds: frozenset[str], origin: str) -> None:
    """Lift the pauses of ``kinds``; say plainly which reasons still hold."""
    for kind in sorted(kinds):
        engine.lift_pause(kind, origin)
    if engine.pauses:
        engine.alert(
            "warning" if DAILY_LOSS in engine.pauses else "info",
            "still_paused",
            f"entries stay paused: {engine.paused_reason}",
        )


async def _stop_command(
    engine: EngineForCommands, command: api.CancelStop | api.MoveStop | api.ArmStops
) -> None:
    live = engine.desk.live.get(command.condor_id)
    if live is None or live.state is not CondorState.OPEN:
        return  # closed meanwhile
    origin = command.origin
    if isinstance(command, api.CancelStop):
        await engine.desk.cancel_stops(live, f"cancelled by {origin}")
        live.stop_state = OPERATOR_CANCELLED
        engine.journal.update_stop(live.oca_group, OPERATOR_CANCELLED)
        engine.alert(
            "warning", "unprotected", f"condor {live.id} has no stop ({origin} cancelled it)"
        )
    elif isinstance(command, api.MoveStop):
        if live.stop_state in ("placed", "verified"):
            await engine.desk.move_stops(live, command.trigger, f"moved by {origin}")
        else:  # nothing working to keep: place the pair at the new trigger
            await engine.desk.place_stops(live, trigger=command.trigger)
    elif live.stop_state not in ("placed", "verified"):
        await engine.desk.place_stops(live, trigger=live.stop.trigger if live.stop else None)
