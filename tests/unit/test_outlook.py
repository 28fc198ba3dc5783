"""What the engine computes for consoles: greeks of a held condor, the day's expected move,
the next scheduled event, the P&L trail."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.condor import IronCondor
from condordesk.domain.options import Greeks, OptionContract, OptionQuote
from condordesk.engine import api
from condordesk.engine.api import PositionGreeks
from condordesk.engine.outlook import (
    Outlook,
    PnlTrail,
    day_schedule,
    expected_move,
    net_greeks,
    next_event,
    position_greeks,
    recent_events,
)
from condordesk.market.calendar import Session
from condordesk.market.clock import ET
from condordesk.market.pricing import black_scholes
from condordesk.store.journal import Journal

D = Decimal
DAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
CONDOR = IronCondor(DAY, D(5950), D(5960), D(6040), D(6050), quantity=2)


def session(close: time = time(16, 0), day: date = DAY) -> Session:
    return Session(day, datetime.combine(day, time(9, 30), ET), datetime.combine(day, close, ET),
                   early_close=close != time(16, 0))  # fmt: skip


def quotes(
    spot: float = 6000.0, vol: float = 0.16, years: float = 5 / (365 * 24)
) -> dict[OptionContract, OptionQuote]:
    out = {}
    for c in CONDOR.contracts:
        bs = black_scholes(c.right, spot, float(c.strike), years, vol)
        out[c] = OptionQuote(c, D("1.00"), D("1.10"),
                             Greeks(bs.delta, bs.gamma, bs.theta, bs.vega, vol), NOW)  # fmt: skip
    return out


def test_a_short_condor_is_short_gamma_and_vega_and_earns_theta() -> None:
    g = position_greeks(CONDOR, quotes())
    assert g is not None
    assert g.gamma < 0 and g.vega < 0 and g.theta > 0
    assert abs(g.delta) < 5  # near-balanced wings around the spot
    one = position_greeks(IronCondor(DAY, D(5950), D(5960), D(6040), D(6050)), quotes())
    assert one is not None and g.theta == pytest.approx(2 * one.theta)


def test_greeks_are_none_when_a_leg_has_none_and_the_last_good_ones_are_kept() -> None:
    partial = quotes()
    leg = CONDOR.contracts[1]
    partial[leg] = OptionQuote(leg, D(1), D(1), None, NOW)
    assert position_greeks(CONDOR, partial) is None
    outlook = Outlook()
    outlook.note_quotes("c1", CONDOR, quotes())
    outlook.note_quotes("c1", CONDOR, partial)
    assert outlook.net(["c1"]) == net_greeks([position_greeks(CONDOR, quotes()) or a_miss()])
    assert outlook.net([]) is None and outlook.greeks == {}  # closed: forgotten


def a_miss() -> PositionGreeks:
    raise AssertionError("greeks expected")


def test_net_greeks_add_up() -> None:
    a = PositionGreeks(-1.5, -0.25, 100.0, -10.0)
    assert net_greeks([a, a]) == PositionGreeks(-3.0, -0.5, 200.0, -20.0)
    assert net_greeks([]) is None


def test_the_days_expected_move_is_one_sd_over_the_session() -> None:
    move = expected_move(D(6000), 0.16, session())
    assert float(move) == pytest.approx(6000 * 0.16 * math.sqrt(6.5 * 3600 / (365 * 86400)),
                                        abs=0.01)  # fmt: skip
    assert expected_move(D(6000), 0.16, session(time(13, 0))) < move  # an early close


def test_the_first_vol_of_a_day_fixes_its_move() -> None:
    outlook = Outlook()
    outlook.note_atm_iv(session(), D(6000), None)
    assert outlook.expected_move is None
    outlook.note_atm_iv(session(), D(6000), 0.16)
    first = outlook.expected_move
    outlook.note_atm_iv(session(), D(6100), 0.30)
    assert outlook.expected_move == first
    outlook.note_atm_iv(session(day=DAY + timedelta(days=1)), D(6000), None)
    assert outlook.expected_move is None  # a new day starts unmeasured


def test_the_schedule_and_what_comes_next() -> None:
    times = {"reset_time": time(9, 27), "entry_start": time(9, 45), "entry_end": time(14, 30),
             "expiry_safety_time": time(15, 45)}  # fmt: skip
    plan = day_schedule(session(), **times)
    assert [label for label, _ in plan] == [
        "daily reset", "session open", "entries open", "entries close", "expiry safety",
        "session close",
    ]  # fmt: skip
    at = lambda hhmm: datetime.combine(DAY, time.fromisoformat(hhmm), ET)  # noqa: E731
    assert next_event(at("09:00"), plan) == ("daily reset", at("09:27"))
    assert next_event(at("09:45"), plan) == ("entries close", at("14:30"))
    assert next_event(at("16:00"), plan) is None
    early = day_schedule(session(time(13, 0)), **{**times, "entry_end": time(11, 30)})
    assert dict(early)["expiry safety"] == at("12:45")  # 15 minutes before an early close


def test_the_pnl_trail_samples_once_a_minute_and_restarts_each_day() -> None:
    trail = PnlTrail()
    for s in range(0, 181, 20):
        trail.sample(DAY, NOW + timedelta(seconds=s), D(s))
    assert [p.pnl for p in trail.points] == [D(0), D(60), D(120), D(180)]
    trail.sample(DAY + timedelta(days=1), NOW + timedelta(days=1), D(-5))
    assert [p.pnl for p in trail.points] == [D(-5)]


def test_recent_events_skip_what_this_version_cannot_read(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        good = api.EntriesPaused(seq=1, ts=NOW, reason="x", origin="cli")
        journal.append_event(1, NOW, "EntriesPaused", api.to_wire(good))
        journal.append_event(2, NOW, "CondorExploded", {"type": "CondorExploded"})
        journal.append_event(3, NOW, "EntriesResumed", {"type": "EntriesResumed", "who": "?"})
        later = api.EntriesResumed(seq=4, ts=NOW, origin="tui")
        journal.append_event(4, NOW, "EntriesResumed", api.to_wire(later))
        assert recent_events(journal, 4, keep=10) == [good, later]
        assert recent_events(journal, 4, keep=1) == [later]
    finally:
        journal.close()
