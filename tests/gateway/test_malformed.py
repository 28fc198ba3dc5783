"""Malformed input gets TWS's answers (error 320 in TWS's words, for the order id of a
truncated placeOrder; 110 in TWS's words for an off-tick option, not the combo wording) and
a read timeout: a body shorter than its length prefix ends the connection, never a hang."""

from __future__ import annotations

import asyncio
import struct

from ib_async import IB, LimitOrder, Option

from condordesk.gateway import Gateway
from condordesk.gateway.translate import OFF_TICK
from tests.gateway.conftest import MONDAY, TIMEOUT, wait_for
from tests.gateway.test_funds import _message, _raw_session
from tests.gateway.test_orders import _condor


def _frame(*fields: str) -> bytes:
    body = b"".join(f.encode() + b"\0" for f in fields)
    return struct.pack(">I", len(body)) + body


async def _error(reader: asyncio.StreamReader) -> list[str]:
    """The next error message that is not a farm notice."""
    while True:
        msg = await _message(reader)
        if msg[0] == "4" and msg[3] not in ("2104", "2106", "2158"):
            return msg


async def test_a_body_shorter_than_its_prefix_times_out(gateway: Gateway) -> None:
    reader, writer = await _raw_session(gateway.port)
    try:
        writer.write(struct.pack(">I", 100) + b"49\x001\x00")
        error = await _error(reader)
        assert error[3] == "320" and "truncated" in error[4]
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""  # closed by the gateway
    finally:
        writer.close()


async def test_a_bad_number_gets_tws_wording_for_its_order_id(gateway: Gateway) -> None:
    reader, writer = await _raw_session(gateway.port)
    try:
        contract = ["0", "SPX", "OPT", f"{MONDAY:%Y%m%d}", "xyz", "P", "100", "SMART", "", "USD"]
        writer.write(_frame("3", "41", *contract, "", "SPXW", "", "", "BUY", "1", "LMT"))
        error = await _error(reader)
        assert error[2:4] == ["41", "320"]
        assert error[4] == (
            "Error reading request. Unable to parse data. "
            'java.lang.NumberFormatException: For input string: "xyz"'
        )
        writer.write(_frame("3", "42"))  # truncated right after the order id
        error = await _error(reader)
        assert error[2:4] == ["42", "320"]
        assert "could not" not in error[4] and "too short" not in error[4]
    finally:
        writer.close()


async def test_an_off_tick_option_limit_gets_tws_wording(gateway: Gateway, ib: IB) -> None:
    target = (await _condor(gateway))[1]
    option = Option("SPX", f"{MONDAY:%Y%m%d}", float(target.strike), "P", "SMART")
    option.tradingClass = "SPXW"
    trade = ib.placeOrder(option, LimitOrder("BUY", 1, 1.03))
    await wait_for(ib, lambda: any(e.errorCode == 110 for e in trade.log))
    messages = [e.message for e in trade.log if e.errorCode == 110]
    assert len(messages) == 1 and messages[0].endswith(OFF_TICK) and "combo" not in messages[0]
