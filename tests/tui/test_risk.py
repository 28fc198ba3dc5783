"""Risk computed in the console from strikes, credit and quantity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.tui.fakes import view
from tui.risk import (
    breakevens,
    distance,
    held,
    max_loss,
    max_profit,
    pnl_at_expiry,
    profile_chart,
)

D = Decimal
ONE = view()  # 5950/5960P 6040/6050C x1 for 1.45
WIDE = view("c2", label="5880/5900P 6100/6120C", long_put=D(5880), short_put=D(5900),
            short_call=D(6100), long_call=D(6120), quantity=2, credit=D("2.10"))  # fmt: skip


@pytest.mark.parametrize(
    ("spx", "pnl"),
    [("6000", "145"), ("5960", "145"), ("5955", "-355"), ("5900", "-855"), ("6100", "-855"),
     ("6045.25", "-380"), ("5958.55", "0")],
)  # fmt: skip
def test_pnl_at_expiry_of_one_condor(spx: str, pnl: str) -> None:
    assert pnl_at_expiry([ONE], D(spx)) == D(pnl)


def test_max_loss_profit_and_breakevens_of_one_condor() -> None:
    assert max_loss([ONE]) == D(855) and max_profit([ONE]) == D(145)
    assert breakevens([ONE]) == [D("5958.55"), D("6041.45")]


def test_two_condors_add_up_where_both_lose() -> None:
    both = [ONE, WIDE]
    # below 5880 both wings are lost: 855 + (20 - 2.10) x 100 x 2 = 855 + 3580
    assert max_loss(both) == D(4435)
    assert max_profit(both) == D(145 + 420)
    assert pnl_at_expiry(both, D(5930)) == D(-855 + 420)
    assert breakevens(both) == [D("5954.35"), D("6045.65")]  # the wide wings never lose alone


def test_finished_or_unfilled_condors_carry_no_risk() -> None:
    closed = view("c3", state="closed")
    working = view("c4", state="working", credit=None)
    assert held([ONE, closed, working]) == [ONE]
    assert max_loss([closed, working]) == 0 and breakevens([closed]) == []
    assert profile_chart([closed], D(6000), 60, 6) is None


def test_distances_in_points_and_expected_moves() -> None:
    d = distance(ONE, D("6001.50"), D("21.85"))
    assert (d.put_points, d.call_points) == (D("41.50"), D("38.50"))
    assert (d.put_em, d.call_em) == (D("1.90"), D("1.76"))
    crossed = distance(ONE, D("6045"), None)
    assert crossed.call_points == D(-5) and crossed.call_em is None


def test_the_profile_chart_shows_profit_between_the_breakevens_and_spx() -> None:
    chart = profile_chart([ONE], D("6001.50"), width=61, height=6)
    assert chart is not None
    zero = chart.rows[chart.zero_row]
    assert set(zero) == {"─"}
    above, below = chart.rows[chart.zero_row - 1], chart.rows[-1]
    step = (chart.hi - chart.lo) / 60
    xs = [chart.lo + step * i for i in range(61)]
    assert all((c == "█") == (D("5960") <= x <= D("6040")) for c, x in zip(above, xs, strict=True))
    assert all((c == "█") == (x <= 5950 or x >= 6050) for c, x in zip(below, xs, strict=True))
    assert chart.axis.index("▲") == int((D("6001.50") - chart.lo) / step)
    assert (chart.top, chart.bottom) == (D(145), D(-855))
    assert chart.zero_row >= 1  # a small profit still gets a row above the zero line
