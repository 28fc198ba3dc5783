"""Which alerts go out, and how: the level threshold and quiet hours (America/New_York)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

Decision = Literal["send", "silent", "drop"]
_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Policy:
    """Send alerts at or above ``level``. Between ``quiet_start`` and ``quiet_end`` (New York
    time; the span may cross midnight) alerts below ``quiet_level`` are sent silently
    (``quiet_action="silent"``) or not at all (``"drop"``)."""

    level: str = "info"
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_level: str = "critical"
    quiet_action: Literal["silent", "drop"] = "silent"

    def quiet(self, now_et: datetime) -> bool:
        """Whether ``now_et`` (New York time) falls in the quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return False
        t = now_et.timetz().replace(tzinfo=None)
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end

    def decide(self, level: str, now_et: datetime) -> Decision:
        """What to do with an alert of ``level`` at ``now_et``."""
        if _RANK.get(level, 2) < _RANK.get(self.level, 0):
            return "drop"
        if self.quiet(now_et) and _RANK.get(level, 2) < _RANK.get(self.quiet_level, 2):
            return self.quiet_action
        return "send"
