"""Checks of the log file's ``rotation`` and ``retention`` texts, by the rules of the library
that reads them (loguru), so ``profile check`` refuses what would stop the engine at start.

loguru keeps its parsers in a private module; the tests pin every form the example profiles
document, so an upgrade that moves them fails a test rather than a start."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

parsers: Any = importlib.import_module("loguru._string_parsers")

ROTATION_HELP = (
    'a size ("10 MB"), an age ("1 week", "12 hours"), a time of day ("00:00"), '
    'a weekday ("monday at 12:00") or a frequency ("daily", "weekly")'
)
RETENTION_HELP = 'an age ("30 days", "1 week, 3 days")'


def _positive(value: object) -> bool:
    zero = timedelta(0) if isinstance(value, timedelta) else 0
    return value is not None and value > zero  # type: ignore[operator]


def check_rotation(text: str) -> str:
    """``text`` if loguru can rotate by it (a size or an age above zero).

    Raises:
        ValueError: it cannot, with the forms that are accepted.
    """
    try:
        size = parsers.parse_size(text)
        age = None if size is not None else parsers.parse_duration(text)
        if size is not None or age is not None:
            if _positive(size if size is not None else age):
                return text
        elif parsers.parse_frequency(text) is not None or parsers.parse_daytime(text):
            return text
    except ValueError:
        pass
    raise ValueError(f"cannot rotate the log by {text!r}: give {ROTATION_HELP}")


def check_retention(text: str) -> str:
    """``text`` if loguru can keep logs for it (an age above zero).

    Raises:
        ValueError: it cannot, with the form that is accepted.
    """
    try:
        age = parsers.parse_duration(text)
    except ValueError:
        age = None
    if not _positive(age):
        raise ValueError(f"cannot keep logs for {text!r}: give {RETENTION_HELP}")
    return text
