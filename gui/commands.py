"""Operator overrides as proposals: the exact :class:`Command` an action would send and what it
does in plain words, for the confirmation dialog. Pure; the window submits a proposal only
after the operator confirmed it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from condordesk.domain.prices import COMBO_TICK, MULTIPLIER
from condordesk.engine import api
from gui.format import UNPROTECTED_STOP_STATES, money, price

ORIGIN: api.Origin = "gui"
MAX_PRICE = Decimal(1000)


class NotPossible(Exception):
    """The override cannot be proposed now (the message says why)."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """A command ready to send, described for the confirmation dialog."""

    command: api.Command | None  # None: nothing goes to the engine (quitting)
    title: str
    lines: list[str] = field(default_factory=list)
    warning: str | None = None
    danger: bool = False

    @property
    def wire(self) -> str:
        """The command exactly as it will be sent, e.g.
        ``MoveStop(condor_id='20261130-01', trigger=3.10, origin='gui')``."""
        if self.command is None:
            return "nothing (no command goes to the engine)"
        return wire_text(self.command)


def wire_text(command: api.Command) -> str:
    """A command with every field, as sent."""
    parts = []
    for f in dataclasses.fields(command):
        if f.name == "origin":
            continue
        value = getattr(command, f.name)
        parts.append(f"{f.name}={value!r}" if isinstance(value, str) else f"{f.name}={value}")
    parts.append(f"origin={command.origin!r}")
    return f"{type(command).__name__}({', '.join(parts)})"


def parse_price(text: str) -> Decimal:
    """A combo price typed by the operator: positive, below 1000, on the 0.05 tick.

    Raises:
        ValueError: the text is not such a price (the message says why).
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text.strip() or 'nothing'} is not a price") from None
    if not value.is_finite() or value <= 0:
        raise ValueError("the price must be positive")
    if value >= MAX_PRICE:
        raise ValueError(f"the price must be below {MAX_PRICE}")
    if value % COMBO_TICK != 0:
        raise ValueError(f"the price must be a multiple of the {COMBO_TICK} combo tick")
    return value.quantize(Decimal("0.01"))


def _open(view: api.CondorView | None) -> api.CondorView:
    if view is None:
        raise NotPossible("no condor selected")
    if view.state != "open":
        raise NotPossible(f"condor {view.id} is {view.state}, not open")
    return view


def _about(view: api.CondorView) -> str:
    return f"Condor {view.id}  {view.label}  x{view.quantity}  credit {price(view.credit)}"


def pause(paused_reason: str | None) -> Proposal:
    """Stop opening new condors."""
    lines = ["New entries stop; open condors stay managed (stops, targets, exits)."]
    if paused_reason:
        lines.append(f"Entries are already paused ({paused_reason}).")
    return Proposal(api.PauseEntries(origin=ORIGIN, reason="operator"), "Pause entries", lines)


def resume(paused_reason: str | None) -> Proposal:
    """Allow new condors again."""
    lines = ["The engine may open new condors again (within its entry window and limits)."]
    lines.append(
        f"This lifts the pause: {paused_reason}." if paused_reason else "Entries are not paused."
    )
    return Proposal(api.ResumeEntries(origin=ORIGIN), "Resume entries", lines)


def stepped_trigger(view: api.CondorView | None, ticks: int) -> Decimal:
    """The open condor's stop trigger moved by ``ticks`` combo ticks (0.05 each).

    Raises:
        NotPossible: no open condor, it has no stop to move, or the trigger would not stay
            positive.
    """
    view = _open(view)
    if view.stop_trigger is None:
        raise NotPossible(f"condor {view.id} has no stop to move: re-arm it first")
    new = view.stop_trigger + COMBO_TICK * ticks
    if new <= 0:
        raise NotPossible("the stop trigger must stay positive")
    return new


