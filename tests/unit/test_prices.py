"""SPX price increments and tick rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from condordesk.domain.prices import (
    COMBO_TICK,
    Rounding,
    option_tick,
    round_to_tick,
    to_decimal,
)

D = Decimal


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        ("0", "0.05"),
        ("0.05", "0.05"),
        ("1.50", "0.05"),
        ("2.95", "0.05"),
        ("2.99", "0.05"),
        ("3.00", "0.10"),  # the break belongs to the large tick
        ("3.05", "0.10"),
        ("25.40", "0.10"),
        ("-2.95", "0.05"),  # combo-style negative prices use the magnitude
        ("-3.00", "0.10"),
    ],
)
def test_option_tick(price: str, tick: str) -> None:
    assert option_tick(D(price)) == D(tick)


def test_combo_tick_is_a_nickel_whatever_the_price() -> None:
    assert D("0.05") == COMBO_TICK
    assert round_to_tick(D("3.47"), COMBO_TICK) == D("3.45")


@pytest.mark.parametrize(
    ("price", "tick", "nearest", "up", "down"),
    [
        ("1.00", "0.05", "1.00", "1.00", "1.00"),  # already on a tick: unchanged in every mode
        ("1.01", "0.05", "1.00", "1.05", "1.00"),
        ("1.02", "0.05", "1.00", "1.05", "1.00"),
        ("1.03", "0.05", "1.05", "1.05", "1.00"),
        ("1.025", "0.05", "1.05", "1.05", "1.00"),  # a tie rounds half up
        ("0.01", "0.05", "0.00", "0.05", "0.00"),
        ("3.14", "0.10", "3.10", "3.20", "3.10"),
        ("3.15", "0.10", "3.20", "3.20", "3.10"),
        # negatives: up is towards +infinity, down towards -infinity
        ("-1.01", "0.05", "-1.00", "-1.00", "-1.05"),
        ("-1.03", "0.05", "-1.05", "-1.00", "-1.05"),
        ("-1.60", "0.05", "-1.60", "-1.60", "-1.60"),
        ("-0.01", "0.05", "0.00", "0.00", "-0.05"),
    ],
)
def test_round_to_tick_modes(price: str, tick: str, nearest: str, up: str, down: str) -> None:
    p, t = D(price), D(tick)

    assert round_to_tick(p, t) == D(nearest)
    assert round_to_tick(p, t, "nearest") == D(nearest)
    assert round_to_tick(p, t, "up") == D(up)
    assert round_to_tick(p, t, "down") == D(down)


@pytest.mark.parametrize("price", ["1.025", "2.975", "0.125", "1.01", "1.03"])
def test_nearest_is_symmetric_in_sign(price: str) -> None:
    # ties go away from zero on both sides (Decimal ROUND_HALF_UP), so -x rounds to -(x rounded)
    assert round_to_tick(-D(price), COMBO_TICK) == -round_to_tick(D(price), COMBO_TICK)


@pytest.mark.parametrize("mode", ["nearest", "up", "down"])
@pytest.mark.parametrize("price", ["-7.777", "-0.024", "0.026", "2.9999", "12.3456"])
def test_rounded_prices_are_tick_multiples_in_cents(mode: Rounding, price: str) -> None:
    rounded = round_to_tick(D(price), COMBO_TICK, mode)

    assert rounded % COMBO_TICK == 0
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - D(price)) < COMBO_TICK


def test_up_and_down_bracket_the_price() -> None:
    for cents in range(-500, 501, 7):
        price = D(cents) / 100
        assert round_to_tick(price, COMBO_TICK, "down") <= price
        assert round_to_tick(price, COMBO_TICK, "up") >= price


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (1.005, D("0.01"), D("1.01")),  # repr keeps 1.005; binary 1.00499... would round down
        (0.1 + 0.2, D("0.01"), D("0.30")),
        (-1.234, D("0.01"), D("-1.23")),
        (0.123456, D("0.0001"), D("0.1235")),
        (6000.0, D("0.01"), D("6000.00")),
    ],
)
def test_to_decimal(value: float, places: Decimal, expected: Decimal) -> None:
    result = to_decimal(value, places)

    assert result == expected
    assert result.as_tuple().exponent == places.as_tuple().exponent
