"""The invariant checks themselves: each one fails on the state it is meant to catch (a check
that cannot fail would make the stateful test worthless)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from loguru import logger

from condordesk.domain.combo import stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.orders import OrderRequest
from condordesk.market.clock import ET
from tests.engine.invariants import (
    PROTECTION_GRACE_S,
    closing_budget,
    price_problems,
    request_width,
)
from tests.engine.stateful import NORMAL_DAY, Choice, Rig
from tests.support.sim import MONDAY

CONDOR = IronCondor(MONDAY, Decimal(5900), Decimal(5910), Decimal(6010), Decimal(6020), 2)


@dataclass
class Working:
    """The little of a SimOrder the budget reads."""

    order_id: int
    request: OrderRequest
    filled: int = 0

    @property
    def remaining(self) -> int:
        return self.request.quantity - self.filled

    @property
    def legs(self) -> tuple[tuple[object, int], ...]:
        return tuple(
            (leg.contract, 1 if leg.action.value == "BUY" else -1) for leg in self.request.legs
        )


def pair(gen: int, trigger: str, group: str) -> tuple[OrderRequest, OrderRequest]:
    return stop_orders(
        CONDOR,
        trigger=Decimal(trigger),
        limit=Decimal(trigger) + Decimal("0.50"),
        backup_trigger=Decimal(trigger) + Decimal("0.30"),
        limit_ref=f"cd:c1:stop-limit.{gen}",
        market_ref=f"cd:c1:stop-market.{gen}",
        oca_group=group,
    )


def test_an_oca_group_counts_once_and_two_groups_count_twice() -> None:
    one = [Working(i, r) for i, r in enumerate(pair(1, "2.00", "cd:c1:oca.1"))]
    same = one + [Working(5 + i, r) for i, r in enumerate(pair(2, "2.50", "cd:c1:oca.1"))]
    two = one + [Working(5 + i, r) for i, r in enumerate(pair(2, "2.50", "cd:c1:oca.2"))]
    short_put = CONDOR.contracts[1]
    assert closing_budget(one)[(short_put, 1)] == 2  # buys back the 2 short puts, once
    assert closing_budget(same)[(short_put, 1)] == 2
    assert closing_budget(two)[(short_put, 1)] == 4  # two independent groups: twice


def test_a_partly_filled_stop_counts_what_it_has_left() -> None:
    primary, _backup = pair(1, "2.00", "cd:c1:oca.1")
    assert closing_budget([Working(1, primary, filled=1)])[(CONDOR.contracts[0], -1)] == 1


def test_prices_off_the_grid_or_out_of_range_are_reported() -> None:
    good, _ = pair(1, "2.00", "g")
    assert request_width(good) == Decimal(10)
    assert price_problems(good) == []
    off, _ = pair(1, "2.02", "g")
    assert any("off the 0.05 grid" in p for p in price_problems(off))
    # stop_orders refuses prices above the wing width itself: a request changed on the way
    wide = dataclasses.replace(good, stop_price=Decimal("73.15"), limit_price=Decimal("73.65"))
    assert any("outside (0, 10]" in p for p in price_problems(wide))


@pytest.mark.usefixtures("warm_calendar")
def test_a_held_condor_without_a_stop_is_reported_after_the_grace(tmp_path: Path) -> None:
    logger.disable("condordesk")
    rig = Rig(Choice(contracts=1, max_concurrent=1, seed=1), tmp_path)
    try:
        rig.advance_to(datetime.combine(NORMAL_DAY, time(9, 46), ET))
        assert rig.check() == []
        (live,) = rig.engine.desk.live.values()
        rig.link.dead = True  # the engine hangs: nobody re-arms
        for order_id in live.stop_order_ids:
            assert rig.sim.cancel_order_by_hand(order_id)
        rig.advance(PROTECTION_GRACE_S / 2)
        assert rig.check() == []  # within the grace
        rig.advance(PROTECTION_GRACE_S)
        (found,) = rig.check()
        assert found.name == "one-protection" and live.id in found.detail
    finally:
        rig.close()
        logger.enable("condordesk")
