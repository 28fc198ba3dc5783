"""The dashboard's text widgets on their own: the P&L sparkline and the key bar."""

from __future__ import annotations

from tui.widgets.keybar import key_bar
from tui.widgets.pnl import sparkline


def test_a_small_loss_draws_below_a_zero_line_not_as_full_bars() -> None:
    rows = sparkline([-5.0, -5.0, -4.0, -5.0], 4, 3)
    assert rows[0] == "────"  # zero is the top of a day that never made money
    assert "█" not in "".join(rows)


def test_a_day_through_zero_marks_zero_where_no_bar_covers_it() -> None:
    rows = sparkline([10.0, 20.0, -10.0, 30.0], 4, 4)
    assert any("─" in row for row in rows)
    assert rows[0][3] == "█"  # the high of the day reaches the top


def test_the_key_bar_keeps_help_quit_and_flatten_on_80_columns() -> None:
    bar = key_bar(80).plain
    assert len(bar) <= 80
    for hint in ("? Help", "q Quit", "F FLATTEN", "p Pause", "r Resume"):
        assert hint in bar
    wide = key_bar(200).plain
    assert "1 Dash" in wide and "k Ack" in wide and "1 Dash" not in bar
