"""Build the NYSE session table with ``exchange_calendars``, in a child process.

This is the only module of condordesk that imports ``exchange_calendars`` (and, through it,
pandas, which costs about 75 MB of memory). The engine never imports it: it runs::

    python -m condordesk.market.calendar_build FIRST_YEAR LAST_YEAR

and reads the JSON this prints on stdout (see :mod:`condordesk.market.calendar`, which also
caches it). The output holds the raw NYSE (XNYS) sessions, open and close in UTC; the NYSE
close is the cut-off of expiring SPXW (13:00 ET on early-close days), mapped to sessions in
:mod:`condordesk.market.calendar`, where it is tested.

Output format (``FORMAT`` = 1)::

    {"format": 1, "calendar": "XNYS", "exchange_calendars": "4.13.2",
     "first_year": 2025, "last_year": 2026,
     "sessions": [["2025-01-02", "2025-01-02T14:30:00+00:00", "2025-01-02T21:00:00+00:00"], ...]}

Exit status: 0 on success, 2 on bad arguments, 1 when the calendar cannot be built (the reason
goes to stderr).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

FORMAT = 1
CALENDAR_NAME = "XNYS"
# pandas' nanosecond timestamps end in April 2262; XNYS itself starts in 1885.
MIN_YEAR = 1885
MAX_YEAR = 2261
_USAGE = "usage: python -m condordesk.market.calendar_build FIRST_YEAR LAST_YEAR"


def build(first_year: int, last_year: int) -> dict[str, Any]:
    """Build the NYSE sessions of ``first_year``-01-01 .. ``last_year``-12-31.

    Args:
        first_year: first calendar year covered.
        last_year: last calendar year covered (inclusive).

    Returns:
        The JSON-ready table described in the module docstring.

    Raises:
        ValueError: the year range is empty or outside what ``exchange_calendars`` covers.
    """
    if not MIN_YEAR <= first_year <= last_year <= MAX_YEAR:
        raise ValueError(
            f"year range {first_year}..{last_year} must be ordered and within "
            f"{MIN_YEAR}..{MAX_YEAR}"
        )
    with warnings.catch_warnings():
        # pandas deprecation chatter is not our business here; stderr is kept for real errors
        warnings.simplefilter("ignore")
        # imported here, not at module level: the heavy import happens only in the child
        import exchange_calendars

        cal = exchange_calendars.get_calendar(
            CALENDAR_NAME, start=f"{first_year}-01-01", end=f"{last_year}-12-31"
        )
        schedule = cal.schedule
        rows = [
            [day.date().isoformat(), opened.isoformat(), closed.isoformat()]
            for day, opened, closed in zip(
                schedule.index, schedule["open"], schedule["close"], strict=True
            )
        ]
    return {
        "format": FORMAT,
        "calendar": CALENDAR_NAME,
        "exchange_calendars": version("exchange_calendars"),
        "first_year": first_year,
        "last_year": last_year,
        "sessions": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: print the session table of the years given as JSON.

    Args:
        argv: ``[FIRST_YEAR, LAST_YEAR]``; defaults to ``sys.argv[1:]``.

    Returns:
        The process exit status.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        first_year, last_year = (int(a) for a in args)
    except ValueError:
        print(_USAGE, file=sys.stderr)
        return 2
    try:
        table = build(first_year, last_year)
    except Exception as exc:  # any failure is reported to the parent through stderr
        print(f"calendar build failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(table, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
