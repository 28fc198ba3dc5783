"""The exit budget arithmetic (condordesk.engine.budget): exits never exceed what is held."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from condordesk.domain.combo import close_order, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    OrderReport,
    OrderRequest,
    OrderStatus,
    Position,
)
from condordesk.engine.budget import leg_flows, overruns

CONDOR = IronCondor(date(2026, 12, 7), Decimal(5900), Decimal(5910), Decimal(6090), Decimal(6100))


def held(units: int, condor: IronCondor = CONDOR) -> list[Position]:
    """The positions of ``units`` short condors."""
    return [Position(c, condor.position_sign(c) * units) for c in condor.contracts if units]


def pair(group: str, units: int = 1, gen: int = 1) -> tuple[OrderRequest, OrderRequest]:
    sized = replace(CONDOR, quantity=units)
    return stop_orders(
        sized,
        trigger=Decimal("2.30"),
        limit=Decimal("2.80"),
        backup_trigger=Decimal("3.30"),
        limit_ref=f"cd:c1:stop-limit.{gen}",
        market_ref=f"cd:c1:stop-market.{gen}",
        oca_group=group,
    )


def working(*requests: OrderRequest, first_id: int = 10) -> list[OrderReport]:
    return [
        OrderReport(first_id + i, 0, r.order_ref, OrderStatus.WORKING, 0, r.quantity, None, r)
        for i, r in enumerate(requests)
    ]


def test_a_closing_order_trades_against_every_leg_held() -> None:
    close = close_order(CONDOR, Decimal("1.00"), "cd:c1:close")
    flows = leg_flows(close, 2)
    assert {c: flows[c] for c in CONDOR.contracts} == {
        c: -2 * CONDOR.position_sign(c) for c in CONDOR.contracts
    }


def test_a_stop_pair_in_one_oca_group_fits_one_unit() -> None:
    primary, backup = pair("g1")
    assert overruns(held(1), [], primary) == []
    assert overruns(held(1), working(primary), backup) == []  # the group counts once


def test_a_second_pair_in_another_group_would_buy_back_twice() -> None:
    old = pair("g1")
    new_primary, _ = pair("g2", gen=2)
    over = overruns(held(1), working(*old), new_primary)
    assert {o.contract for o in over} == set(CONDOR.contracts)
    assert {(o.held, o.working, o.adding) for o in over} == {(1, 1, 1)}
    assert "1 held, working exits could take 1, this order 1 more" in str(over[0])


def test_a_close_outside_the_group_adds_to_the_stops() -> None:
    stops = pair("g1")
    close = close_order(CONDOR, Decimal("1.00"), "cd:c1:close")
    assert overruns(held(1), working(*stops), close) != []
    assert overruns(held(1), working(*stops), replace(close, oca_group="g1")) == []


def test_a_modification_replaces_the_order_it_modifies() -> None:
    primary, backup = pair("g1")
    orders = working(primary, backup)
    moved = replace(primary, stop_price=Decimal("2.50"), limit_price=Decimal("3.00"))
    assert overruns(held(1), orders, moved, replacing=orders[0].order_id) == []
    bigger = replace(moved, quantity=2)
    assert overruns(held(1), orders, bigger, replacing=orders[0].order_id) != []


def test_nothing_held_means_no_exit_at_all() -> None:
    primary, _ = pair("g1")
    over = overruns([], [], primary)
    assert len(over) == 4 and {o.held for o in over} == {0}


def test_fewer_units_at_the_broker_than_the_order_covers() -> None:
    primary, _ = pair("g1", units=3)
    over = overruns(held(2), [], primary)
    assert {(o.held, o.working, o.adding) for o in over} == {(2, 0, 3)}
    assert overruns(held(3), [], primary) == []


def test_an_order_on_the_wrong_side_would_reverse_the_position() -> None:
    primary, _ = pair("g1")
    opening = replace(
        primary, legs=tuple(replace(leg, action=leg.action.opposite()) for leg in primary.legs)
    )
    assert len(overruns(held(1), [], opening)) == 4


def test_partly_filled_and_finished_orders_count_what_they_can_still_do() -> None:
    primary, backup = pair("g1", units=2)
    part = [
        OrderReport(10, 0, primary.order_ref, OrderStatus.WORKING, 1, 1, None, primary),
        OrderReport(11, 0, backup.order_ref, OrderStatus.CANCELLED, 0, 2, None, backup),
    ]
    one_more = replace(close_order(CONDOR, Decimal("1.00"), "cd:c1:close"), quantity=1)
    assert overruns(held(2), part, one_more) == []  # 1 can still fill + 1 = 2 held
    two_more = replace(one_more, quantity=2)
    assert overruns(held(2), part, two_more) != []


def test_condors_sharing_a_strike_the_other_way_round_are_each_counted_on_their_own() -> None:
    """One condor's long 5910P is another's short 5910P: the account shows 5910P flat, yet
    each may protect its own legs; a third exit on top of them may not."""
    other = IronCondor(CONDOR.expiry, Decimal(5910), Decimal(5920), Decimal(6100), Decimal(6110))
    both = held(1) + held(1, other)
    net: dict[OptionContract, int] = {}
    for p in both:
        net[p.contract] = net.get(p.contract, 0) + p.quantity
    account = [Position(c, q) for c, q in net.items() if q]
    mine = {c: other.position_sign(c) for c in other.contracts}  # what the other one holds
    primary, backup = pair("cd:c1:oca.1")
    assert overruns(account, [], primary, owner="cd:c1:", others=mine) == []
    assert overruns(account, [], primary) != []  # counted for the account alone: refused
    stops = working(primary, backup)
    second, _ = pair("cd:c1:oca.2", gen=2)
    assert overruns(account, stops, second, owner="cd:c1:", others=mine) != []


def test_only_the_condor_s_own_orders_count_against_it() -> None:
    primary, _ = pair("g1")
    foreign = replace(primary, order_ref="cd:c9:stop-limit", oca_group="g9")
    assert overruns(held(1), working(foreign), primary, owner="cd:c1:") == []
    assert overruns(held(1), working(foreign), primary) != []
