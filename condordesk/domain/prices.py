"""Price increments for SPX options and combos.

SPX options trade in 0.05 below 3.00 and 0.10 at 3.00 and above; complex orders (spreads,
condors) trade in 0.05 increments whatever their price.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

COMBO_TICK = Decimal("0.05")
_SMALL_TICK = Decimal("0.05")
_LARGE_TICK = Decimal("0.10")
_TICK_BREAK = Decimal("3.00")
CENT = Decimal("0.01")
MULTIPLIER = Decimal(100)

Rounding = Literal["nearest", "up", "down"]
_MODES = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def option_tick(price: Decimal) -> Decimal:
    """Return the minimum price increment of a single SPX option at ``price``."""
    return _SMALL_TICK if abs(price) < _TICK_BREAK else _LARGE_TICK


def round_to_tick(price: Decimal, tick: Decimal, mode: Rounding = "nearest") -> Decimal:
    """Round ``price`` to a multiple of ``tick``.

    Args:
        price: any price, positive or negative.
        tick: the increment (for example ``COMBO_TICK``).
        mode: ``nearest`` (half up), ``up`` (towards +inf) or ``down`` (towards -inf).
    """
    units = (price / tick).quantize(Decimal(1), rounding=_MODES[mode])
    return (units * tick).quantize(CENT)


def to_decimal(value: float, places: Decimal = CENT) -> Decimal:
    """Convert a float from a model or an adapter into a Decimal with ``places`` precision."""
    return Decimal(repr(value)).quantize(places, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """A money figure or a price as JSON shows it: a string with exactly two decimals
    (dollars and cents; SPX prices lie on a 0.05 or 0.10 grid, so two decimals hold them
    whole), never ``"-0.00"``.

    Args:
        value: dollars, or a price per unit.

    Returns:
        ``"1.20"`` for ``Decimal("1.200")``, ``"0.00"`` for ``Decimal(0)``.
    """
    cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return str(cents if cents != 0 else CENT * 0)
