"""Fault injection for the loopback gateway: socket drops, connectivity codes, slow greeks,
and pass-through to the SimBroker's own faults (rejections, killed FOKs, partial fills)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from condordesk.gateway.ports import Clients

CONNECTIVITY_TEXT = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
}


class GatewayFaults:
    """The knobs tests turn. Every method acts at once on every connected client."""

    def __init__(self, gateway: Clients, seed: int = 0) -> None:
        self._gw = gateway
        self._rng = random.Random(f"condordesk-gateway:{seed}:greeks")
        self._greeks_delay = (0.0, 0.0)
        self._fills_first = 0
        self._paced = 0

    # -- the socket and the link ------------------------------------------------------------

    def drop_socket(self) -> None:
        """Abort every client socket (no goodbye); clients may reconnect at once."""
        for session in self._gw.sessions():
            session.abort()

    def send_connectivity(self, code: int) -> None:
        """Send connectivity error ``code`` (1100 lost, 1101 restored/data lost,
        1102 restored/data kept) to every client, with reqId -1. Nothing else changes."""
        text = CONNECTIVITY_TEXT.get(code)
        if text is None:
            raise ValueError(f"not a connectivity code: {code}")
        for session in self._gw.sessions():
            session.error(-1, code, text)

    def lose_connectivity(self) -> None:
        """Lose the broker link: clients get 1100; requests fail until restored."""
        self._gw.broker.drop_connection(f"{CONNECTIVITY_TEXT[1100]} (1100)")

    def restore_connectivity(self, *, data_lost: bool = False) -> None:
        """Bring the link back: clients get 1101 (``data_lost``) or 1102."""
        code = 1101 if data_lost else 1102
        self._gw.broker.restore_connection(f"{CONNECTIVITY_TEXT[code]} ({code})")

    def pacing_violation(self, count: int = 1) -> None:
        """The next ``count`` client requests are refused with error 100 (max message rate
        exceeded) and otherwise ignored, as IB does when a client sends too fast."""
        self._paced += count

    def take_pacing_violation(self) -> bool:
        if self._paced <= 0:
            return False
        self._paced -= 1
        return True

    # -- market data ------------------------------------------------------------------------

    def competing_session(self) -> None:
        """A competing live session took the market data: every streaming line gets error
        10197 and stops (clients must subscribe again)."""
        for session in self._gw.sessions():
            for req_id in list(session.md_lines):
                session.error(req_id, 10197, "No market data during competing live session")
            session.drop_market_data()

    def slow_greeks(self, min_s: float, max_s: float) -> None:
        """Delay every option's first greeks by a seeded draw in [min_s, max_s] clock seconds
        (on top of the simulator's latency); ``slow_greeks(0, 0)`` turns it off."""
        if not 0.0 <= min_s <= max_s:
            raise ValueError(f"need 0 <= min_s <= max_s, got {min_s}, {max_s}")
        self._greeks_delay = (min_s, max_s)

    def greeks_delay(self) -> float:
        low, high = self._greeks_delay
        return 0.0 if high <= 0.0 else self._rng.uniform(low, high)

    # -- orders -----------------------------------------------------------------------------

    def reject_next(self, reason: str = "rejected by the simulator", count: int = 1) -> None:
        """The next ``count`` orders are rejected (error 201)."""
        self._gw.broker.reject_next(reason, count)

    def kill_next_fok(self, count: int = 1) -> None:
        """The next ``count`` FOK orders are cancelled unfilled (Cancelled + error 202)."""
        self._gw.broker.kill_next_fok(count)

    def partial_fills(self, count: int = 1, pieces: int = 2, interval_s: float = 0.0) -> None:
        """The next ``count`` resting orders of 2 contracts or more fill in ``pieces`` pieces,
        at least ``interval_s`` clock seconds apart (FOK/IOC orders stay whole).

        Each piece reaches the client as IB sends it: execDetails and commissionReport per
        leg (new exec ids), then openOrder and orderStatus ``Submitted`` with ``filled`` and
        ``remaining`` updated (TWS has no "partially filled" status: a partly filled order is
        ``Submitted`` with ``filled > 0``), ``Filled`` after the last piece. The first piece
        cancels the OCA siblings; a cancel leaves ``Cancelled`` with the filled part held.
        """
        self._gw.broker.partial_fills(count, pieces, interval_s)

    def fills_before_open_order(self, count: int = 1) -> None:
        """For the next ``count`` orders, executions go out before the first openOrder."""
        self._fills_first += count

    def take_fills_first(self) -> bool:
        if self._fills_first <= 0:
            return False
        self._fills_first -= 1
        return True
