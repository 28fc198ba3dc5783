"""How alert and command-bot messages write figures (shared by ``alerts`` and ``chatops``,
which so need not import each other)."""

from __future__ import annotations

from decimal import Decimal


def money(amount: Decimal) -> str:
    """Dollars with a sign, e.g. ``+$85.30`` / ``-$1,204.00``."""
    sign = "-" if amount < 0 else "+"
    return f"{sign}${abs(amount):,.2f}"
