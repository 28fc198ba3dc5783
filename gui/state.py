"""The desktop console's model: the console core's :class:`console.model.Model` plus the
intraday series its charts draw (SPX, each condor's P&L and mark, on engine time).

Pure (no Qt, no I/O). The reducer is the core's (:func:`console.model.apply`); this model only
extends what a sample records and what a new day forgets.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from condordesk.engine import api
from console.format import minutes_et
from console.model import ALL_PARTS, HELD_STATES, LIVE_STATES, OrderRow, Part, apply
from console.model import Model as CoreModel
from console.model import apply_snapshot as apply_snapshot

SAMPLE_EVERY = timedelta(seconds=15)
MAX_POINTS = 2000  # a regular session is 1560 samples of 15 s

__all__ = [
    "ALL_PARTS", "LIVE_STATES", "MAX_POINTS", "SAMPLE_EVERY", "Model", "OrderRow", "Part",
    "Trail", "apply", "apply_snapshot",
]  # fmt: skip


@dataclass
class Trail:
    """An intraday series on engine time: at most one point per :data:`SAMPLE_EVERY` (a newer
    value within the period replaces the last point, so the line always ends at the latest).
    ``xs`` are minutes since midnight in New York."""

    xs: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    ys: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    last_ts: datetime | None = None

    def add(self, ts: datetime, value: float) -> None:
        """Add a point (or replace the last one, within the sampling period)."""
        if self.last_ts is not None and self.xs and ts - self.last_ts < SAMPLE_EVERY:
            self.xs[-1], self.ys[-1] = minutes_et(ts), value
            return
        self.xs.append(minutes_et(ts))
        self.ys.append(value)
        self.last_ts = ts


@dataclass
class Model(CoreModel):
    """Everything the window shows."""

    spx: Trail = field(default_factory=Trail)
    condor_pnl: dict[str, Trail] = field(default_factory=dict)
    condor_mark: dict[str, Trail] = field(default_factory=dict)
    trades: list[api.TradeRecord] = field(default_factory=list)

    def color_index(self, condor_id: str) -> int:
        """A condor's place among the day's condors (ids sort in the order they were made):
        its colour in every chart and in the table."""
        ids = sorted(set(self.condors) | set(self.condor_pnl))
        return ids.index(condor_id) if condor_id in ids else 0

    def sample(self, ts: datetime | None) -> None:
        """Record SPX, each condor's P&L and mark, and (once a minute) the day's total P&L."""
        if ts is None:
            return
        if self.spot is not None:
            self.spx.add(ts, float(self.spot))
        for view in self.condors.values():
            pnl = view.unrealized_pnl if view.state in LIVE_STATES else view.realized_pnl
            if pnl is not None and view.state != "cancelled":
                self.condor_pnl.setdefault(view.id, Trail()).add(ts, float(pnl))
            if view.mark is not None and view.state in HELD_STATES:
                self.condor_mark.setdefault(view.id, Trail()).add(ts, float(view.mark))
        super().sample(ts)

    def new_day(self) -> None:
        """Forget the day's series."""
        super().new_day()
        self.spx = Trail()
        self.condor_pnl, self.condor_mark = {}, {}
