"""A fingerprint of everything the simulator produces, to prove a speed change changes nothing.

Hashes, for fixed seeds:

* ``market``: every tick of a few sessions (one a shortened day, one with a gap), the
  index, the at-the-money vol, the expected move, the implied vol of a few strikes, and the
  full quote (bid, ask, every greek, bit for bit) of a fixed set of strikes, same-day and
  next-day expiries, asked both one at a time and as lazily computed series;
* ``broker``: a few sessions of the broker with condors, OCA stop pairs, a gap and an
  engine-like monitor quoting the legs every 10 s with a greeks latency, missing greeks
  and partial fills: every quote and every broker event, in order.

    .venv/bin/python benchmarks/sim_fingerprint.py

Prints one hash per part; compare the output before and after a change.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.combo import close_order, closing_legs, entry_order
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, OptionQuote, Right
from condordesk.domain.orders import OrderAction, OrderRequest, OrderType, TimeInForce
from condordesk.errors import OrderRejected
from condordesk.market.clock import ET, SimClock
from condordesk.market.vtime import run_virtual

FIRST = date(2025, 3, 3)
SHORT_DAY = date(2025, 3, 5)


def sessions(day: date) -> tuple[datetime, datetime] | None:
    """Weekdays 09:30-16:00 ET, one of them closing at 13:00."""
    if day.weekday() >= 5:
        return None
    close = dtime(13) if day == SHORT_DAY else dtime(16)
    return datetime.combine(day, dtime(9, 30), ET), datetime.combine(day, close, ET)


def trading_days(n: int) -> list[date]:
    """The first ``n`` session days from :data:`FIRST`."""
    days: list[date] = []
    d = FIRST
    while len(days) < n:
        if sessions(d) is not None:
            days.append(d)
        d += timedelta(days=1)
    return days


def quote_text(q: OptionQuote) -> str:
    """Every field of a quote, floats bit for bit."""
    g = q.greeks
    values = () if g is None else (g.delta, g.gamma, g.theta, g.vega, g.iv)
    greeks = ",".join(x.hex() for x in values) if values else "-"
    return f"{q.contract.symbol}|{q.bid}|{q.ask}|{greeks}|{q.ts}|{q.greeks_ts}"


def market_fingerprint(scenario: str, seed: int) -> str:
    """The hash of every tick of three sessions of one market."""
    h = hashlib.sha256()
    market = SimMarket(SimulatorConfig(seed=seed, scenario=scenario))
    days = trading_days(3)
    for n, day in enumerate(days):
        path = market.build_session(day, *sessions(day))  # type: ignore[misc]
        center = round(path.spots[0] / 5) * 5
        nxt = days[n + 1] if n + 1 < len(days) else day + timedelta(days=1)
        contracts = [
            OptionContract(exp, Decimal(center + k), right)
            for exp in (day, nxt)
            for k in range(-150, 155, 50)
            for right in (Right.PUT, Right.CALL)
        ]
        gap_at = path.last // 2 if n == 1 else -1
        for i in range(path.last + 1):
            if i == gap_at:
                market.gap(-0.015 * path.spots[i], path.time_of(i))
            ts = path.time_of(i) + timedelta(seconds=0.5 if i < path.last else 0)
            h.update(f"{i}|{market.spot(ts).hex()}|{market.atm_iv(ts).hex()}".encode())
            h.update(f"{market.expected_move(ts).hex()}".encode())
            h.update(f"{market.implied_vol(center - 60.0, ts).hex()}".encode())
            for c in contracts:
                h.update(quote_text(market.quote(c, ts)).encode())
        for c in contracts:
            series = market.leg_series(c, path)
            series.ensure(path, 0, path.last + 1)
            h.update(f"{series.bids}{series.asks}".encode())
        h.update(f"{market.settlement_price(day)}|{market.strikes(day)[::40]}".encode())
    return h.hexdigest()


def _nickel(price: Decimal) -> Decimal:
    return (price * 20).to_integral_value() / 20


async def _open(broker: SimBroker, day: date, n: int, width: int) -> list[OptionContract]:
    spot = float(await broker.underlying_price())
    sp = int(spot * 0.995) // 5 * 5
    sc = -(-int(spot * 1.005) // 5) * 5
    qty = 2 if n % 2 else 1
    condor = IronCondor(
        day, Decimal(sp - width), Decimal(sp), Decimal(sc), Decimal(sc + width), qty
    )
    quotes = await broker.option_quotes(condor.contracts, timeout=5.0)
    ask = Decimal(0)
    for leg in condor.short_legs():
        q = quotes[leg.contract]
        assert q.bid is not None
        assert q.ask is not None
        ask += q.ask if leg.action is OrderAction.BUY else -q.bid
    if ask >= 0:
        return []
    credit = -ask
    if qty > 1:
        broker.partial_fills(2, 2, 30.0)
    try:
        await broker.place_order(entry_order(condor, credit, f"cd:f{n}:entry"))
    except OrderRejected:
        return []
    target = max(_nickel(credit / 2), Decimal("0.05"))
    await broker.place_order(close_order(condor, target, f"cd:f{n}:target"))
    trigger = _nickel(credit * 2)
    legs = closing_legs(condor)
    for kind, ref, limit, stop in (
        (OrderType.STOP_LIMIT, "stop-limit", trigger + Decimal("0.50"), trigger),
        (OrderType.STOP, "stop-market", None, trigger + Decimal("0.30")),
    ):
        await broker.place_order(
            OrderRequest(
                order_ref=f"cd:f{n}:{ref}",
                legs=legs,
                action=OrderAction.BUY,
                order_type=kind,
                quantity=qty,
                tif=TimeInForce.DAY,
                limit_price=limit,
                stop_price=stop,
                oca_group=f"oca-f{n}",
            )
        )
    return list(condor.contracts)


async def _broker_run(h: hashlib._Hash, seed: int, n_days: int) -> None:
    config = SimulatorConfig(
        seed=seed, scenario="mixed", greeks_latency_s=0.3, greeks_missing_prob=0.05
    )
    days = trading_days(n_days)
    clock = SimClock(datetime.combine(days[0], dtime(9, 25), ET))
    market = SimMarket(config)
    broker = SimBroker(clock, market, sessions)
    stream = broker.events()
    await broker.connect()
    for k, day in enumerate(days):
        legs: list[OptionContract] = []
        for n, (hh, mm) in enumerate(((9, 45), (10, 30), (11, 15), (12, 40))):
            await clock.sleep_until(datetime.combine(day, dtime(hh, mm), ET))
            legs += await _open(broker, day, 10 * k + n, 10 if n % 2 else 5)
            if k == 1 and n == 1:
                market.gap(-25.0, clock.now())
        end = datetime.combine(day, dtime(16, 5), ET)
        while legs and clock.now() < end:
            for q in (await broker.option_quotes(legs, timeout=0.2 + (k % 2))).values():
                h.update(quote_text(q).encode())
            h.update(f"{await broker.underlying_price()}".encode())
            await clock.sleep(10.0)
        await clock.sleep_until(end)
        for report in await broker.open_orders():
            h.update(repr(report).encode())
        h.update(repr(await broker.positions()).encode())
        h.update(repr(await broker.settlement_price(day)).encode())
        await clock.sleep_until(datetime.combine(day + timedelta(days=1), dtime(9, 25), ET))
    for event in stream.drain():
        h.update(repr(event).encode())
    await broker.close()


def broker_fingerprint(seed: int, n_days: int) -> str:
    """The hash of every quote and event of ``n_days`` sessions of the broker."""
    h = hashlib.sha256()
    run_virtual(_broker_run(h, seed, n_days))
    return h.hexdigest()


def main() -> None:
    """Print the fingerprints."""
    for scenario, seed in (("mixed", 7), ("whipsaw", 3), ("calm", 11)):
        print(f"market {scenario:8s} seed {seed:2d}  {market_fingerprint(scenario, seed)}")
    for seed in (7, 12):
        print(f"broker mixed    seed {seed:2d}  {broker_fingerprint(seed, 4)}")


if __name__ == "__main__":
    main()
