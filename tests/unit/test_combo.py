"""The iron condor, its combo orders (sign convention) and its life cycle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import product

import pytest

from condordesk.domain.combo import (
    close_order,
    closing_legs,
    combo_price,
    entry_order,
    is_capped_backup,
    stop_orders,
)
from condordesk.domain.condor import (
    CondorState,
    IllegalTransition,
    IronCondor,
    check_transition,
)
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import ComboLeg, OrderAction, OrderRequest, OrderType, TimeInForce

D = Decimal
EXPIRY = date(2026, 11, 27)


def condor(
    lp: str = "5950", sp: str = "5960", sc: str = "6040", lc: str = "6050", quantity: int = 1
) -> IronCondor:
    return IronCondor(EXPIRY, D(lp), D(sp), D(sc), D(lc), quantity)


def contract(strike: str, right: Right) -> OptionContract:
    return OptionContract(EXPIRY, D(strike), right)


# leg mid prices: credit = 1.30 + 1.20 - 0.50 - 0.40 = 1.60
LEG_PRICES = {
    contract("5950", Right.PUT): D("0.50"),
    contract("5960", Right.PUT): D("1.30"),
    contract("6040", Right.CALL): D("1.20"),
    contract("6050", Right.CALL): D("0.40"),
}
CREDIT = D("1.60")


# --- the condor -----------------------------------------------------------------------------


def test_condor_shape() -> None:
    ic = condor(quantity=2)

    assert ic.put_width == D(10)
    assert ic.call_width == D(10)
    assert [c.strike for c in ic.contracts] == [D(5950), D(5960), D(6040), D(6050)]
    assert [c.right for c in ic.contracts] == [Right.PUT, Right.PUT, Right.CALL, Right.CALL]
    assert all(c.expiry == EXPIRY for c in ic.contracts)
    assert ic.label() == "5950/5960P 6040/6050C"


def test_held_legs_are_long_wings_and_short_body() -> None:
    ic = condor()
    actions = [(leg.contract.strike, leg.action, leg.ratio) for leg in ic.short_legs()]

    assert actions == [
        (D(5950), OrderAction.BUY, 1),
        (D(5960), OrderAction.SELL, 1),
        (D(6040), OrderAction.SELL, 1),
        (D(6050), OrderAction.BUY, 1),
    ]
    assert ic.position_sign(contract("5950", Right.PUT)) == 1
    assert ic.position_sign(contract("5960", Right.PUT)) == -1
    assert ic.position_sign(contract("6040", Right.CALL)) == -1
    assert ic.position_sign(contract("6050", Right.CALL)) == 1
    assert ic.position_sign(contract("5960", Right.CALL)) == 0  # right strike, wrong right
    assert ic.position_sign(OptionContract(date(2026, 11, 30), D(5960), Right.PUT)) == 0


@pytest.mark.parametrize(
    ("lp", "sp", "sc", "lc"),
    [
        ("5960", "5960", "6040", "6050"),  # long put not below short put
        ("5970", "5960", "6040", "6050"),
        ("5950", "5960", "5960", "6050"),  # short put not below short call
        ("5950", "6045", "6040", "6050"),
        ("5950", "5960", "6040", "6040"),  # long call not above short call
        ("5950", "5960", "6050", "6040"),
        ("6050", "6040", "5960", "5950"),  # all reversed
    ],
)
def test_invalid_strikes_are_rejected(lp: str, sp: str, sc: str, lc: str) -> None:
    with pytest.raises(ValueError, match="long put < short put < short call < long call"):
        condor(lp, sp, sc, lc)


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_must_be_positive(quantity: int) -> None:
    with pytest.raises(ValueError, match="quantity"):
        condor(quantity=quantity)


# --- value at expiry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spot", "value"),
    [
        ("6000", "0"),  # between the shorts
        ("5960", "0"),  # at the short put
        ("6040", "0"),  # at the short call
        ("5957.50", "2.50"),
        ("5955", "5"),
        ("5950", "10"),  # at the long put: full width
        ("5900", "10"),  # beyond the put wing: capped
        ("0", "10"),
        ("6043.25", "3.25"),
        ("6050", "10"),
        ("6500", "10"),  # beyond the call wing: capped
    ],
)
def test_value_at_expiry(spot: str, value: str) -> None:
    assert condor().value_at_expiry(D(spot)) == D(value)


def test_value_at_expiry_with_unequal_wings() -> None:
    ic = condor("5945", "5960", "6040", "6045")  # 15-wide puts, 5-wide calls

    assert ic.value_at_expiry(D(5000)) == D(15)
    assert ic.value_at_expiry(D(7000)) == D(5)
    assert ic.max_loss_points(D("1.60")) == D("13.40")


def test_breakevens_and_max_loss() -> None:
    ic = condor()

    assert ic.max_loss_points(CREDIT) == D("8.40")
    # P&L per unit at expiry is credit - value: zero at short strike -/+ credit
    assert ic.value_at_expiry(ic.short_put - CREDIT) == CREDIT
    assert ic.value_at_expiry(ic.short_call + CREDIT) == CREDIT
    worst = max(CREDIT - ic.value_at_expiry(D(s)) for s in range(5800, 6201))
    best = min(CREDIT - ic.value_at_expiry(D(s)) for s in range(5800, 6201))
    assert worst == CREDIT  # max profit is the credit
    assert best == -ic.max_loss_points(CREDIT)


# --- the combo sign convention --------------------------------------------------------------


def test_held_legs_price_to_minus_the_credit() -> None:
    assert combo_price(condor().short_legs(), LEG_PRICES) == -CREDIT


def test_closing_legs_invert_every_action_and_price_to_plus_the_debit() -> None:
    ic = condor()
    closing = closing_legs(ic)

    assert [leg.contract for leg in closing] == [leg.contract for leg in ic.short_legs()]
    assert [leg.action for leg in closing] == [
        OrderAction.SELL,
        OrderAction.BUY,
        OrderAction.BUY,
        OrderAction.SELL,
    ]
    assert [leg.ratio for leg in closing] == [1, 1, 1, 1]
    assert combo_price(closing, LEG_PRICES) == CREDIT


def test_combo_price_respects_ratios() -> None:
    ic = condor()
    doubled = [ComboLeg(leg.contract, leg.action, 2) for leg in ic.short_legs()]

    assert combo_price(doubled, LEG_PRICES) == -2 * CREDIT


def test_entry_order_buys_the_held_legs_at_minus_the_credit() -> None:
    ic = condor(quantity=3)

    order = entry_order(ic, CREDIT, "cd:abc:entry")

    assert order.order_ref == "cd:abc:entry"
    assert order.action is OrderAction.BUY
    assert order.legs == ic.short_legs()
    assert order.order_type is OrderType.LIMIT
    assert order.limit_price == -CREDIT
    assert order.stop_price is None
    assert order.quantity == 3
    assert order.tif is TimeInForce.FOK
    assert order.oca_group == ""
    # the limit is what the legs price to at the quotes that give that credit
    assert order.limit_price == combo_price(order.legs, LEG_PRICES)


@pytest.mark.parametrize("credit", ["0", "-1.60"])
def test_entry_order_needs_a_positive_credit(credit: str) -> None:
    with pytest.raises(ValueError, match="credit"):
        entry_order(condor(), D(credit), "cd:abc:entry")


def test_close_order_buys_the_inverted_legs_at_plus_the_debit() -> None:
    ic = condor(quantity=2)

    order = close_order(ic, D("0.05"), "cd:abc:close")

    assert order.action is OrderAction.BUY
    assert order.legs == closing_legs(ic)
    assert order.order_type is OrderType.LIMIT
    assert order.limit_price == D("0.05")
    assert order.quantity == 2
    assert order.tif is TimeInForce.DAY
    assert close_order(ic, D("0.05"), "cd:abc:close", quantity=1).quantity == 1
    assert close_order(ic, D(0), "cd:abc:close").limit_price == D(0)


def test_close_order_rejects_a_negative_debit() -> None:
    with pytest.raises(ValueError, match="debit"):
        close_order(condor(), D("-0.05"), "cd:abc:close")


def test_stop_pair_shares_one_oca_group_on_the_closing_combo() -> None:
    ic = condor(quantity=2)

    primary, backup = stop_orders(
        ic,
        trigger=D("3.20"),
        limit=D("3.60"),
        backup_trigger=D("3.40"),
        limit_ref="cd:abc:stop-limit",
        market_ref="cd:abc:stop-market",
        oca_group="cd:abc:stops",
    )

    assert primary.oca_group == backup.oca_group == "cd:abc:stops"
    for order in (primary, backup):
        assert order.action is OrderAction.BUY
        assert order.legs == closing_legs(ic)
        assert order.quantity == 2
        assert order.tif is TimeInForce.DAY
    assert primary.order_type is OrderType.STOP_LIMIT
    assert (primary.stop_price, primary.limit_price) == (D("3.20"), D("3.60"))
    assert primary.order_ref == "cd:abc:stop-limit"
    # the backup: a stop whose limit is the most the condor can be worth (its 10-point wing)
    assert backup.order_type is OrderType.STOP_LIMIT
    assert (backup.stop_price, backup.limit_price) == (D("3.40"), D("10"))
    assert backup.order_ref == "cd:abc:stop-market"
    assert is_capped_backup(ic, backup) and not is_capped_backup(ic, primary)


def test_the_backup_is_capped_at_the_wider_wing_of_an_uneven_condor() -> None:
    ic = condor(lp="5945", sp="5960", sc="6040", lc="6050")  # 15-point puts, 10-point calls

    _, backup = stop_orders(
        ic,
        trigger=D("3.20"),
        limit=D("3.60"),
        backup_trigger=D("3.40"),
        limit_ref="cd:abc:stop-limit",
        market_ref="cd:abc:stop-market",
        oca_group="g",
    )

    assert ic.max_value == D("15")
    assert backup.limit_price == D("15")
    assert not is_capped_backup(condor(), backup)  # a 10-point condor's cap is 10


def test_a_backup_as_a_stop_market_is_not_capped() -> None:
    ic = condor()
    _, backup = stop_orders(
        ic,
        trigger=D("3.20"),
        limit=D("3.60"),
        backup_trigger=D("3.40"),
        limit_ref="cd:abc:stop-limit",
        market_ref="cd:abc:stop-market",
        oca_group="g",
    )
    market = OrderRequest(
        backup.order_ref,
        backup.legs,
        backup.action,
        OrderType.STOP,
        backup.quantity,
        backup.tif,
        stop_price=backup.stop_price,
        oca_group=backup.oca_group,
    )

    assert not is_capped_backup(ic, market)


@pytest.mark.parametrize(
    ("limit", "backup_trigger", "what"),
    [("10.05", "3.40", "stop limit"), ("3.60", "10.05", "backup trigger")],
)
def test_no_stop_price_above_what_the_condor_can_be_worth(
    limit: str, backup_trigger: str, what: str
) -> None:
    with pytest.raises(ValueError, match=f"{what} .* above 10"):
        stop_orders(
            condor(),
            trigger=D("3.20"),
            limit=D(limit),
            backup_trigger=D(backup_trigger),
            limit_ref="cd:abc:stop-limit",
            market_ref="cd:abc:stop-market",
            oca_group="g",
        )


def test_stop_limit_may_equal_its_trigger_but_not_sit_below_it() -> None:
    def stops(trigger: str, limit: str) -> tuple[OrderRequest, OrderRequest]:
        return stop_orders(
            condor(),
            trigger=D(trigger),
            limit=D(limit),
            backup_trigger=D("3.40"),
            limit_ref="cd:abc:stop-limit",
            market_ref="cd:abc:stop-market",
            oca_group="g",
        )

    primary, _ = stops("3.20", "3.20")
    assert primary.limit_price == D("3.20")
    with pytest.raises(ValueError, match="at or above its trigger"):
        stops("3.20", "3.15")


# --- life cycle -----------------------------------------------------------------------------

LEGAL = {
    (CondorState.WORKING, CondorState.OPEN),
    (CondorState.WORKING, CondorState.CANCELLED),
    (CondorState.OPEN, CondorState.CLOSING),
    (CondorState.OPEN, CondorState.CLOSED),  # stop filled / settled
    (CondorState.CLOSING, CondorState.CLOSED),
    (CondorState.CLOSING, CondorState.OPEN),  # close failed
}
ILLEGAL = sorted(set(product(CondorState, CondorState)) - LEGAL)


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_legal_transitions(current: CondorState, new: CondorState) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(("current", "new"), ILLEGAL)
def test_illegal_transitions(current: CondorState, new: CondorState) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {new}"):
        check_transition(current, new)


def test_illegal_transitions_include_the_dangerous_ones() -> None:
    assert (CondorState.CLOSED, CondorState.OPEN) in ILLEGAL
    assert (CondorState.CANCELLED, CondorState.OPEN) in ILLEGAL
    assert (CondorState.WORKING, CondorState.CLOSED) in ILLEGAL
    assert (CondorState.OPEN, CondorState.OPEN) in ILLEGAL
    assert issubclass(IllegalTransition, ValueError)


def test_live_states() -> None:
    live = {s for s in CondorState if s.is_live}
    assert live == {CondorState.WORKING, CondorState.OPEN, CondorState.CLOSING}