def move_stop(view: api.CondorView | None, trigger: Decimal) -> Proposal:
    """Replace the condor's OCA stop pair with one triggering at ``trigger``."""
    view = _open(view)
    if trigger <= 0:
        raise NotPossible("the stop trigger must be positive")
    lines = [_about(view)]
    old = view.stop_trigger
    if old is not None and view.stop_limit is not None and view.stop_backup is not None:
        limit = trigger + (view.stop_limit - old)
        backup = trigger + (view.stop_backup - old)
        lines.append(f"Stop trigger {price(old)} → {price(trigger)}.")
        lines.append(
            f"The engine cancels the working pair, then places a stop-limit at {price(trigger)} "
            f"(limit {price(limit)}) and a stop-market backup at {price(backup)} in one OCA group."
        )
    else:
        lines.append(f"New stop trigger {price(trigger)} (the condor has no working stop now).")
    if view.mark is not None and trigger <= view.mark:
        lines.append(f"The mark is {price(view.mark)}: a trigger at or below it fires at once.")
    return Proposal(
        api.MoveStop(origin=ORIGIN, condor_id=view.id, trigger=trigger), "Move stop", lines
    )


def cancel_stop(view: api.CondorView | None) -> Proposal:
    """Cancel the condor's stop pair (the position becomes unprotected)."""
    view = _open(view)
    return Proposal(
        api.CancelStop(origin=ORIGIN, condor_id=view.id),
        "Cancel stop",
        [_about(view), f"Both stop orders (trigger {price(view.stop_trigger)}) are cancelled."],
        warning="The position becomes UNPROTECTED: nothing at the broker limits its loss "
        "until you re-arm the stops or close it.",
        danger=True,
    )


def arm_stops(view: api.CondorView | None) -> Proposal:
    """Place the planned stop pair for a condor without a working one."""
    view = _open(view)
    lines = [_about(view)]
    if view.stop_state in UNPROTECTED_STOP_STATES:
        trigger = price(view.stop_trigger) if view.stop_trigger is not None else "the plan"
        lines.append(f"The engine places a new OCA stop pair triggering at {trigger}.")
    else:
        lines.append(f"The stop pair is {view.stop_state}: the engine leaves it as it is.")
    return Proposal(api.ArmStops(origin=ORIGIN, condor_id=view.id), "Re-arm stops", lines)


def close_at_market(view: api.CondorView | None) -> Proposal:
    """Buy the condor back at the market (chasing from the mid to the natural price)."""
    view = _open(view)
    return Proposal(
        api.CloseCondor(origin=ORIGIN, condor_id=view.id, limit=None),
        "Close at market",
        [
            _about(view),
            "Buy it back now: limit orders from the mid towards the natural price.",
            f"Mark now {price(view.mark)}, natural {price(view.debit)}.",
            "The close joins the stops' OCA group, so only one of them can fill.",
        ],
        danger=True,
    )


def close_at_limit(view: api.CondorView | None, limit: Decimal) -> Proposal:
    """Buy the condor back with one limit order at ``limit``."""
    view = _open(view)
    if limit <= 0:
        raise NotPossible("the limit must be positive")
    lines = [_about(view), f"One buy-back order at a limit of {price(limit)} (no chasing)."]
    if view.credit is not None:
        result = (view.credit - limit) * MULTIPLIER * view.quantity
        lines.append(f"If it fills: P&L {money(result)} before commissions.")
    return Proposal(
        api.CloseCondor(origin=ORIGIN, condor_id=view.id, limit=limit), "Close at limit", lines
    )


def flatten(views: list[api.CondorView]) -> Proposal:
    """Pause entries and close every open condor at market."""
    held = [v for v in views if v.state == "open"]
    lines = ["Pause new entries, then buy back every open condor at the market:"]
    lines += [f"  {_about(v)}" for v in held] or ["  (no condor is open now)"]
    return Proposal(
        api.FlattenAll(origin=ORIGIN),
        "FLATTEN ALL",
        lines,
        warning="Every open position is closed at the market price.",
        danger=True,
    )


def acknowledge(alerts: list[str], paused_reason: str | None) -> Proposal:
    """Acknowledge the open alerts."""
    lines = ["You have seen these alerts:"]
    lines += [f"  {a}" for a in alerts] or ["  (no open alert)"]
    if paused_reason and paused_reason.startswith("reconcile"):
        lines.append("This also lifts the reconciliation pause.")
    return Proposal(api.AcknowledgeAlerts(origin=ORIGIN), "Acknowledge alerts", lines)


def quit_embedded() -> Proposal:
    """Closing the window of an embedded engine stops the engine."""
    return Proposal(
        None,
        "Quit and stop the engine",
        [
            "The embedded engine stops at a safe point and the journal is flushed.",
            "Working stops stay at the broker, but open condors are not monitored (profit "
            "target, expiry safety, re-arming) until an engine runs again.",
        ],
        danger=True,
    )
