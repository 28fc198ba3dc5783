"""Delta-targeted strike selection and condor construction from live quotes."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from condordesk.domain.condor import IronCondor
from condordesk.domain.options import Greeks, OptionContract, OptionQuote, Right
from condordesk.domain.prices import to_decimal
from condordesk.market.pricing import black_scholes, strike_for_delta
from condordesk.strategy.selection import (
    CondorCandidate,
    NoTrade,
    SelectionRules,
    choose_condor,
    entry_concession,
    screen_contracts,
)

D = Decimal
PUT, CALL = Right.PUT, Right.CALL
EXPIRY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 11:00 ET
SPOT = 6000.0
HALF_SPREAD = D("0")  # locked quotes: the credit asked is the mid credit (see the concession tests)

Quotes = dict[OptionContract, OptionQuote]


def rules(**changes: object) -> SelectionRules:
    base = SelectionRules(
        target_delta=0.10,
        delta_tolerance=0.02,
        wing_widths=(D(10),),
        min_credit=D("1.00"),
        max_credit=D("2.50"),
        premium_balance=(0.5, 2.0),
        quantity=2,
        greeks_max_age_s=15.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def contract(strike: float | str | Decimal, right: Right) -> OptionContract:
    return OptionContract(EXPIRY, D(str(strike)), right)


def quote(
    strike: float | str,
    right: Right,
    mid: str | Decimal,
    delta: float,
    *,
    greeks_age_s: float = 1.0,
) -> OptionQuote:
    """A two-sided quote around ``mid`` with fresh greeks."""
    m = D(mid)
    return OptionQuote(
        contract=contract(strike, right),
        bid=m - HALF_SPREAD,
        ask=m + HALF_SPREAD,
        greeks=Greeks(delta=delta, gamma=0.01, theta=-0.5, vega=0.2, iv=0.15),
        ts=NOW,
        greeks_ts=NOW - timedelta(seconds=greeks_age_s),
    )


# strike, mid, delta. Only one strike per side is within 0.02 of delta 0.10:
# short put 5970 (wing 5960 at 10 wide, 5950 at 20), short call 6030 (wings 6040, 6050).
PUT_ROWS = [
    (5990, "4.00", -0.25),
    (5980, "2.50", -0.14),
    (5970, "1.60", -0.10),
    (5960, "1.00", -0.06),
    (5950, "0.60", -0.04),
    (5940, "0.35", -0.02),
]
CALL_ROWS = [
    (6010, "4.00", 0.25),
    (6020, "2.50", 0.14),
    (6030, "1.55", 0.10),
    (6040, "0.95", 0.06),
    (6050, "0.55", 0.04),
    (6060, "0.30", 0.02),
]
LONG_PUT, SHORT_PUT = contract(5960, PUT), contract(5970, PUT)
SHORT_CALL, LONG_CALL = contract(6030, CALL), contract(6040, CALL)


def chain(
    put_rows: list[tuple[int, str, float]] = PUT_ROWS,
    call_rows: list[tuple[int, str, float]] = CALL_ROWS,
) -> Quotes:
    quotes = [quote(k, PUT, m, d) for k, m, d in put_rows]
    quotes += [quote(k, CALL, m, d) for k, m, d in call_rows]
    return {q.contract: q for q in quotes}


def with_mid(quotes: Quotes, c: OptionContract, mid: str) -> Quotes:
    q = quotes[c]
    m = D(mid)
    return {**quotes, c: replace(q, bid=m - HALF_SPREAD, ask=m + HALF_SPREAD)}


def choose(quotes: Quotes, r: SelectionRules | None = None) -> CondorCandidate | NoTrade:
    return choose_condor(quotes, EXPIRY, SPOT, NOW, r or rules())


def candidate(result: CondorCandidate | NoTrade) -> CondorCandidate:
    assert isinstance(result, CondorCandidate), result
    return result


def legs(result: CondorCandidate) -> set[OptionContract]:
    return set(result.condor.contracts)


# --- the happy path -------------------------------------------------------------------------


def test_builds_the_condor_around_the_target_delta_shorts() -> None:
    got = candidate(choose(chain()))

    assert got.condor == IronCondor(EXPIRY, D(5960), D(5970), D(6030), D(6040), quantity=2)
    assert (got.put_credit, got.call_credit) == (D("0.60"), D("0.60"))
    assert got.credit == D("1.20")
    assert (got.short_put_delta, got.short_call_delta) == (-0.10, 0.10)


def test_picks_the_short_nearest_the_target_delta_within_tolerance() -> None:
    puts = [
        (5985, "3.00", -0.118),  # miss 0.018
        (5980, "2.40", -0.096),  # miss 0.004: nearest
        (5975, "2.00", -0.088),  # miss 0.012
        (5970, "1.60", -0.080),
        (5965, "1.30", -0.070),
    ]
    calls = [
        (6015, "3.00", 0.112),  # miss 0.012
        (6020, "2.40", 0.107),  # miss 0.007: nearest
        (6025, "2.00", 0.093),  # miss 0.007 + a hair more
        (6030, "1.60", 0.080),
    ]
    got = candidate(choose(chain(puts, calls), rules(wing_widths=(D(10),))))
    assert (got.condor.short_put, got.condor.short_call) == (D(5980), D(6020))
    assert (got.condor.long_put, got.condor.long_call) == (D(5970), D(6030))


def test_only_out_of_the_money_strikes_are_shorts() -> None:
    # in-the-money (and at-the-money) options with a perfect |delta| must be ignored
    quotes = chain(
        [*PUT_ROWS, (6010, "12.00", -0.10), (6000, "7.00", -0.10)],
        [*CALL_ROWS, (5990, "12.00", 0.10), (6000, "7.00", 0.10)],
    )
    # the out-of-the-money shorts are 0.01 off target, the others spot on
    quotes[SHORT_PUT] = replace(quotes[SHORT_PUT], greeks=Greeks(-0.11, 0, 0, 0, 0.2))
    quotes[SHORT_CALL] = replace(quotes[SHORT_CALL], greeks=Greeks(0.11, 0, 0, 0, 0.2))
    got = candidate(choose(quotes))
    assert got.condor.short_put == D(5970)
    assert got.condor.short_call == D(6030)
    assert got.condor.short_put < D(SPOT) < got.condor.short_call


def test_no_short_within_tolerance_is_no_trade() -> None:
    puts = [(k, m, d) for k, m, d in PUT_ROWS if k != 5970]  # nearest left: 0.04 away
    result = choose(chain(puts, CALL_ROWS))
    assert isinstance(result, NoTrade)
    assert result.reason == "no_short_strike"
    assert "put" in result.detail

    calls = [(k, m, d) for k, m, d in CALL_ROWS if k != 6030]
    result = choose(chain(PUT_ROWS, calls))
    assert isinstance(result, NoTrade)
    assert result.reason == "no_short_strike"
    assert "call" in result.detail


# --- wing widths and credit -----------------------------------------------------------------


def test_the_first_wing_width_meeting_the_credit_range_wins() -> None:
    # 10 wide: 1.20, 20 wide: 2.00; both within 1.00-2.50
    got = candidate(choose(chain(), rules(wing_widths=(D(10), D(20)))))
    assert got.condor.put_width == got.condor.call_width == D(10)
    assert got.credit == D("1.20")


def test_a_wider_wing_is_tried_when_the_narrow_one_fails() -> None:
    r = rules(wing_widths=(D(10), D(20)), min_credit=D("1.50"))
    got = candidate(choose(chain(), r))
    assert got.condor == IronCondor(EXPIRY, D(5950), D(5970), D(6030), D(6050), quantity=2)
    assert got.credit == D("2.00")


def test_credit_is_rounded_down_to_a_combo_tick() -> None:
    quotes = with_mid(chain(), SHORT_CALL, "1.58")  # 0.60 + 0.63 = 1.23
    got = candidate(choose(quotes))
    assert got.call_credit == D("0.63")
    assert got.credit == D("1.20")  # never the 1.25 nearest rounding would ask for


@pytest.mark.parametrize(
    ("min_credit", "max_credit"),
    [(D("1.25"), D("2.50")), (D("0.50"), D("1.15"))],
    ids=["too-low", "too-high"],
)
def test_credit_out_of_range_is_no_trade(min_credit: Decimal, max_credit: Decimal) -> None:
    result = choose(chain(), rules(min_credit=min_credit, max_credit=max_credit))
    assert isinstance(result, NoTrade)
    assert result.reason == "credit_out_of_range"


def test_credit_out_of_range_at_every_width_is_no_trade() -> None:
    result = choose(chain(), rules(wing_widths=(D(10), D(20)), min_credit=D("2.10")))
    assert isinstance(result, NoTrade)
    assert result.reason == "credit_out_of_range"


@pytest.mark.parametrize(
    ("contract_", "mid"),
    [
        (SHORT_CALL, "1.10"),  # put 0.60 / call 0.15: ratio 4
        (SHORT_PUT, "1.15"),  # put 0.15 / call 0.60: ratio 0.25
        (LONG_PUT, "1.70"),  # put -0.10: a debit on one side
    ],
    ids=["call-side-thin", "put-side-thin", "one-side-negative"],
)
def test_premium_imbalance_is_no_trade(contract_: OptionContract, mid: str) -> None:
    quotes = with_mid(chain(), contract_, mid)
    if contract_ is LONG_PUT:
        quotes = with_mid(quotes, LONG_CALL, "0.25")  # keep the total credit in range
    result = choose(quotes, rules(min_credit=D("0.50")))
    assert isinstance(result, NoTrade)
    assert result.reason == "premium_unbalanced"


# --- unusable quotes on any leg ----------------------------------------------------------------

NAN = math.nan


def _break(q: OptionQuote, problem: str) -> OptionQuote | None:
    stale = NOW - timedelta(seconds=15, milliseconds=1)
    bad_greeks = q.greeks
    assert bad_greeks is not None
    return {
        "missing": None,
        "no-greeks": replace(q, greeks=None),
        "no-greeks-time": replace(q, greeks_ts=None),
        "nan-delta": replace(q, greeks=replace(bad_greeks, delta=NAN)),
        "nan-gamma": replace(q, greeks=replace(bad_greeks, gamma=NAN)),
        "infinite-iv": replace(q, greeks=replace(bad_greeks, iv=math.inf)),
        "stale": replace(q, greeks_ts=stale),
        "no-bid": replace(q, bid=None),
        "no-ask": replace(q, ask=None),
    }[problem]


PROBLEMS = [
    "missing",
    "no-greeks",
    "no-greeks-time",
    "nan-delta",
    "nan-gamma",
    "infinite-iv",
    "stale",
    "no-bid",
    "no-ask",
]
LEGS = {
    "long-put": LONG_PUT,
    "short-put": SHORT_PUT,
    "short-call": SHORT_CALL,
    "long-call": LONG_CALL,
}


def broken(quotes: Quotes, c: OptionContract, problem: str) -> Quotes:
    bad = _break(quotes[c], problem)
    out = {k: v for k, v in quotes.items() if k != c}
    if bad is not None:
        out[c] = bad
    return out


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("leg", list(LEGS))
def test_an_unusable_quote_on_any_leg_is_no_trade(leg: str, problem: str) -> None:
    assert isinstance(choose(chain()), CondorCandidate)  # the intact chain trades

    result = choose(broken(chain(), LEGS[leg], problem))

    assert isinstance(result, NoTrade)
    assert result.reason == ("no_short_strike" if leg.startswith("short") else "stale_greeks")


@pytest.mark.parametrize("problem", PROBLEMS)
def test_a_broken_wing_is_skipped_for_the_next_width_never_used(problem: str) -> None:
    result = choose(broken(chain(), LONG_CALL, problem), rules(wing_widths=(D(10), D(20))))
    got = candidate(result)
    assert LONG_CALL not in legs(got)
    assert got.condor.call_width == D(20)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_a_broken_short_gives_way_to_the_next_usable_one(problem: str) -> None:
    puts = [*PUT_ROWS, (5975, "2.00", -0.115), (5965, "1.30", -0.08)]  # 5975: 0.015 away
    quotes = broken(chain(puts, CALL_ROWS), SHORT_PUT, problem)
    got = candidate(choose(quotes))
    assert SHORT_PUT not in legs(got)
    assert got.condor.short_put == D(5975)


def test_greeks_exactly_at_the_age_limit_are_still_fresh() -> None:
    quotes = chain()
    edge = NOW - timedelta(seconds=15)
    quotes = {c: replace(q, greeks_ts=edge) for c, q in quotes.items()}
    assert isinstance(choose(quotes), CondorCandidate)


# --- with a Black-Scholes chain -----------------------------------------------------------------

YEARS = 3.0 / (365 * 24)  # three hours to the close
VOL = 0.15
GRID = [D(k) for k in range(5000, 7005, 5)]


def bs_quotes(contracts: list[OptionContract]) -> Quotes:
    out: Quotes = {}
    for c in contracts:
        bs = black_scholes(c.right, SPOT, float(c.strike), YEARS, VOL)
        mid = max(to_decimal(bs.price), D("0.10"))
        out[c] = OptionQuote(
            c,
            mid - HALF_SPREAD,
            mid + HALF_SPREAD,
            Greeks(bs.delta, bs.gamma, bs.theta, bs.vega, VOL),
            NOW,
            NOW,
        )
    return out


BS_RULES = rules(
    delta_tolerance=0.04, wing_widths=(D(5), D(10), D(15)), min_credit=D("1.00"), max_credit=D(3)
)


def test_black_scholes_chain_gives_a_condor_inside_every_rule() -> None:
    every = [contract(k, r) for k in GRID for r in (PUT, CALL)]
    got = candidate(choose(bs_quotes(every), BS_RULES))

    c = got.condor
    assert c.short_put < D(SPOT) < c.short_call
    assert abs(abs(got.short_put_delta) - 0.10) <= 0.04
    assert abs(abs(got.short_call_delta) - 0.10) <= 0.04
    assert D("1.00") <= got.credit <= D(3)
    assert got.credit % D("0.05") == 0
    assert got.credit <= got.put_credit + got.call_credit < got.credit + D("0.05")
    assert 0.5 <= got.put_credit / got.call_credit <= 2.0
    # at this vol and time the 5-wide condor collects under 1.00: the 10-wide one is chosen
    assert c.put_width == c.call_width == D(10)


# --- screening ----------------------------------------------------------------------------------


def screen(
    strikes: list[Decimal] = GRID, widths: tuple[Decimal, ...] = (D(5), D(10))
) -> list[OptionContract]:
    return screen_contracts(strikes, EXPIRY, SPOT, YEARS, VOL, rules(wing_widths=widths))


def _side(contracts: list[OptionContract], right: Right) -> set[Decimal]:
    return {c.strike for c in contracts if c.right is right}


@pytest.mark.parametrize(("widths", "count"), [((D(5), D(10)), 10), ((D(10), D(15), D(20)), 14)])
def test_screen_asks_for_few_contracts(widths: tuple[Decimal, ...], count: int) -> None:
    # per side: three shorts around the model strike (c-5, c, c+5) and their wings, which
    # overlap: widths 5/10 span c-15..c+5 (5 strikes), widths 10/15/20 span c-25..c+5 (7)
    got = screen(widths=widths)
    assert len(got) == len(set(got)) == count
    assert {c.expiry for c in got} == {EXPIRY}


def test_screen_shorts_bracket_the_model_strike_with_their_wings() -> None:
    widths = (D(5), D(10), D(15))
    got = screen(widths=widths)
    for right, sign in ((PUT, -1), (CALL, 1)):
        model = strike_for_delta(right, 0.10, SPOT, YEARS, VOL)
        below, above = D(math.floor(model / 5) * 5), D(math.ceil(model / 5) * 5)
        strikes = _side(got, right)
        assert {below, above} <= strikes, (right, model, sorted(strikes))
        for short in (below, above):
            for w in widths:
                assert short + sign * w in strikes, (right, short, w)
        # nothing on the wrong side of the shorts: puts' wings below, calls' wings above
        if right is PUT:
            assert max(strikes) <= above + 5
        else:
            assert min(strikes) >= below - 5


def test_screen_returns_only_listed_strikes() -> None:
    listed = [D(k) for k in range(5000, 7010, 10)]  # a 10-point grid
    got = screen(listed, widths=(D(5), D(10), D(15)))
    assert got
    assert {c.strike for c in got} <= set(listed)
    assert _side(got, PUT)
    assert _side(got, CALL)


def test_screen_on_an_empty_chain_is_empty() -> None:
    assert screen([]) == []


def test_screened_contracts_are_enough_to_choose_a_condor() -> None:
    screened = screen(widths=BS_RULES.wing_widths)
    got = candidate(choose(bs_quotes(screened), BS_RULES))
    assert legs(got) <= set(screened)


def test_wide_quotes_make_the_entry_ask_for_less_than_the_mid_credit() -> None:
    legs = [contract(5960, PUT), contract(5970, PUT), contract(6030, CALL), contract(6040, CALL)]
    wide = {
        c: replace(quote(c.strike, c.right, "1.00", 0.1), bid=D("0.90"), ask=D("1.10"))
        for c in legs
    }
    # four legs 0.20 wide: 0.4 of the combo's 0.40 half-spread
    assert entry_concession(wide, legs, rules()) == D("0.16")
    # a profile concession larger than that wins
    assert entry_concession(wide, legs, rules(concession=D("0.25"))) == D("0.25")
    locked = {c: quote(c.strike, c.right, "1.00", 0.1) for c in legs}
    assert entry_concession(locked, legs, rules(concession=D("0.05"))) == D("0.05")
