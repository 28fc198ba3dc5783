"""Prices in operator commands, checked by the engine itself (consoles only help): every price
sent is on the combo tick grid, above zero and at most what the condor can be worth (its wider
wing), and a stop trigger lies above the condor's current mark (a stop there would fire at
once: buying back now is a close). Each refusal is a sentence with the numbers. A condor not
marked yet has its mark fetched when the move is carried out (:meth:`StopDesk.move`)."""

from __future__ import annotations

from decimal import Decimal

from condordesk.domain.prices import COMBO_TICK, round_to_tick
from condordesk.engine import api
from condordesk.engine.book import LiveCondor


def _price_problem(what: str, price: Decimal, max_value: Decimal) -> str | None:
    """Why ``price`` cannot be sent for a condor worth at most ``max_value``, or None."""
    if not price.is_finite() or price <= 0:
        return f"{what} must be above zero, got {price}"
    if price % COMBO_TICK != 0:
        down = round_to_tick(price, COMBO_TICK, "down")
        up = round_to_tick(price, COMBO_TICK, "up")
        return (
            f"{what} {price} is not on the {COMBO_TICK} combo price grid "
            f"(the nearest prices are {down} and {up})"
        )
    if price > max_value:
        return (
            f"{what} {price} is above {max_value:.2f}, the most this condor can be worth "
            "(its wing width)"
        )
    return None


def command_problem(live: LiveCondor, command: api.Command) -> str | None:
    """Why the prices of ``command`` (a MoveStop or a CloseCondor of ``live``) are refused,
    or None when they may be sent."""
    max_value = max(live.condor.put_width, live.condor.call_width)
    if isinstance(command, api.MoveStop):
        problem = _price_problem("the stop trigger", command.trigger, max_value)
        if problem is not None:
            return problem
        if live.mark is not None and command.trigger <= live.mark:
            return (
                f"the stop trigger {command.trigger} is at or below the condor's current mark "
                f"{live.mark:.2f}, so the stop would fire at once; use close to buy it back now"
            )
    elif isinstance(command, api.CloseCondor) and command.limit is not None:
        return _price_problem("the close limit", command.limit, max_value)
    return None
