"""CPU cost of one simulated session of SimMarket + SimBroker (market, ticker, matching).

Runs whole sessions on the virtual-time loop: at 10:00 and 11:00 ET a 10-delta iron condor
is opened (FOK) and protected by its OCA stop pair (stop-limit + stop-market at 2x and
2.3x the credit), then the clock runs to after the close (settlement). Prints CPU
milliseconds per session for: the market alone (path build), the broker idling through a
session, and the session with two condors and their stops; plus the same with an
engine-like monitor quoting the 8 legs every 10 s (what the engine adds on top).

    .venv/bin/python benchmarks/sim_market_bench.py [sessions]
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config.profile import SimulatorConfig
from condordesk.domain.combo import entry_order, stop_orders
from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import ComboLeg, OrderAction
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.market.clock import ET, SimClock
from condordesk.market.pricing import SECONDS_PER_YEAR, strike_for_delta
from condordesk.market.vtime import run_virtual

FIRST = date(2025, 3, 3)


def sessions(day: date) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5:
        return None
    return datetime.combine(day, dtime(9, 30), ET), datetime.combine(day, dtime(16), ET)


def trading_days(n: int) -> list[date]:
    days, d = [], FIRST
    while len(days) < n:
        if sessions(d) is not None:
            days.append(d)
        d += timedelta(days=1)
    return days


def combo_value(
    quotes: dict[OptionContract, tuple[Decimal, Decimal]], legs: tuple[ComboLeg, ...]
) -> Decimal:
    """Mid of a combo from leg (bid, ask)."""
    total = Decimal(0)
    for leg in legs:
        bid, ask = quotes[leg.contract]
        sign = 1 if leg.action is OrderAction.BUY else -1
        total += sign * (bid + ask) / 2
    return total


async def open_condor(
    broker: SimBroker, clock: SimClock, day: date, n: int
) -> list[OptionContract]:
    spot = float(await broker.underlying_price())
    close = sessions(day)[1]  # type: ignore[index]
    years = (close - clock.now()).total_seconds() / SECONDS_PER_YEAR
    sp = int(strike_for_delta(Right.PUT, 0.10, spot, years, 0.16)) // 5 * 5
    sc = -(-int(strike_for_delta(Right.CALL, 0.10, spot, years, 0.16)) // 5) * 5
    condor = IronCondor(day, Decimal(sp - 10), Decimal(sp), Decimal(sc), Decimal(sc + 10))
    raw = await broker.option_quotes(condor.contracts, timeout=5.0)
    quotes = {c: (q.bid or Decimal(0), q.ask or Decimal(0)) for c, q in raw.items()}
    credit = -round_to_tick(combo_value(quotes, condor.short_legs()), COMBO_TICK, "up")
    credit = max(credit - COMBO_TICK, COMBO_TICK)
    await broker.place_order(entry_order(condor, credit, f"cd:b{n}:entry"))
    width = condor.short_put - condor.long_put  # no stop pays more than the condor is worth
    trigger = min(round_to_tick(credit * 2, COMBO_TICK), width - Decimal("0.50"))
    for req in stop_orders(
        condor,
        trigger=trigger,
        limit=min(trigger + Decimal("0.50"), width),
        backup_trigger=min(trigger + Decimal("0.30"), width),
        limit_ref=f"cd:b{n}:stop-limit",
        market_ref=f"cd:b{n}:stop-market",
        oca_group=f"oca-b{n}",
    ):
        await broker.place_order(req)
    return list(condor.contracts)


async def run(n_sessions: int, *, condors: bool, monitor: bool) -> tuple[float, int]:
    config = SimulatorConfig(seed=11, scenario="mixed", greeks_missing_prob=0.0)
    days = trading_days(n_sessions)
    clock = SimClock(datetime.combine(days[0], dtime(9, 25), ET))
    market = SimMarket(config)
    broker = SimBroker(clock, market, sessions)
    stream = broker.events()
    await broker.connect()
    t0 = time.process_time()
    for day in days:
        legs: list[OptionContract] = []
        if condors:
            for n, hh in enumerate((10, 11)):
                await clock.sleep_until(datetime.combine(day, dtime(hh), ET))
                legs += await open_condor(broker, clock, day, n)
        end = datetime.combine(day, dtime(16, 5), ET)
        while monitor and legs and clock.now() < end:
            await broker.option_quotes(legs, timeout=5.0)
            await clock.sleep(10.0)
        await clock.sleep_until(end)
        await clock.sleep_until(datetime.combine(day + timedelta(days=1), dtime(9, 25), ET))
    cpu = time.process_time() - t0
    events = stream.pending()
    await broker.close()
    return cpu, events


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    config = SimulatorConfig(seed=11, scenario="mixed")
    market = SimMarket(config)
    t0 = time.process_time()
    for day in trading_days(n):
        market.build_session(day, *sessions(day))  # type: ignore[misc]
    build = (time.process_time() - t0) / n * 1000
    print(f"sessions: {n} (tick_seconds={config.tick_seconds:g}, scenario=mixed)")
    print(f"market path build:                        {build:7.2f} ms CPU / session")
    for label, condors, monitor in (
        ("broker idle through the session:", False, False),
        ("two condors + OCA stop pairs:", True, False),
        ("... plus 8-leg quotes every 10 s:", True, True),
    ):
        cpu, events = run_virtual(run(n, condors=condors, monitor=monitor))
        print(f"{label:41s} {cpu / n * 1000:7.2f} ms CPU / session  ({events / n:.0f} events)")


if __name__ == "__main__":
    main()
