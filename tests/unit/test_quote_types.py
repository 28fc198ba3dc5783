"""Greeks and OptionQuote fill their slots directly in ``__init__``: nothing else changes.

The simulator builds one of each per option per tick it is asked about; their ``__init__``
skips the frozen dataclass's ``object.__setattr__`` per field. Construction (positional,
by keyword, the default), equality, hash, repr, frozenness, ``replace``, copy and pickle
must be what the plain frozen dataclass gives.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from condordesk.domain.options import Greeks, OptionContract, OptionQuote, Right

TS = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
CONTRACT = OptionContract(date(2026, 11, 27), Decimal(6000), Right.PUT)


@dataclasses.dataclass(frozen=True, slots=True)
class PlainGreeks:
    """What Greeks was: the dataclass's own __init__."""

    delta: float
    gamma: float
    theta: float
    vega: float
    iv: float


def _quote(**changes: Any) -> OptionQuote:
    greeks = Greeks(-0.1, 0.01, -3, 0.4, 0.2)
    quote = OptionQuote(CONTRACT, Decimal("1.05"), Decimal("1.15"), greeks, TS)
    return dataclasses.replace(quote, **changes)


def test_greeks_are_built_by_position_or_keyword_with_every_field_set() -> None:
    by_position = Greeks(-0.12, 0.003, -4.5, 0.7, 0.18)
    by_keyword = Greeks(iv=0.18, vega=0.7, theta=-4.5, gamma=0.003, delta=-0.12)
    assert by_position == by_keyword
    assert dataclasses.astuple(by_position) == (-0.12, 0.003, -4.5, 0.7, 0.18)
    plain = PlainGreeks(-0.12, 0.003, -4.5, 0.7, 0.18)
    assert repr(by_position) == repr(plain).replace("PlainGreeks", "Greeks")
    assert hash(by_position) == hash(plain)
    assert by_position != Greeks(-0.12, 0.003, -4.5, 0.7, 0.19)
    with pytest.raises(TypeError):
        Greeks(-0.12, 0.003, -4.5, 0.7)  # type: ignore[call-arg]


def test_a_quote_takes_its_fields_and_defaults_greeks_ts_to_none() -> None:
    greeks = Greeks(-0.1, 0.01, -3.0, 0.4, 0.2)
    quote = OptionQuote(CONTRACT, Decimal("1.05"), None, greeks, TS)
    assert (quote.contract, quote.bid, quote.ask, quote.greeks, quote.ts) == (
        CONTRACT,
        Decimal("1.05"),
        None,
        greeks,
        TS,
    )
    assert quote.greeks_ts is None
    assert quote.mid is None
    keyed = OptionQuote(
        contract=CONTRACT, bid=Decimal("1.05"), ask=None, greeks=greeks, ts=TS, greeks_ts=TS
    )
    assert keyed.greeks_ts == TS
    assert keyed != quote
    assert dataclasses.replace(keyed, greeks_ts=None) == quote


@pytest.mark.parametrize("value", [Greeks(1.0, 2.0, 3.0, 4.0, 5.0), _quote()])
def test_frozen_copied_pickled_and_replaced_as_a_dataclass(value: object) -> None:
    first = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, first, None)
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value
    restored = pickle.loads(pickle.dumps(value))
    assert restored == value
    assert hash(restored) == hash(value)
    assert repr(restored) == repr(value)
    assert not hasattr(value, "__dict__")


def test_quote_fields_order_and_repr_are_unchanged() -> None:
    assert [f.name for f in dataclasses.fields(OptionQuote)] == [
        "contract",
        "bid",
        "ask",
        "greeks",
        "ts",
        "greeks_ts",
    ]
    assert OptionQuote.__match_args__ == ("contract", "bid", "ask", "greeks", "ts", "greeks_ts")
    assert repr(_quote(greeks=None, bid=None)).startswith(
        "OptionQuote(contract=OptionContract(expiry=datetime.date(2026, 11, 27), "
        "strike=Decimal('6000'), right=<Right.PUT: 'P'>), bid=None, ask=Decimal('1.15'), "
        "greeks=None, ts=datetime.datetime(2026, 11, 27, 15, 30, tzinfo=datetime.timezone.utc), "
        "greeks_ts=None)"
    )
    assert _quote().mid == Decimal("1.10")
