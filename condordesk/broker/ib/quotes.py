"""Market data over ib_async: short-lived ``reqMktData`` lines within a line budget.

IB allows about 100 simultaneous market-data lines. Quotes are taken by opening a line per
contract (streaming, not snapshot: snapshots carry no model greeks for options), waiting on
the injected clock until bid/ask and model greeks are in or the budget runs out, then
cancelling every line. :class:`LineBudget` caps the lines held at once across concurrent
callers; a request larger than the budget is served in chunks.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from ib_async import IB, Contract, Ticker

from condordesk.broker.ib import translate
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.market.clock import Clock

POLL_S = 0.05
"""How often (clock seconds) waiting code looks at the tickers."""


class LineBudget:
    """At most ``limit`` market-data lines held at once, shared by every caller.

    Callers take lines one at a time and only block (:meth:`acquire`) while holding none,
    so concurrent callers cannot deadlock each other.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the line budget must be positive, got {limit}")
        self.limit = limit
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self) -> bool:
        """Take a line if one is free."""
        if self.in_use >= self.limit:
            return False
        self.in_use += 1
        return True

    async def acquire(self) -> None:
        """Wait for a free line and take it."""
        while not self.try_acquire():
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def release(self) -> None:
        """Give a line back and wake the waiters."""
        self.in_use = max(self.in_use - 1, 0)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


def _arrived(value: float) -> bool:
    return not math.isnan(value)


def has_prices(ticker: Ticker) -> bool:
    """True once both sides of the book have been reported (a -1 "no quote" counts)."""
    return _arrived(ticker.bid) and _arrived(ticker.ask)


def index_level(ticker: Ticker) -> Decimal | None:
    """The index value of a ticker: last, else close; None if neither has arrived."""
    for value in (ticker.last, ticker.close):
        level = translate.price_or_none(value)
        if level is not None and level > 0:
            return level
    return None


class MarketData:
    """Opens, watches and cancels market-data lines on an ``IB`` session.

    Args:
        ib: the ib_async session.
        clock: the injected clock (all waiting goes through it).
        budget: the shared line budget.
    """

    def __init__(self, ib: IB, clock: Clock, budget: LineBudget) -> None:
        self._ib = ib
        self._clock = clock
        self._budget = budget

    async def quotes(
        self, pairs: Sequence[tuple[OptionContract, Contract]], wait_s: float
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes for qualified ``(contract, ib contract)`` pairs, waiting at most ``wait_s``.

        Lines are opened as the budget allows; a line closes as soon as its ticker has bid,
        ask and model greeks, which frees it for the next contract.
        """
        deadline = self._clock.now().timestamp() + max(wait_s, 0.0)
        window = _Window(self._ib, self._budget, pairs)
        greeks_seen: dict[OptionContract, datetime] = {}
        try:
            while window.queue or window.active:
                if not window.active:
                    await self._budget.acquire()
                    window.open_one()
                window.open_more()
                now = self._clock.now()
                for option, (_, ticker) in window.active.items():
                    if ticker.modelGreeks is not None:
                        greeks_seen.setdefault(option, now)
                window.close_complete()
                left = deadline - now.timestamp()
                if left <= 0:
                    break
                if window.queue or window.active:
                    await self._clock.sleep(min(POLL_S, left))
        finally:
            window.close_all()
        now = self._clock.now()
        return {
            option: _quote(option, ticker, now, greeks_seen.get(option))
            for option, ticker in window.finished.items()
            if _arrived(ticker.bid) or _arrived(ticker.ask)
        }

    async def index(self, contract: Contract, wait_s: float) -> Decimal | None:
        """The index level now, or None if nothing arrived within ``wait_s``."""
        deadline = self._clock.now().timestamp() + max(wait_s, 0.0)
        await self._budget.acquire()
        try:
            ticker = self._ib.reqMktData(contract, "", False, False)
            await self._wait(lambda: index_level(ticker) is not None, deadline)
            return index_level(ticker)
        finally:
            self._ib.cancelMktData(contract)
            self._budget.release()

    async def _wait(self, done: Callable[[], bool], deadline: float) -> None:
        while not done():
            left = deadline - self._clock.now().timestamp()
            if left <= 0:
                return
            await self._clock.sleep(min(POLL_S, left))


class _Window:
    """The lines one :meth:`MarketData.quotes` call holds: queued, active, finished."""

    def __init__(
        self, ib: IB, budget: LineBudget, pairs: Sequence[tuple[OptionContract, Contract]]
    ) -> None:
        self._ib = ib
        self._budget = budget
        self.queue = deque(pairs)
        self.active: dict[OptionContract, tuple[Contract, Ticker]] = {}
        self.finished: dict[OptionContract, Ticker] = {}

    def open_one(self) -> None:
        """Open the next queued line (a budget line is already held for it)."""
        option, contract = self.queue.popleft()
        try:
            ticker = self._ib.reqMktData(contract, "", False, False)
        except BaseException:
            self._budget.release()
            raise
        self.active[option] = (contract, ticker)

    def open_more(self) -> None:
        """Open queued lines while the budget has free ones."""
        while self.queue and self._budget.try_acquire():
            self.open_one()

    def close(self, option: OptionContract) -> None:
        contract, ticker = self.active.pop(option)
        self._ib.cancelMktData(contract)
        self._budget.release()
        self.finished[option] = ticker

    def close_complete(self) -> None:
        """Release the lines whose ticker has everything."""
        for option in [o for o, (_, t) in self.active.items() if _complete(t)]:
            self.close(option)

    def close_all(self) -> None:
        for option in list(self.active):
            self.close(option)


def _complete(ticker: Ticker) -> bool:
    return has_prices(ticker) and ticker.modelGreeks is not None


def _quote(
    option: OptionContract, ticker: Ticker, now: datetime, greeks_ts: datetime | None
) -> OptionQuote:
    greeks = translate.greeks(ticker.modelGreeks)
    return OptionQuote(
        contract=option,
        bid=translate.quote_side(ticker.bid),
        ask=translate.quote_side(ticker.ask),
        greeks=greeks,
        ts=now,
        greeks_ts=greeks_ts if greeks is not None else None,
    )


__all__ = ["POLL_S", "LineBudget", "MarketData", "has_prices", "index_level"]
