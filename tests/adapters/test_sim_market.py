"""SimMarket: seeded SPX paths, scenarios, the smile and the quotes."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from condordesk.broker.sim import SimMarket
from condordesk.broker.sim.model import leg_points, spread_cents
from condordesk.broker.sim.paths import SCENARIOS, DayPath
from condordesk.domain.options import OptionContract, Right
from condordesk.market.pricing import strike_for_delta

from .conftest import EARLY_CLOSE_DAY, MONDAY, at, make_config, weekday_sessions


def build(market: SimMarket, day: date) -> DayPath:
    hours = weekday_sessions(day)
    assert hours is not None
    return market.build_session(day, *hours)


def week(first: date = MONDAY, n: int = 5) -> list[date]:
    days: list[date] = []
    d = first
    while len(days) < n:
        if weekday_sessions(d) is not None:
            days.append(d)
        d += timedelta(days=1)
    return days


def max_move(path: DayPath, minutes: float) -> float:
    """Largest |log move| over any window of ``minutes``, in expected moves of the day."""
    span = max(1, round(minutes * 60 / path.tick_seconds))
    ln = path.ln_spots
    return max(abs(ln[i + span] - ln[i]) for i in range(len(ln) - span)) / path.em


# -- paths ------------------------------------------------------------------------------


def test_same_seed_same_path_and_different_seeds_differ() -> None:
    a = build(SimMarket(make_config(seed=3, scenario="mixed")), MONDAY)
    b = build(SimMarket(make_config(seed=3, scenario="mixed")), MONDAY)
    c = build(SimMarket(make_config(seed=4, scenario="mixed")), MONDAY)
    assert a.spots == b.spots
    assert a.base_iv == b.base_iv
    assert a.spots != c.spots


def test_first_session_opens_at_spot_and_days_chain_through_overnight_gaps() -> None:
    market = SimMarket(make_config(spot=5000.0))
    paths = [build(market, d) for d in week()]
    assert paths[0].spots[0] == 5000.0
    for prev, nxt in itertools.pairwise(paths):
        gap = math.log(nxt.spots[0] / prev.spots[-1])
        assert gap != 0.0
        assert abs(gap) < 4 * nxt.em  # an overnight gap, not a new random level


def test_a_day_path_does_not_depend_on_what_was_asked_before() -> None:
    quiet = SimMarket(make_config(seed=5))
    busy = SimMarket(make_config(seed=5))
    for d in week(n=2):
        build(quiet, d)
        path = build(busy, d)
        for k in range(5900, 6100, 5):  # price lots of options on the busy market
            busy.quote(OptionContract(d, Decimal(k), Right.PUT), at(d, 11))
        assert path.spots == quiet.path(d).spots  # type: ignore[union-attr]


def test_path_covers_open_to_close_at_tick_resolution_with_early_closes() -> None:
    market = SimMarket(make_config(tick_seconds=10))
    regular = build(market, MONDAY)
    assert len(regular.spots) == 6.5 * 360 + 1
    early = build(market, EARLY_CLOSE_DAY)
    assert early.close == at(EARLY_CLOSE_DAY, 13, 0)
    assert len(early.spots) == 3.5 * 360 + 1
    assert market.settlement_price(EARLY_CLOSE_DAY) == Decimal(repr(early.spots[-1])).quantize(
        Decimal("0.01")
    )


def test_spot_is_the_open_level_before_the_open_and_settlement_after_the_close() -> None:
    market = SimMarket(make_config())
    path = build(market, MONDAY)
    assert market.spot(at(MONDAY, 8)) == path.spots[0]
    assert market.spot(at(MONDAY, 9, 30)) == path.spots[0]
    assert market.spot(at(MONDAY, 12)) == path.spots[path.index(at(MONDAY, 12))]
    assert market.spot(at(MONDAY, 17)) == path.spots[-1]
    assert Decimal(str(market.spot(at(MONDAY, 17)))).quantize(Decimal("0.01")) == (
        market.settlement_price(MONDAY)
    )
    # the next morning, before anything is built for it, the last close is the level
    assert market.spot(at(MONDAY + timedelta(days=1), 9)) == path.spots[-1]


def test_expected_move_is_spot_times_iv_times_sqrt_time_and_shrinks_to_the_close() -> None:
    market = SimMarket(make_config())
    build(market, MONDAY)
    moves = [market.expected_move(at(MONDAY, h)) for h in (10, 12, 14, 15)]
    assert moves == sorted(moves, reverse=True)
    ts = at(MONDAY, 10)
    years = 6 * 3600 / (365 * 24 * 3600)
    expected = market.spot(ts) * market.atm_iv(ts) * math.sqrt(years)
    assert market.expected_move(ts) == pytest.approx(expected, rel=1e-3)


# -- scenarios ----------------------------------------------------------------------------


def closes_over_open(scenario: str, seeds: range) -> list[float]:
    out = []
    for seed in seeds:
        path = build(SimMarket(make_config(seed=seed, scenario=scenario)), MONDAY)
        out.append(math.log(path.spots[-1] / path.spots[0]) / path.em)
    return out


def test_trend_days_drift_about_one_to_one_and_a_half_expected_moves() -> None:
    up = closes_over_open("trend_up", range(30))
    down = closes_over_open("trend_down", range(30))
    assert 0.7 < sum(up) / len(up) < 1.8
    assert -1.8 < sum(down) / len(down) < -0.7
    assert sum(1 for r in up if r > 0) >= 25
    assert sum(1 for r in down if r < 0) >= 25


def test_calm_days_move_less_than_whipsaw_days() -> None:
    def realised(scenario: str) -> float:
        total = 0.0
        for seed in range(10):
            p = build(SimMarket(make_config(seed=seed, scenario=scenario)), MONDAY)
            total += sum(abs(b - a) for a, b in zip(p.ln_spots, p.ln_spots[1:], strict=False))
        return total

    assert realised("whipsaw") > 2.5 * realised("calm")


def test_whipsaw_swings_revert_towards_the_open() -> None:
    finals = closes_over_open("whipsaw", range(30))
    swings = []
    for seed in range(30):
        p = build(SimMarket(make_config(seed=seed, scenario="whipsaw")), MONDAY)
        swings.append(max(abs(v - p.ln_spots[0]) for v in p.ln_spots) / p.em)
    assert sum(swings) / 30 > 1.0  # large swings during the day ...
    assert sum(abs(f) for f in finals) / 30 < sum(swings) / 30  # ... that do not run away


def test_spike_days_move_through_a_ten_delta_short_strike_in_minutes() -> None:
    for seed in range(10):
        market = SimMarket(make_config(seed=seed, scenario="spike"))
        path = build(market, MONDAY)
        assert max_move(path, 10) > 1.4
        when, size, _ = path.regime.spike  # type: ignore[misc]
        start = int(when * path.last)
        before, after = path.spots[start - 1], path.spots[start + 60]
        open_years = path.sqrt_t[0] ** 2
        right = Right.CALL if size > 0 else Right.PUT
        short = strike_for_delta(right, 0.10, path.spots[0], open_years, path.iv_day)
        distance = abs(short - path.spots[0])
        assert abs(after - before) > distance * 0.9
    calm = build(SimMarket(make_config(seed=1, scenario="calm")), MONDAY)
    assert max_move(calm, 10) < 0.8


def test_mixed_is_mostly_calm_and_uses_every_preset() -> None:
    market = SimMarket(make_config(seed=2, scenario="mixed"))
    seen = [market.scenario(build(market, d).day) for d in week(n=150)]
    counts = {name: seen.count(name) for name in SCENARIOS}
    assert max(counts, key=lambda k: counts[k]) == "calm"
    assert counts["calm"] > 60
    assert all(counts[name] > 0 for name in SCENARIOS)


def test_implied_vol_rises_when_the_index_falls() -> None:
    rises = 0
    for seed in range(10):
        path = build(SimMarket(make_config(seed=seed, scenario="trend_down")), MONDAY)
        by_spot = sorted(zip(path.spots, path.base_iv, strict=True))
        ivs = [iv for _, iv in by_spot]
        assert ivs == sorted(ivs, reverse=True)  # lower index, higher vol, all day
        rises += path.base_iv[-1] > path.base_iv[0]
    assert rises >= 8


def test_gap_shifts_the_rest_of_the_session() -> None:
    market = SimMarket(make_config())
    path = build(market, MONDAY)
    before = list(path.spots)
    market.gap(-25.0, at(MONDAY, 12))
    i = path.index(at(MONDAY, 12))
    assert path.spots[:i] == before[:i]
    assert path.spots[i:] == pytest.approx([s - 25.0 for s in before[i:]])
    assert path.version == 1
    with pytest.raises(ValueError):
        market.gap(5.0, at(MONDAY, 16, 30))


# -- options -------------------------------------------------------------------------------


def test_out_of_the_money_puts_carry_more_vol_than_calls_the_same_distance_away() -> None:
    market = SimMarket(make_config())
    build(market, MONDAY)
    for hh in (10, 13, 15):
        ts = at(MONDAY, hh)
        s = market.spot(ts)
        for d in (15.0, 30.0, 50.0):
            assert market.implied_vol(s - d, ts) > market.implied_vol(s + d, ts)


def quotes_at(
    market: SimMarket, day: date, hh: int, mm: int = 0
) -> list[tuple[int, Right, Decimal, Decimal]]:
    ts = at(day, hh, mm)
    s = market.spot(ts)
    lo, hi = int(s - 150) // 5 * 5, int(s + 150) // 5 * 5
    rows = []
    for k in range(lo, hi + 5, 5):
        for right in Right:
            q = market.quote(OptionContract(day, Decimal(k), right), ts)
            assert q.bid is not None
            assert q.ask is not None
            rows.append((k, right, q.bid, q.ask))
    return rows


@pytest.mark.parametrize(("hh", "mm"), [(9, 30), (11, 0), (14, 0), (15, 55)])
def test_quotes_are_on_the_tick_grid_with_at_least_one_tick_of_spread(hh: int, mm: int) -> None:
    market = SimMarket(make_config(scenario="whipsaw"))
    build(market, MONDAY)
    for _, _, bid, ask in quotes_at(market, MONDAY, hh, mm):
        assert bid >= 0
        assert ask > bid
        for price in (bid, ask):
            tick = Decimal("0.05") if price < 3 else Decimal("0.10")
            assert price % tick == 0, price
        assert ask - bid >= (Decimal("0.05") if ask <= 3 else Decimal("0.10"))


def test_far_out_of_the_money_options_quote_zero_bid_one_tick_ask() -> None:
    market = SimMarket(make_config())
    build(market, MONDAY)
    ts = at(MONDAY, 12)
    s = market.spot(ts)
    far_put = market.quote(OptionContract(MONDAY, Decimal(int(s * 0.93) // 5 * 5), Right.PUT), ts)
    far_call = market.quote(OptionContract(MONDAY, Decimal(int(s * 1.07) // 5 * 5), Right.CALL), ts)
    for q in (far_put, far_call):
        assert (q.bid, q.ask) == (Decimal("0.00"), Decimal("0.05"))


def test_spreads_widen_for_expensive_options() -> None:
    cheap = spread_cents(1.00)
    itm = spread_cents(40.0)
    assert cheap[1] - cheap[0] == 5
    assert itm[1] - itm[0] >= 80
    assert spread_cents(-0.2) == (0, 5)


@pytest.mark.parametrize(("hh", "mm"), [(10, 0), (13, 30), (15, 50)])
def test_prices_are_monotone_in_the_strike(hh: int, mm: int) -> None:
    market = SimMarket(make_config(scenario="trend_down"))
    build(market, MONDAY)
    rows = quotes_at(market, MONDAY, hh, mm)
    for right in Right:
        mids = [(b + a) / 2 for k, r, b, a in rows if r is right]
        ordered = sorted(mids) if right is Right.PUT else sorted(mids, reverse=True)
        assert mids == ordered


def test_greeks_have_the_right_signs_and_a_ten_delta_put_is_where_expected() -> None:
    market = SimMarket(make_config())
    build(market, MONDAY)
    ts = at(MONDAY, 10, 30)
    s = market.spot(ts)
    deltas = {}
    for k in range(int(s - 60) // 5 * 5, int(s + 60) // 5 * 5, 5):
        for right in Right:
            g = market.quote(OptionContract(MONDAY, Decimal(k), right), ts).greeks
            assert g is not None
            assert g.is_finite()
            assert 0 < g.delta < 1 if right is Right.CALL else -1 < g.delta < 0
            assert g.gamma > 0
            assert g.vega > 0
            assert g.theta < 0
            deltas[(k, right)] = g.delta
    puts = {k: -d for (k, r), d in deltas.items() if r is Right.PUT}
    nearest = min(puts, key=lambda k: abs(puts[k] - 0.10))
    assert abs(puts[nearest] - 0.10) < 0.03
    assert s - 60 < nearest < s - 10


def test_the_matching_series_and_single_quotes_agree() -> None:
    market = SimMarket(make_config(scenario="spike"))
    path = build(market, MONDAY)
    s0 = path.spots[0]
    for k in range(int(s0 - 80) // 5 * 5, int(s0 + 80) // 5 * 5, 15):
        for right in Right:
            contract = OptionContract(MONDAY, Decimal(k), right)
            series = market.leg_series(contract, path)
            series.ensure(path, 0, path.last + 1)
            for i in range(0, path.last + 1, 97):
                q = market.quote(contract, path.time_of(i))
                assert (q.bid, q.ask) == (
                    Decimal(series.bids[i]).scaleb(-2),
                    Decimal(series.asks[i]).scaleb(-2),
                )
    bids, asks = leg_points(path, float(k), True, market.smile, 100, 101)
    call = market.leg_series(OptionContract(MONDAY, Decimal(k), Right.CALL), path)
    assert (bids[0], asks[0]) == (call.bids[100], call.asks[100])


def test_listed_strikes_are_every_five_points_around_the_open() -> None:
    market = SimMarket(make_config(spot=6001.3))
    build(market, MONDAY)
    strikes = market.strikes(MONDAY)
    assert all(k % 5 == 0 for k in strikes)
    assert strikes == sorted(strikes)
    assert strikes[0] <= Decimal("5700")
    assert strikes[-1] >= Decimal("6300")
    assert Decimal(6000) in strikes
