"""Run summary: what a run of the engine did, built from its events."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from condordesk.domain.prices import MULTIPLIER, money_text
from condordesk.engine import api

_D0 = Decimal(0)


@dataclass
class SessionFigures:
    """One trading day."""

    day: str
    opened: int = 0
    closed: int = 0
    realized_pnl: Decimal = _D0
    commissions: Decimal = _D0


@dataclass
class RunSummary:
    """Counters over a run; fed by :meth:`on_event`."""

    sessions: list[SessionFigures] = field(default_factory=list)
    condors_opened: int = 0
    condors_closed: int = 0
    closed_by_reason: Counter[str] = field(default_factory=Counter)
    entries_not_filled: int = 0
    credits: Decimal = _D0  # dollars collected at entry
    commissions: Decimal = _D0
    realized_pnl: Decimal = _D0
    stops_placed: int = 0
    stops_triggered: int = 0
    orders_rejected: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: int = 0
    open_commissions: Decimal = _D0  # charged for condors still open at the end of the run
    skipped_by_reason: Counter[str] = field(default_factory=Counter)

    def _session(self, day: date | None) -> SessionFigures | None:
        """The figures of trading day ``day`` (None: the latest session)."""
        if day is not None:
            for figures in reversed(self.sessions):
                if figures.day == day.isoformat():
                    return figures
        return self.sessions[-1] if self.sessions else None

    def on_event(self, event: api.Event) -> None:  # noqa: C901
        """Fold one event into the counters."""
        if isinstance(event, api.SessionOpened):
            self.sessions.append(SessionFigures(day=event.day.isoformat()))
        elif isinstance(event, api.CondorOpened):
            self.condors_opened += 1
            self.credits += event.credit * MULTIPLIER * event.quantity
            if self.sessions:
                self.sessions[-1].opened += 1
        elif isinstance(event, api.CondorClosed):
            self.condors_closed += 1
            self.closed_by_reason[event.reason] += 1
            self.commissions += event.commissions
            self.realized_pnl += event.realized_pnl
            if (day := self._session(event.day)) is not None:
                day.closed += 1
                day.realized_pnl += event.realized_pnl
                day.commissions += event.commissions
        elif isinstance(event, api.CondorAmended):  # a late commission report
            self.commissions -= event.change
            self.realized_pnl += event.change
            if (day := self._session(event.day)) is not None:
                day.realized_pnl += event.change
                day.commissions -= event.change
        elif isinstance(event, api.EntryNotFilled):
            self.entries_not_filled += 1
        elif isinstance(event, api.StopPlaced):
            self.stops_placed += 1
        elif isinstance(event, api.StopTriggered):
            self.stops_triggered += 1
        elif isinstance(event, api.OrderRejected):
            self.orders_rejected += 1
        elif isinstance(event, api.EntrySkipped):
            self.skipped_by_reason[event.reason] += 1
        elif isinstance(event, api.AlertRaised):
            if event.level == "critical":
                self.errors.append(f"{event.code}: {event.message}")
            elif event.level == "warning":
                self.warnings += 1

    def count_open(self, commissions: Decimal) -> None:
        """Count the commissions already charged for a condor still open when the run ends
        (its entry's): in the run's and the latest session's commissions, not in realized
        P&L (the condor's P&L is not realized yet)."""
        self.open_commissions += commissions
        self.commissions += commissions
        if self.sessions:
            self.sessions[-1].commissions += commissions

    def to_json(self) -> dict[str, Any]:
        """The ``--summary-json`` document."""
        return {
            "sessions": len(self.sessions),
            "condors_opened": self.condors_opened,
            "condors_closed": self.condors_closed,
            "closed_by_reason": dict(sorted(self.closed_by_reason.items())),
            "entries_not_filled": self.entries_not_filled,
            "credits": money_text(self.credits),
            "commissions": money_text(self.commissions),
            "commissions_of_open_condors": money_text(self.open_commissions),
            "realized_pnl": money_text(self.realized_pnl),
            "stops_placed": self.stops_placed,
            "stops_triggered": self.stops_triggered,
            "orders_rejected": self.orders_rejected,
            "errors": len(self.errors),
            "error_messages": self.errors,
            "warnings": self.warnings,
            "entries_skipped_by_reason": dict(sorted(self.skipped_by_reason.items())),
            "per_session": [
                {
                    "day": s.day,
                    "opened": s.opened,
                    "closed": s.closed,
                    "realized_pnl": money_text(s.realized_pnl),
                    "commissions": money_text(s.commissions),
                }
                for s in self.sessions
            ],
        }
