"""Scope 2: contract details, option chain parameters and market data."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal

import pytest
from ib_async import IB, Index, Option, Ticker

from condordesk.domain.options import OptionContract, Right
from condordesk.gateway import Gateway
from condordesk.gateway.contracts import INDEX_CONID, option_conid
from tests.gateway.conftest import MONDAY, TIMEOUT, IbErrors, wait_for

EXPIRY = MONDAY.strftime("%Y%m%d")


async def _spot(gateway: Gateway) -> float:
    return float(await gateway.broker.underlying_price())


def _atm(spot: float, offset: int = 0) -> int:
    return int(round(spot / 5) * 5) + offset


async def test_qualify_index_and_options(gateway: Gateway, ib: IB) -> None:
    spot = await _spot(gateway)
    index = Index("SPX", "CBOE")
    put = Option("SPX", EXPIRY, _atm(spot, -50), "P", "SMART", tradingClass="SPXW")
    done = await asyncio.wait_for(ib.qualifyContractsAsync(index, put), TIMEOUT)
    assert [c.conId for c in done] == [
        INDEX_CONID,
        option_conid(OptionContract(MONDAY, Decimal(_atm(spot, -50)), Right.PUT)),
    ]
    assert put.multiplier == "100"
    assert put.tradingClass == "SPXW"
    assert put.localSymbol.startswith("SPXW  250303P")


async def test_unknown_option_is_not_qualified(ib: IB, ib_errors: IbErrors) -> None:
    bogus = Option("SPX", EXPIRY, 3, "P", "SMART", tradingClass="SPXW")
    done = await asyncio.wait_for(ib.qualifyContractsAsync(bogus), TIMEOUT)
    assert done == [None]
    assert any("Error 200" in r.getMessage() for r in ib_errors.records)


async def test_sec_def_opt_params(gateway: Gateway, ib: IB) -> None:
    chains = await asyncio.wait_for(
        ib.reqSecDefOptParamsAsync("SPX", "", "IND", INDEX_CONID), TIMEOUT
    )
    assert {c.exchange for c in chains} == {"SMART", "CBOE"}
    chain = chains[0]
    assert chain.tradingClass == "SPXW"
    assert chain.multiplier == "100"
    assert chain.underlyingConId == str(INDEX_CONID)
    assert EXPIRY in chain.expirations
    assert "20250304" in chain.expirations
    assert "20250308" not in chain.expirations  # a Saturday
    spot = await _spot(gateway)
    assert float(_atm(spot)) in chain.strikes


async def test_index_snapshot(gateway: Gateway, ib: IB) -> None:
    (ticker,) = await asyncio.wait_for(
        ib.reqTickersAsync(Index("SPX", "CBOE", conId=INDEX_CONID)), TIMEOUT
    )
    spot = await _spot(gateway)
    assert abs(ticker.last - spot) < 5
    assert ticker.close > 0


async def test_option_snapshot_matches_the_sim(gateway: Gateway, ib: IB) -> None:
    spot = await _spot(gateway)
    strike = _atm(spot, -30)
    contract = Option("SPX", EXPIRY, strike, "P", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    (ticker,) = await asyncio.wait_for(ib.reqTickersAsync(contract), TIMEOUT)
    ours = OptionContract(MONDAY, Decimal(strike), Right.PUT)
    quote = (await gateway.broker.option_quotes([ours], timeout=0.0))[ours]
    assert quote.bid is not None and quote.ask is not None
    assert abs(ticker.bid - float(quote.bid)) <= 0.10
    assert abs(ticker.ask - float(quote.ask)) <= 0.10
    greeks = ticker.modelGreeks
    assert greeks is not None
    assert -1 < greeks.delta < 0
    assert greeks.gamma > 0 and greeks.impliedVol > 0
    assert math.isfinite(greeks.theta) and math.isfinite(greeks.vega)
    sim = (await gateway.broker.option_quotes([ours], timeout=5.0))[ours].greeks
    assert sim is not None  # the same model, a tick or so later
    assert greeks.delta == pytest.approx(sim.delta, abs=0.03)
    assert greeks.impliedVol == pytest.approx(sim.iv, abs=0.01)
    assert greeks.gamma == pytest.approx(sim.gamma, rel=0.1)
    assert greeks.undPrice == pytest.approx(float(await gateway.broker.underlying_price()), abs=5)


async def test_streaming_option_then_cancel(gateway: Gateway, ib: IB) -> None:
    spot = await _spot(gateway)
    contract = Option("SPX", EXPIRY, _atm(spot, 30), "C", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    ticker: Ticker = ib.reqMktData(contract)
    await wait_for(ib, lambda: ticker.modelGreeks is not None and ticker.bid > 0)
    assert 0 < ticker.modelGreeks.delta < 1
    ib.cancelMktData(contract)


async def test_slow_greeks_arrive_late(gateway: Gateway, ib: IB) -> None:
    gateway.faults.slow_greeks(20.0, 20.0)  # 20 simulated seconds: 1 s of loop time
    spot = await _spot(gateway)
    contract = Option("SPX", EXPIRY, _atm(spot, -20), "P", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    start = gateway.clock.now()
    ticker: Ticker = ib.reqMktData(contract)
    await wait_for(ib, lambda: ticker.bid > 0)
    assert ticker.modelGreeks is None
    await wait_for(ib, lambda: ticker.modelGreeks is not None)
    elapsed = (gateway.clock.now() - start).total_seconds()
    assert elapsed >= 20.0
    ib.cancelMktData(contract)


async def test_too_many_lines(ib_errors: IbErrors, gateway: Gateway, ib: IB) -> None:
    gateway.max_lines = 2
    spot = await _spot(gateway)
    contracts = [
        Option("SPX", EXPIRY, _atm(spot, k), "C", "SMART", tradingClass="SPXW") for k in (0, 5, 10)
    ]
    await asyncio.wait_for(ib.qualifyContractsAsync(*contracts), TIMEOUT)
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
    for c in contracts:
        ib.reqMktData(c)
    await wait_for(ib, lambda: 101 in errors)


async def _snapshot(gateway: Gateway, ib: IB) -> Ticker:
    spot = await _spot(gateway)
    contract = Option("SPX", EXPIRY, _atm(spot, -25), "P", "SMART", tradingClass="SPXW")
    await asyncio.wait_for(ib.qualifyContractsAsync(contract), TIMEOUT)
    (ticker,) = await asyncio.wait_for(ib.reqTickersAsync(contract), TIMEOUT)
    return ticker  # type: ignore[no-any-return]


async def test_missing_greeks_still_end_the_snapshot(gateway: Gateway, ib: IB) -> None:
    gateway.broker.set_greeks_missing(1.0)
    ticker = await _snapshot(gateway, ib)
    assert ticker.bid > 0
    assert ticker.modelGreeks is None


async def test_nan_greeks_decode(gateway: Gateway, ib: IB) -> None:
    gateway.broker.set_nan_greeks(True)
    ticker = await _snapshot(gateway, ib)
    assert ticker.modelGreeks is not None
    assert math.isnan(ticker.modelGreeks.delta)


async def test_contract_details_enumerates_a_whole_expiry(gateway: Gateway, ib: IB) -> None:
    expiry = f"{MONDAY:%Y%m%d}"
    strikes = await gateway.broker.option_strikes(MONDAY)
    every = Option("SPX", expiry, exchange="SMART", tradingClass="SPXW")
    details = await asyncio.wait_for(ib.reqContractDetailsAsync(every), TIMEOUT)
    assert len(details) == 2 * len(strikes) > 0
    assert {d.contract.conId for d in details} == {
        option_conid(OptionContract(MONDAY, k, r)) for k in strikes for r in Right
    }
    puts = Option("SPX", expiry, right="P", exchange="SMART", tradingClass="SPXW")
    details = await asyncio.wait_for(ib.reqContractDetailsAsync(puts), TIMEOUT)
    assert {d.contract.right for d in details} == {"P"} and len(details) == len(strikes)
