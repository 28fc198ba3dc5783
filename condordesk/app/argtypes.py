"""Argument types the command lines share: a number that must be finite and above zero,
with the command's own words for what went wrong (argparse shows them after the option)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_number(not_number: str, not_positive: str) -> Callable[[str], float]:
    """An argparse ``type`` that takes a finite number above zero.

    Args:
        not_number: the message when the text is no number (``{text!r}`` is the text).
        not_positive: the message when it is zero, negative or infinite (``{text}``).
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(not_number.format(text=text)) from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(not_positive.format(text=text))
        return value

    return parse
