"""Alerts that close themselves when their condition is over.

An alert is a ``"code: message"`` line in the engine's open alerts until the operator
acknowledges it. Some describe a condition the engine itself can see end: a condor without a
working stop (``unprotected``, ``stop_missing``) is protected again once its stop pair is
verified at the broker. :func:`cleared_by_verified_stop` names the open alerts such a
verification ends; the engine drops them and publishes :class:`~condordesk.engine.api.AlertCleared`
for each, so a console closes them too and says why.
"""

from __future__ import annotations

import re

PROTECTION_ALERTS = frozenset({"unprotected", "stop_missing"})
"""Alert codes that a condor's verified stop pair ends."""

VERIFIED_AGAIN = "stops verified at the broker again"
"""Why such an alert cleared (what the console shows)."""


def cleared_by_verified_stop(condor_id: str, open_alerts: list[str]) -> list[tuple[str, str]]:
    """The open alerts (as ``(code, text)``) that ``condor_id``'s verified stops end.

    Args:
        condor_id: The condor whose stop pair was verified at the broker.
        open_alerts: The engine's open alerts, each ``"code: message"``.
    """
    about = re.compile(rf"\bcondor {re.escape(condor_id)}(?![\w-])")
    cleared = []
    for text in open_alerts:
        code, _, message = text.partition(": ")
        if code in PROTECTION_ALERTS and about.search(message):
            cleared.append((code, text))
    return cleared
