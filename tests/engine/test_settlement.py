"""Money on the right day, never guessed: cash settlement at the cut-off (also during an exit
flow), an unknown settlement price, late commissions, early-close days."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.bootstrap import Runtime
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
HOLD = {  # one condor, held to the close: no profit target, no entries after 10:00
    "strategy": {"max_concurrent": 1, "entry_end": "10:00"},
    "risk": {"first_trade_profit_pct": 0, "profit_close_price": 0},
}


async def verified(rt: Runtime) -> LiveCondor:
    """The first condor once its stops are verified."""
    await until(rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values()))
    return next(iter(rt.engine.desk.live.values()))


def test_settlement_during_an_expiry_safety_chase_closes_the_condor_once_without_a_crash(
    tmp_path: Path,
) -> None:
    # an expiry-safety close is resting (it does not fill) when 16:00 comes: the session
    # cancels it and the positions are cash-settled while the exit flow still runs
    flows: list[bool] = []

    async def chase_into_the_close(rt: Runtime) -> None:
        live = await verified(rt)
        await rt.engine.submit(api.CancelStop(condor_id=live.id))  # no stop to fire on the gap
        await rt.clock.sleep_until(at(DAY, "15:59:50"))
        spot = float(await rt.broker.underlying_price())
        rt.broker.gap(float(live.condor.short_put) - 5 - spot)  # type: ignore[attr-defined]
        # a limit the ITM condor never trades at: it rests into the cut-off
        flows.append(await rt.engine.desk.close(live, ExitReason.EXPIRY_SAFETY, Decimal("0.05")))

    out = run_engine(make_profile(**HOLD), tmp_path, chase_into_the_close)

    assert flows == [True]  # the flow ended cleanly, the condor closed
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason == "expired"
    (rec,) = out.runtime.journal.condors()
    assert rec.state is CondorState.CLOSED and rec.exit_reason is ExitReason.EXPIRED
    settled = rec.condor.value_at_expiry(out.runtime.broker._market.settlement_price(DAY))  # type: ignore[attr-defined]
    assert rec.credit is not None and rec.realized_pnl is not None
    assert rec.realized_pnl == (rec.credit - settled) * 100 * rec.condor.quantity - rec.commissions
    assert rec.realized_pnl < 0  # in the money: the settlement cost is booked
    assert not [a for a in out.of(api.AlertRaised) if a.level == "critical"]
    assert out.et(closed.ts) == time(16, 0)
