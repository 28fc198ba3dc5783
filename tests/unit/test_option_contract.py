"""OptionContract keys many dicts: its hash is worked out once, and nothing else changes."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import date
from decimal import Decimal

from condordesk.domain.options import OptionContract, Right


class CountingDecimal(Decimal):
    """A strike that counts how often it is hashed."""

    hashed = 0

    def __hash__(self) -> int:
        CountingDecimal.hashed += 1
        return super().__hash__()


def _contract(strike: str = "6000", right: Right = Right.PUT) -> OptionContract:
    return OptionContract(date(2026, 11, 27), Decimal(strike), right)


def test_the_hash_is_worked_out_once_and_is_the_fields_tuple_hash() -> None:
    CountingDecimal.hashed = 0
    contract = OptionContract(date(2026, 11, 27), CountingDecimal("6000"), Right.CALL)
    first = hash(contract)
    for _ in range(5):
        assert hash(contract) == first
    assert CountingDecimal.hashed == 1
    assert first == hash((contract.expiry, contract.strike, contract.right))


def test_equality_and_order_are_the_fields_as_before() -> None:
    put = _contract()
    assert put == _contract("6000.0")
    assert hash(put) == hash(_contract("6000.0"))
    assert put != _contract("6005")
    assert put != _contract(right=Right.CALL)
    assert put != OptionContract(date(2026, 11, 30), Decimal(6000), Right.PUT)
    assert put != ("2026-11-27", Decimal(6000), Right.PUT)
    assert put.__eq__(object()) is NotImplemented
    assert sorted([_contract("6010"), put, _contract("5990")]) == [
        _contract("5990"),
        put,
        _contract("6010"),
    ]
    assert {put: 1}.get(_contract("6000")) == 1


def test_fields_replace_copy_and_pickle_see_the_three_fields_only() -> None:
    put = _contract()
    hash(put)
    assert [f.name for f in dataclasses.fields(put)] == ["expiry", "strike", "right"]
    call = dataclasses.replace(put, right=Right.CALL)
    assert call == _contract(right=Right.CALL)
    assert hash(call) == hash((call.expiry, call.strike, call.right))
    for clone in (copy.copy(put), copy.deepcopy(put), pickle.loads(pickle.dumps(put))):
        assert clone == put
        assert hash(clone) == hash(put)
    assert pickle.dumps(put).count(b"_hash") == 0
    assert not hasattr(put, "__dict__")
    assert repr(put) == (
        "OptionContract(expiry=datetime.date(2026, 11, 27), strike=Decimal('6000'), "
        "right=<Right.PUT: 'P'>)"
    )


def test_a_contract_stays_frozen() -> None:
    put = _contract()
    hash(put)
    for name, value in (("expiry", date(2026, 11, 30)), ("strike", Decimal(1))):
        try:
            setattr(put, name, value)
        except dataclasses.FrozenInstanceError:
            continue
        raise AssertionError(f"{name} could be set")
    assert hash(put) == hash((put.expiry, put.strike, put.right))
