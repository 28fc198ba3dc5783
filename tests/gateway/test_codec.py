"""Unit tests of the wire codec and the contract table (no sockets)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from condordesk.domain.options import OptionContract, Right
from condordesk.gateway.codec import (
    FieldReader,
    ProtocolError,
    encode,
    parse_versions,
    read_body,
    read_hello,
    split_fields,
    text,
)
from condordesk.gateway.contracts import (
    INDEX_CONID,
    WireContract,
    local_symbol,
    option_conid,
    option_from_conid,
    resolve,
)


def test_field_text() -> None:
    assert text(None) == ""
    assert text(True) == "1"
    assert text(False) == "0"
    assert text(7) == "7"
    assert text(Decimal("-1.10")) == "-1.1"
    assert text(0.5) == "0.5"


def test_encode_and_split_round_trip() -> None:
    msg = encode([9, 1, 42, "", "a b"])
    assert msg[:4] == (len(msg) - 4).to_bytes(4, "big")
    assert split_fields(msg[4:]) == ["9", "1", "42", "", "a b"]


async def test_read_hello_and_body() -> None:
    reader = asyncio.StreamReader()
    hello = b"v157..178 +PACEAPI"
    reader.feed_data(b"API\0" + len(hello).to_bytes(4, "big") + hello + encode([71, 2, 3, ""]))
    reader.feed_eof()
    assert parse_versions(await read_hello(reader)) == (157, 178)
    assert split_fields(await read_body(reader)) == ["71", "2", "3", ""]


async def test_bad_hello() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ProtocolError):
        await read_hello(reader)
    with pytest.raises(ProtocolError):
        parse_versions("vX..Y")


def test_field_reader() -> None:
    r = FieldReader(["5000.0", "", "1.7976931348623157e+308", "-1.1", "1", "x"])
    assert r.read_int() == 5000
    assert r.read_float() is None
    assert r.read_decimal() is None  # IB's unset double
    assert r.read_decimal() == Decimal("-1.1")
    assert r.read_bool() is True
    assert r.remaining == 1
    r.skip()
    with pytest.raises(ProtocolError):
        r.read_str()


@pytest.mark.parametrize(
    ("expiry", "strike", "right"),
    [(date(2025, 3, 3), 5000, Right.PUT), (date(2026, 11, 27), 6125, Right.CALL)],
)
def test_conid_round_trip(expiry: date, strike: int, right: Right) -> None:
    contract = OptionContract(expiry, Decimal(strike), right)
    con_id = option_conid(contract)
    assert con_id < 2**31
    assert option_from_conid(con_id) == contract
    assert option_from_conid(INDEX_CONID) is None


def _wire(**kw: object) -> WireContract:
    values: dict[str, object] = {
        "con_id": 0,
        "symbol": "SPX",
        "sec_type": "OPT",
        "last_trade": "20250303",
        "strike": 5000.0,
        "right": "P",
        "multiplier": "100",
        "exchange": "SMART",
        "primary_exchange": "",
        "currency": "USD",
        "local_symbol": "",
        "trading_class": "SPXW",
    }
    values.update(kw)
    return WireContract(**values)  # type: ignore[arg-type]


def test_resolve() -> None:
    put = OptionContract(date(2025, 3, 3), Decimal(5000), Right.PUT)
    assert resolve(_wire()) == put
    assert resolve(_wire(right="PUT")) == put
    assert resolve(_wire(con_id=option_conid(put), symbol="", sec_type="")) == put
    assert resolve(_wire(sec_type="IND", last_trade="", strike=None)) == INDEX_CONID
    assert resolve(_wire(trading_class="SPX")) is None  # AM-settled monthlies are not listed
    assert resolve(_wire(symbol="AAPL")) is None
    assert resolve(_wire(last_trade="")) is None
    assert local_symbol(put) == "SPXW  250303P05000000"
