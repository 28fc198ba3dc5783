"""The payoff of short iron condors at expiry (shared by both consoles' risk graphs)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from condordesk.domain.condor import IronCondor
from condordesk.domain.payoff import (
    Holding,
    breakevens,
    breakpoints,
    max_loss,
    max_profit,
    pnl_at_expiry,
)

D = Decimal
DAY = date(2026, 11, 30)
# 2 units of 5900/5920P 6080/6090C sold for 2.40: the put wing is twice the call wing
SKEWED = Holding(IronCondor(DAY, D(5900), D(5920), D(6080), D(6090), quantity=2), D("2.40"))
NARROW = Holding(IronCondor(DAY, D(5990), D(6000), D(6010), D(6020)), D("3.00"))


def test_a_condor_keeps_its_credit_between_the_shorts_and_loses_a_full_wing_beyond_the_longs() -> (
    None
):
    assert pnl_at_expiry([SKEWED], D(6000)) == D(480)
    assert pnl_at_expiry([SKEWED], D(5800)) == D(-3520)  # (2.40 - 20) x 100 x 2
    assert pnl_at_expiry([SKEWED], D(7000)) == D(-1520)  # (2.40 - 10) x 100 x 2
    assert pnl_at_expiry([SKEWED], D("5917.60")) == 0
    assert max_loss([SKEWED]) == D(3520) and max_profit([SKEWED]) == D(480)
    assert breakevens([SKEWED]) == [D("5917.60"), D("6082.40")]


def test_two_condors_add_up_and_their_breakevens_move_with_both() -> None:
    both = [SKEWED, NARROW]
    assert breakpoints(both) == [D(5900), D(5920), D(5990), D(6000), D(6010), D(6020), D(6080),
                                 D(6090)]  # fmt: skip
    assert pnl_at_expiry(both, D(6005)) == D(480 + 300)
    assert pnl_at_expiry(both, D(5950)) == D(480 - 700)
    assert max_profit(both) == D(780)
    assert breakevens(both) == [D("5992.20"), D("6017.80")]


def test_nothing_held_risks_nothing() -> None:
    assert pnl_at_expiry([], D(6000)) == 0
    assert max_loss([]) == 0 and max_profit([]) == 0 and breakevens([]) == []
