"""Operator overrides as proposals: the exact :class:`Command` a key or an action would send,
and what the engine does with it in plain words, for the confirmation. Pure; a console submits
a proposal only after the operator confirmed it.

The texts say what the engine does (a stop move modifies the working pair in place; a flatten
pauses entries, cancels working entries, closes every condor and re-checks until flat), so they
live here once for both consoles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from condordesk.domain.prices import COMBO_TICK, MULTIPLIER
from condordesk.engine import api
from console.format import UNPROTECTED_STOP_STATES, money, price

MAX_PRICE = Decimal(1000)
RISK_LIMIT_WORDS = ("daily max loss", "journal", "fault")
"""Pause texts a resume never lifts (the engine keeps them; the proposal says so)."""
ACK_WORDS = ("reconcile", "entry ")
"""Pause texts only an acknowledgement of the alerts lifts."""


class NotPossible(Exception):
    """The override cannot be proposed now (the message says why)."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """A command ready to send, described for the confirmation."""

    command: api.Command | None  # None: nothing goes to the engine (quitting)
    title: str
    lines: list[str] = field(default_factory=list)
    warning: str | None = None
    danger: bool = False

    @property
    def wire(self) -> str:
        """The command exactly as it will be sent, e.g.
        ``MoveStop(condor_id='20261130-01', trigger=3.10, origin='tui')``."""
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


def _open(view: api.CondorView | None) -> api.CondorView:
    if view is None:
        raise NotPossible("no condor selected")
    if view.state != "open":
        raise NotPossible(f"condor {view.id} is {view.state}, not open")
    return view


def about(view: api.CondorView) -> str:
    """One line naming a condor: id, strikes, size and credit."""
    return f"Condor {view.id}  {view.label}  x{view.quantity}  credit {price(view.credit)}"


class Proposer:
    """Builds the proposals of one console.

    Args:
        origin: the console's name, carried by every command (``tui``, ``gui``).
    """

    def __init__(self, origin: api.Origin) -> None:
        self.origin: api.Origin = origin

    def pause(self, paused_reasons: Sequence[str]) -> Proposal:
        """Stop opening new condors."""
        lines = ["New entries stop; open condors stay managed (stops, targets, exits)."]
        if paused_reasons:
            lines.append(f"Entries are already paused ({'; '.join(paused_reasons)}).")
        command = api.PauseEntries(origin=self.origin, reason="operator")
        return Proposal(command, "Pause entries", lines)

    def resume(self, paused_reasons: Sequence[str]) -> Proposal:
        """Lift the operator's pause (a risk limit or a fault pause stays)."""
        lines = ["Lifts the operator's pause (and a flatten's): the engine may open new condors "
                 "again, within its entry window and limits."]  # fmt: skip
        held = [r for r in paused_reasons if r.startswith(RISK_LIMIT_WORDS + ACK_WORDS)]
        lifted = [r for r in paused_reasons if r not in held]
        if lifted:
            lines.append(f"This lifts the pause: {'; '.join(lifted)}.")
        if held:
            lines.append(f"Entries STAY paused: {'; '.join(held)} (a resume does not lift it).")
        if not paused_reasons:
            lines.append("Entries are not paused now.")
        return Proposal(api.ResumeEntries(origin=self.origin), "Resume entries", lines)

    def move_stop(self, view: api.CondorView | None, trigger: Decimal) -> Proposal:
        """Move the condor's working stop pair to trigger at ``trigger``."""
        view = _open(view)
        if trigger <= 0:
            raise NotPossible("the stop trigger must be positive")
        lines = [about(view)]
        old = view.stop_trigger
        if old is not None and view.stop_limit is not None and view.stop_backup is not None:
            limit = trigger + (view.stop_limit - old)
            backup = trigger + (view.stop_backup - old)
            width = max(view.short_put - view.long_put, view.long_call - view.short_call)
            lines.append(f"Stop trigger {price(old)} → {price(trigger)}.")
            lines.append(
                f"The engine modifies the working stop pair in place: the stop-limit to "
                f"{price(trigger)} (limit {price(limit)}) and the backup to {price(backup)} "
                f"(paying at most the wing width, {price(width)}). Same orders, same OCA "
                "group: the condor stays protected."
            )
        else:
            lines.append(f"New stop trigger {price(trigger)} (the condor has no working stop now).")
        if view.mark is not None and trigger <= view.mark:
            lines.append(f"The mark is {price(view.mark)}: a trigger at or below it fires at once.")
        command = api.MoveStop(origin=self.origin, condor_id=view.id, trigger=trigger)
        return Proposal(command, "Move stop", lines)

    def cancel_stop(self, view: api.CondorView | None) -> Proposal:
        """Cancel the condor's stop pair (the position becomes unprotected)."""
        view = _open(view)
        return Proposal(
            api.CancelStop(origin=self.origin, condor_id=view.id),
            "Cancel stop",
            [about(view), f"Both stop orders (trigger {price(view.stop_trigger)}) are cancelled."],
            warning="The position becomes UNPROTECTED: nothing at the broker limits its loss "
            "until you re-arm the stops or close it.",
            danger=True,
        )

    def arm_stops(self, view: api.CondorView | None) -> Proposal:
        """Place the planned stop pair for a condor without a working one."""
        view = _open(view)
        lines = [about(view)]
        if view.stop_state in UNPROTECTED_STOP_STATES:
            trigger = price(view.stop_trigger) if view.stop_trigger is not None else "the plan"
            lines.append(f"The engine places a new OCA stop pair triggering at {trigger}.")
        else:
            lines.append(f"The stop pair is {view.stop_state}: the engine leaves it as it is.")
        command = api.ArmStops(origin=self.origin, condor_id=view.id)
        return Proposal(command, "Re-arm stops", lines)

    def close_at_market(self, view: api.CondorView | None) -> Proposal:
        """Buy the condor back at the market (chasing from the mid to the natural price)."""
        view = _open(view)
        return Proposal(
            api.CloseCondor(origin=self.origin, condor_id=view.id, limit=None),
            "Close at market",
            [
                about(view),
                "Buy it back now: limit orders from the mid towards the natural price.",
                f"Mark now {price(view.mark)}, natural {price(view.debit)}.",
                "The close joins the stops' OCA group, so only one of them can fill.",
            ],
            danger=True,
        )

    def close_at_limit(self, view: api.CondorView | None, limit: Decimal) -> Proposal:
        """Buy the condor back with one limit order at ``limit``."""
        view = _open(view)
        if limit <= 0:
            raise NotPossible("the limit must be positive")
        lines = [about(view), f"One buy-back order at a limit of {price(limit)} (no chasing)."]
        if view.credit is not None:
            result = (view.credit - limit) * MULTIPLIER * view.quantity
            lines.append(f"If it fills: P&L {money(result)} before commissions.")
        command = api.CloseCondor(origin=self.origin, condor_id=view.id, limit=limit)
        return Proposal(command, "Close at limit", lines)

    def flatten(self, views: Sequence[api.CondorView]) -> Proposal:
        """Pause entries, cancel working entries and close every condor until flat."""
        held = [v for v in views if v.state == "open"]
        lines = [
            "The engine pauses new entries, cancels working entry orders, buys back every "
            "open condor at the market, and re-checks the broker until the book is flat:"
        ]
        lines += [f"  {about(v)}" for v in held] or ["  (no condor is open now)"]
        return Proposal(
            api.FlattenAll(origin=self.origin),
            "FLATTEN ALL",
            lines,
            warning="Every open position is closed at the market price; entries stay paused "
            "until you resume them.",
            danger=True,
        )

    def acknowledge(self, alerts: Sequence[str], paused_reasons: Sequence[str]) -> Proposal:
        """Acknowledge the open alerts."""
        lines = ["You have seen these alerts:"]
        lines += [f"  {a}" for a in alerts] or ["  (no open alert)"]
        if any(r.startswith(ACK_WORDS) for r in paused_reasons):
            lines.append("This also lifts the reconciliation pause (other pauses stay).")
        command = api.AcknowledgeAlerts(origin=self.origin)
        return Proposal(command, "Acknowledge alerts", lines)


def quit_embedded(*, simulated: bool = False) -> Proposal:
    """Closing a console that embeds the engine stops the engine (and a ``simulated`` broker,
    which runs in the same process)."""
    return Proposal(
        None,
        "Quit and stop the engine",
        [
            "The embedded engine stops at a safe point and the journal is flushed.",
            after_stop(simulated),
        ],
        danger=True,
    )


def after_stop(simulated: bool) -> str:
    """What goes on once an embedded engine has stopped: at a broker its working stops, with
    the simulator nothing (it runs in the engine's process)."""
    if simulated:
        return "The simulator runs in this process and ends with it, its working orders too."
    return (
        "Working stops stay at the broker, but open condors are not monitored (profit "
        "target, expiry safety, re-arming) until an engine runs again."
    )
