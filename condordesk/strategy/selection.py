"""Delta-targeted strike selection and iron-condor construction (pure functions).

Two steps, so the broker's market-data budget is respected: :func:`screen_contracts` uses a
model (spot, implied vol, Black-Scholes) to pick the few contracts worth asking live greeks
for; :func:`choose_condor` picks the condor from the live quotes, refusing to trade unless
every leg has fresh, finite greeks and a two-sided quote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from condordesk.domain.condor import IronCondor
from condordesk.domain.options import OptionContract, OptionQuote, Right
from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.market.pricing import strike_for_delta

_STRIKE_STEP = Decimal(5)


@dataclass(frozen=True, slots=True)
class SelectionRules:
    """What a tradeable condor must look like (built from the profile's strategy table)."""

    target_delta: float
    delta_tolerance: float
    wing_widths: tuple[Decimal, ...]
    min_credit: Decimal
    max_credit: Decimal
    premium_balance: tuple[float, float]
    quantity: int
    greeks_max_age_s: float
    concession: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CondorCandidate:
    """A condor worth sending, with the credit to ask for: the mid credit less the entry
    concession (:func:`entry_concession`), rounded down to combo ticks."""

    condor: IronCondor
    credit: Decimal
    put_credit: Decimal
    call_credit: Decimal
    short_put_delta: float
    short_call_delta: float


@dataclass(frozen=True, slots=True)
class NoTrade:
    """Why no condor was chosen: a stable ``reason`` code and a human ``detail``."""

    reason: str
    detail: str


def _on_grid(strike: float) -> Decimal:
    return (Decimal(repr(strike)) / _STRIKE_STEP).quantize(Decimal(1)) * _STRIKE_STEP


def screen_contracts(
    strikes: Sequence[Decimal],
    expiry: date,
    spot: float,
    years: float,
    vol: float,
    rules: SelectionRules,
    around: int = 1,
) -> list[OptionContract]:
    """The contracts to request live quotes and greeks for: a few short candidates per side
    near the model's target-delta strike, and their wings at every allowed width."""
    listed = set(strikes)
    wanted: set[OptionContract] = set()
    for right in (Right.PUT, Right.CALL):
        center = _on_grid(strike_for_delta(right, rules.target_delta, spot, years, vol))
        for k in range(-around, around + 1):
            short = center + k * _STRIKE_STEP
            if short not in listed:
                continue
            wanted.add(OptionContract(expiry, short, right))
            for width in rules.wing_widths:
                wing = short - width if right is Right.PUT else short + width
                if wing in listed:
                    wanted.add(OptionContract(expiry, wing, right))
    return sorted(wanted)


def greeks_problem(quote: OptionQuote | None, now: datetime, max_age_s: float) -> str | None:
    """Why a quote cannot be traded on, or None if it is usable."""
    if quote is None:
        return "no quote"
    if quote.bid is None or quote.ask is None:
        return "one-sided quote"
    if quote.greeks is None or quote.greeks_ts is None:
        return "no greeks"
    if not quote.greeks.is_finite():
        return "greeks not finite"
    age = (now - quote.greeks_ts).total_seconds()
    if age > max_age_s:
        return f"greeks {age:.0f}s old"
    return None


def _pick_short(
    quotes: Mapping[OptionContract, OptionQuote],
    right: Right,
    spot: float,
    now: datetime,
    rules: SelectionRules,
) -> OptionContract | None:
    best: tuple[float, OptionContract] | None = None
    for contract, quote in quotes.items():
        if contract.right is not right or greeks_problem(quote, now, rules.greeks_max_age_s):
            continue
        otm = float(contract.strike) < spot if right is Right.PUT else float(contract.strike) > spot
        assert quote.greeks is not None
        miss = abs(abs(quote.greeks.delta) - rules.target_delta)
        if otm and miss <= rules.delta_tolerance and (best is None or miss < best[0]):
            best = (miss, contract)
    return None if best is None else best[1]


def choose_condor(
    quotes: Mapping[OptionContract, OptionQuote],
    expiry: date,
    spot: float,
    now: datetime,
    rules: SelectionRules,
) -> CondorCandidate | NoTrade:
    """Pick the short strikes nearest the target delta and the first wing width whose condor
    meets the credit range and premium balance."""
    short_put = _pick_short(quotes, Right.PUT, spot, now, rules)
    short_call = _pick_short(quotes, Right.CALL, spot, now, rules)
    if short_put is None or short_call is None:
        side = "put" if short_put is None else "call"
        return NoTrade(
            "no_short_strike",
            f"no {side} with fresh greeks within "
            f"{rules.delta_tolerance} of delta {rules.target_delta}",
        )
    problems: list[str] = []
    for width in rules.wing_widths:
        outcome = _evaluate(quotes, expiry, short_put.strike, short_call.strike, width, now, rules)
        if isinstance(outcome, CondorCandidate):
            return outcome
        problems.append(f"{width:f}w: {outcome.detail}")
        last = outcome
    return NoTrade(last.reason, "; ".join(problems))


SPREAD_SHARE = Decimal("0.4")


def entry_concession(
    quotes: Mapping[OptionContract, OptionQuote],
    legs: Sequence[OptionContract],
    rules: SelectionRules,
) -> Decimal:
    """How far below the mid credit to ask: the profile's concession, or a share of the
    combo's half-spread when the quotes are wide (a combo at the mid rarely fills)."""
    half_spread = sum(
        (
            (q.ask - q.bid) / 2
            for c in legs
            if (q := quotes[c]).ask is not None and q.bid is not None
        ),
        Decimal(0),
    )
    return max(rules.concession, half_spread * SPREAD_SHARE)


def _evaluate(
    quotes: Mapping[OptionContract, OptionQuote],
    expiry: date,
    short_put: Decimal,
    short_call: Decimal,
    width: Decimal,
    now: datetime,
    rules: SelectionRules,
) -> CondorCandidate | NoTrade:
    condor = IronCondor(
        expiry, short_put - width, short_put, short_call, short_call + width, rules.quantity
    )
    legs = condor.contracts
    for contract in legs:
        problem = greeks_problem(quotes.get(contract), now, rules.greeks_max_age_s)
        if problem:
            return NoTrade("stale_greeks", f"{contract.symbol}: {problem}")
    mids = [quotes[c].mid for c in legs]
    lp, sp, sc, lc = (m if m is not None else Decimal(0) for m in mids)
    put_credit, call_credit = sp - lp, sc - lc
    credit = round_to_tick(
        put_credit + call_credit - entry_concession(quotes, legs, rules), COMBO_TICK, "down"
    )
    if credit < rules.min_credit or credit > rules.max_credit:
        return NoTrade(
            "credit_out_of_range", f"credit {credit} outside {rules.min_credit}-{rules.max_credit}"
        )
    if put_credit <= 0 or call_credit <= 0:
        return NoTrade("premium_unbalanced", f"put {put_credit} / call {call_credit}")
    ratio = float(put_credit / call_credit)
    low, high = rules.premium_balance
    if not low <= ratio <= high:
        return NoTrade(
            "premium_unbalanced", f"put/call credit ratio {ratio:.2f} outside {low}-{high}"
        )
    p_greeks, c_greeks = quotes[legs[1]].greeks, quotes[legs[2]].greeks
    assert p_greeks is not None
    assert c_greeks is not None
    return CondorCandidate(condor, credit, put_credit, call_credit, p_greeks.delta, c_greeks.delta)
