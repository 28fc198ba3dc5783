"""Why entries are paused: a set of reasons keyed by kind, journaled.

Reasons stack: each kind is added and lifted on its own, so lifting one (an operator's
resume, an acknowledgement) never lifts another (the daily max loss, a journal fault).
Entries are allowed only while no reason is left.

Who lifts which kind:

* ``operator`` and ``flatten``: the operator's resume (:data:`RESUME_LIFTS`);
* ``reconcile`` and ``entry_unresolved``: acknowledging the alerts (:data:`ACK_LIFTS`);
* ``daily_loss``: only the next daily reset (it lasts the session, also across a restart
  the same day: the pause carries its day);
* ``journal`` and ``fault``: the engine, when the fault is over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from loguru import logger

from condordesk.store.journal import Journal

OPERATOR = "operator"
DAILY_LOSS = "daily_loss"
RECONCILE = "reconcile"
ENTRY_UNRESOLVED = "entry_unresolved"
FLATTEN = "flatten"
JOURNAL = "journal"
FAULT = "fault"
KINDS = (OPERATOR, DAILY_LOSS, RECONCILE, ENTRY_UNRESOLVED, FLATTEN, JOURNAL, FAULT)
"""Every pause kind, in the order their texts are shown."""

RESUME_LIFTS = frozenset({OPERATOR, FLATTEN})
"""Kinds an operator's ResumeEntries lifts (never a risk limit or a fault)."""
ACK_LIFTS = frozenset({RECONCILE, ENTRY_UNRESOLVED})
"""Kinds that wait for the operator to acknowledge the alerts."""

STATE_KEY = "pauses"
LEGACY_KEY = "paused_reason"
"""The journal key older versions kept one reason under (still written, joined)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """One reason entries are paused.

    Attributes:
        kind: One of :data:`KINDS`.
        text: What the operator reads.
        origin: Who paused (``engine``, ``tui``, ``telegram``, ...).
        day: The trading day a ``daily_loss`` pause belongs to (None for other kinds).
    """

    kind: str
    text: str
    origin: str
    day: date | None = None


def _legacy_kind(text: str) -> str:
    if text.startswith("daily max loss"):
        return DAILY_LOSS
    if text.startswith(RECONCILE):
        return RECONCILE
    if text == FLATTEN:
        return FLATTEN
    if text.startswith("entry ") and text.endswith("unresolved"):
        return ENTRY_UNRESOLVED
    return OPERATOR


class Pauses:
    """The stacked pause reasons of one engine, persisted in the journal's settings.

    A failed journal write never loses a pause (the set in memory is the truth while the
    engine runs; the write is retried with the next change).
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._by_kind: dict[str, Pause] = {}
        self._load()

    def _load(self) -> None:
        raw = self._journal.get_state(STATE_KEY)
        if raw is not None:
            try:
                for item in json.loads(raw):
                    day = date.fromisoformat(item["day"]) if item.get("day") else None
                    pause = Pause(item["kind"], item["text"], item["origin"], day)
                    self._by_kind[pause.kind] = pause
            except (ValueError, KeyError, TypeError) as exc:  # fail closed: paused
                logger.error("the journaled pause reasons cannot be read ({}): {!r}", exc, raw)
                text = "the journaled pause reasons could not be read; look, then resume"
                self._by_kind[OPERATOR] = Pause(OPERATOR, text, "engine")
            return
        legacy = self._journal.get_state(LEGACY_KEY)
        if legacy:  # written by an older version: one reason, its kind guessed from its text
            kind = _legacy_kind(legacy)
            self._by_kind[kind] = Pause(kind, legacy, "engine")

    def __bool__(self) -> bool:
        return bool(self._by_kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind

    def get(self, kind: str) -> Pause | None:
        """The pause of ``kind``, if any."""
        return self._by_kind.get(kind)

    @property
    def kinds(self) -> list[str]:
        """The kinds paused now, in :data:`KINDS` order."""
        return self._ordered()

    @property
    def reasons(self) -> list[str]:
        """Every reason's text, in :data:`KINDS` order."""
        return [self._by_kind[k].text for k in self._ordered()]

    @property
    def text(self) -> str | None:
        """Every reason joined with ``"; "`` (None when entries are allowed)."""
        if not self._by_kind:  # asked every cycle: the usual answer costs nothing
            return None
        return "; ".join(self.reasons) or None

    def _ordered(self) -> list[str]:
        known = [k for k in KINDS if k in self._by_kind]
        return known + sorted(k for k in self._by_kind if k not in KINDS)

    def add(self, pause: Pause) -> bool:
        """Add or update a reason; False if exactly this reason was already there."""
        if self._by_kind.get(pause.kind) == pause:
            return False
        old = self._by_kind.get(pause.kind)
        if old is not None and (old.text, old.day) == (pause.text, pause.day):
            return False  # the same reason again (another origin): nothing changes
        self._by_kind[pause.kind] = pause
        self._save()
        return True

    def lift(self, kind: str) -> Pause | None:
        """Remove the reason of ``kind``; the removed pause, or None if there was none."""
        gone = self._by_kind.pop(kind, None)
        if gone is not None:
            self._save()
        return gone

    def _save(self) -> None:
        items = [
            {
                "kind": p.kind,
                "text": p.text,
                "origin": p.origin,
                "day": p.day.isoformat() if p.day else None,
            }
            for p in (self._by_kind[k] for k in self._ordered())
        ]
        try:
            self._journal.set_state(STATE_KEY, json.dumps(items))
            self._journal.set_state(LEGACY_KEY, self.text)
        except Exception as exc:  # a pause must hold even when the journal cannot be written
            logger.error("could not journal the pause reasons ({}); they hold in memory", exc)
