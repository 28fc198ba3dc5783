"""Contract lookups and market data: reqContractDetails, reqSecDefOptParams,
reqMarketDataType, reqMktData (index last/close; options bid/ask then greeks) and
cancelMktData."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.domain.options import OptionContract, OptionQuote, Right
from condordesk.errors import BrokerError
from condordesk.gateway import history
from condordesk.gateway.codec import Field, FieldReader
from condordesk.gateway.contracts import (
    EXCHANGE,
    INDEX_CONID,
    MULTIPLIER,
    TRADING_CLASS,
    WireContract,
    index_details,
    option_details,
    resolve,
)

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client

TICK_PRICE, TICK_OPTION, SNAPSHOT_END, MD_TYPE = 1, 21, 57, 58
BID, ASK, LAST, CLOSE = 1, 2, 4, 9
BID_GREEKS, ASK_GREEKS, MODEL_GREEKS = 10, 11, 13
QUOTE_SIZE = 10
GREEKS_WAIT_S = 3600.0
EXPIRY_DAYS = 14
NO_DEFINITION = "No security definition has been found for the request"


async def _listed(s: Client, contract: OptionContract) -> bool:
    strikes = await s.gateway.broker.option_strikes(contract.expiry)
    return contract.strike in strikes


async def contract_details(s: Client, r: FieldReader) -> None:
    r.skip()  # version
    req_id = r.read_int()
    s.current_req = req_id
    wire = WireContract.read(r)
    target = resolve(wire)
    if target == INDEX_CONID:
        s.send(index_details(req_id))
    elif isinstance(target, OptionContract) and await _listed(s, target):
        s.send(option_details(req_id, target, wire.exchange or EXCHANGE))
    else:
        chain = await _expiry_contracts(s, wire)
        if not chain:
            s.error(req_id, 200, NO_DEFINITION)
            return
        for contract in chain:
            s.send(option_details(req_id, contract, wire.exchange or EXCHANGE))
    s.send([52, 1, req_id])


async def _expiry_contracts(s: Client, wire: WireContract) -> list[OptionContract]:
    """Every listed SPXW option of the expiry a request without a strike names (of its
    right, if given), as TWS enumerates an expiry."""
    if wire.sec_type != "OPT" or wire.strike or wire.con_id:
        return []
    probe = replace(wire, strike=1.0, right=wire.right or "C")
    named = resolve(probe)
    if not isinstance(named, OptionContract):
        return []
    rights = [named.right] if wire.right else [Right.PUT, Right.CALL]
    strikes = sorted(await s.gateway.broker.option_strikes(named.expiry))
    return [OptionContract(named.expiry, k, right) for right in rights for k in strikes]


async def sec_def_opt_params(s: Client, r: FieldReader) -> None:
    req_id = r.read_int()
    s.current_req = req_id
    symbol, _, _, con_id = r.read_str(), r.read_str(), r.read_str(), r.read_int()
    if symbol != "SPX" and con_id != INDEX_CONID:
        s.error(req_id, 200, NO_DEFINITION)
        return
    today = s.gateway.clock.now_et().date()
    expiries: list[date] = []
    strikes: set[Decimal] = set()
    for n in range(EXPIRY_DAYS):
        day = today + timedelta(days=n)
        listed = await s.gateway.broker.option_strikes(day)
        if listed:
            expiries.append(day)
            strikes.update(listed)
    ordered = sorted(strikes)
    for exchange in (EXCHANGE, "CBOE"):
        fields: list[Field] = [75, req_id, exchange, str(INDEX_CONID), TRADING_CLASS, MULTIPLIER]
        fields += [len(expiries), *(f"{d:%Y%m%d}" for d in expiries)]
        fields += [len(ordered), *(repr(float(k)) for k in ordered)]
        s.send(fields)
    s.send([76, req_id])


async def market_data_type(s: Client, r: FieldReader) -> None:
    r.skip()  # version
    s.market_data_type = r.read_int(1)


async def cancel_market_data(s: Client, r: FieldReader) -> None:
    r.skip()  # version
    req_id = r.read_int()
    task = s.md_lines.pop(req_id, None)
    if task is not None:
        task.cancel()


async def market_data(s: Client, r: FieldReader) -> None:
    r.skip()  # version
    req_id = r.read_int()
    s.current_req = req_id
    wire = WireContract.read(r)
    if wire.sec_type == "BAG":
        r.skip(4 * r.read_int())
    if r.read_bool():  # delta-neutral contract
        r.skip(3)
    r.skip()  # generic ticks
    snapshot = r.read_bool()
    target = resolve(wire)
    if target is None or wire.sec_type == "BAG":
        s.error(req_id, 200, NO_DEFINITION)
        return
    if not snapshot and s.gateway.market_data_lines() >= s.gateway.max_lines:
        s.error(req_id, 101, f"Max number of tickers has been reached ({s.gateway.max_lines})")
        return
    s.send([MD_TYPE, 1, req_id, s.market_data_type])
    if isinstance(target, OptionContract):
        task = s.spawn(
            _guarded(s, req_id, snapshot, lambda first: _option_line(s, req_id, target, first))
        )
    else:
        task = s.spawn(_guarded(s, req_id, snapshot, lambda _: _index_line(s, req_id)))
    if not snapshot:
        s.md_lines[req_id] = task


def _price(req_id: int, tick: int, price: Field, size: int = 0) -> list[Field]:
    return [TICK_PRICE, 6, req_id, tick, price, size, 0]


async def _index_line(s: Client, req_id: int) -> None:
    """One round of index ticks: last and close."""
    spot = await s.gateway.broker.underlying_price()
    if req_id not in s.index_close:  # the previous session's close (the level now, unknown)
        s.index_close[req_id] = await history.prior_close(s) or spot
    close = s.index_close[req_id]
    s.send(_price(req_id, LAST, spot, 1))
    s.send(_price(req_id, CLOSE, close))


async def _guarded(
    s: Client, req_id: int, snapshot: bool, one_round: Callable[[bool], Awaitable[None]]
) -> None:
    """Run rounds of a line: once for a snapshot (then always tickSnapshotEnd), else every
    ``quote_interval_s``. While the broker link is down a streaming line just waits."""
    first = True
    try:
        while True:
            try:
                await one_round(first)
            except BrokerError:
                if snapshot:
                    return
            if snapshot:
                return
            first = False
            await s.gateway.clock.sleep(s.gateway.quote_interval_s)
    finally:
        s.index_close.pop(req_id, None)
        if snapshot:
            s.send([SNAPSHOT_END, 1, req_id])


def _greeks(req_id: int, tick: int, quote: OptionQuote, price: Field, und: Decimal) -> list[Field]:
    g = quote.greeks
    assert g is not None
    return [TICK_OPTION, req_id, tick, 1, g.iv, g.delta, price, 0.0, g.gamma, g.vega, g.theta, und]


async def _send_quote(s: Client, req_id: int, contract: OptionContract) -> bool:
    quotes = await s.gateway.broker.option_quotes([contract], timeout=0.0)
    quote = quotes.get(contract)
    if quote is None:
        return False
    if quote.bid is not None:
        s.send(_price(req_id, BID, quote.bid, QUOTE_SIZE))
    if quote.ask is not None:
        s.send(_price(req_id, ASK, quote.ask, QUOTE_SIZE))
    return True


async def _send_greeks(s: Client, req_id: int, contract: OptionContract) -> None:
    quotes = await s.gateway.broker.option_quotes([contract], timeout=GREEKS_WAIT_S)
    quote = quotes.get(contract)
    if quote is None or quote.greeks is None:
        return
    und = await s.gateway.broker.underlying_price()
    mid = quote.mid
    s.send(_greeks(req_id, MODEL_GREEKS, quote, -1.0 if mid is None else mid, und))
    if quote.bid is not None:
        s.send(_greeks(req_id, BID_GREEKS, quote, quote.bid, und))
    if quote.ask is not None:
        s.send(_greeks(req_id, ASK_GREEKS, quote, quote.ask, und))


async def _option_line(s: Client, req_id: int, contract: OptionContract, first: bool) -> None:
    """One round of option ticks: bid/ask now, greeks after the simulator's latency (and,
    on the first round, the slow-greeks fault's extra delay)."""
    if not await _send_quote(s, req_id, contract):  # not quoted now (session closed)
        return
    delay = s.gateway.faults.greeks_delay() if first else 0.0
    if delay > 0:
        await s.gateway.clock.sleep(delay)
    await _send_greeks(s, req_id, contract)
