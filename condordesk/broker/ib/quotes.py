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
from condordesk.broker.ib.pacing import Pacer
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


def reset(ticker: Ticker) -> Ticker:
    """Clear what a reused ticker still holds from an earlier line.

    ib_async keeps one Ticker per contract and hands the same object back on the next
    ``reqMktData``, with the old bid/ask/greeks in it: without this, a new request would
    look complete at once, with stale data.
    """
    nan = math.nan
    ticker.bid = ticker.ask = ticker.last = ticker.close = nan
    ticker.bidSize = ticker.askSize = nan
    ticker.modelGreeks = ticker.bidGreeks = ticker.askGreeks = ticker.lastGreeks = None
    return ticker


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


class _Line:
    __slots__ = ("contract", "ticker", "users")

    def __init__(self, contract: Contract, ticker: Ticker) -> None:
        self.contract = contract
        self.ticker = ticker
        self.users = 1


class MarketData:
    """Opens, watches and cancels market-data lines on an ``IB`` session.

    ib_async keeps one Ticker per contract, so concurrent callers asking for the same
    contract share one line (reference-counted): a second ``reqMktData`` would orphan the
    first request id and leak a line at IB.

    Args:
        ib: the ib_async session.
        clock: the injected clock (all waiting goes through it).
        budget: the shared line budget.
        pacer: the shared message pacer.
    """

    def __init__(self, ib: IB, clock: Clock, budget: LineBudget, pacer: Pacer) -> None:
        self._ib = ib
        self._clock = clock
        self._budget = budget
        self._pacer = pacer
        self._lines: dict[int, _Line] = {}

    # -- lines ------------------------------------------------------------------------------

    def _join(self, contract: Contract) -> Ticker | None:
        line = self._lines.get(contract.conId)
        if line is None:
            return None
        line.users += 1
        return line.ticker

    def _open_new(self, contract: Contract) -> Ticker:
        """Open a line (a budget line and a pacer message are already taken)."""
        try:
            ticker = reset(self._ib.reqMktData(contract, "", False, False))
        except BaseException:
            self._budget.release()
            raise
        self._lines[contract.conId] = _Line(contract, ticker)
        return ticker

    def try_open(self, contract: Contract) -> Ticker | None:
        """Join or open a line without waiting; None if the budget or pacer has no room."""
        ticker = self._join(contract)
        if ticker is not None:
            return ticker
        if not self._budget.try_acquire():
            return None
        if not self._pacer.try_take():
            self._budget.release()
            return None
        return self._open_new(contract)

    async def open(self, contract: Contract) -> Ticker:
        """Join or open a line, waiting for the budget and the pacer if needed."""
        ticker = self._join(contract)
        if ticker is not None:
            return ticker
        await self._budget.acquire()
        ticker = self._join(contract)  # someone opened it meanwhile
        if ticker is not None:
            self._budget.release()
            return ticker
        try:
            await self._pacer.take()
        except BaseException:
            self._budget.release()
            raise
        ticker = self._join(contract)
        if ticker is not None:
            self._budget.release()
            return ticker
        return self._open_new(contract)

    def close(self, contract: Contract) -> None:
        """Leave a line; the last user cancels it."""
        line = self._lines.get(contract.conId)
        if line is None:
            return
        line.users -= 1
        if line.users > 0:
            return
        del self._lines[contract.conId]
        self._pacer.note()
        self._ib.cancelMktData(line.contract)
        self._budget.release()

    @property
    def open_lines(self) -> int:
        """Lines open now."""
        return len(self._lines)

    # -- requests ---------------------------------------------------------------------------

    async def quotes(
        self, pairs: Sequence[tuple[OptionContract, Contract]], wait_s: float
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes for qualified ``(contract, ib contract)`` pairs, waiting at most ``wait_s``.

        Lines are opened as the budget allows; a line closes as soon as its ticker has a
        price and model greeks, which frees it for the next contract.
        """
        deadline = self._clock.now().timestamp() + max(wait_s, 0.0)
        window = _Window(self, pairs)
        try:
            while window.queue or window.active:
                if not window.active:
                    await window.open_next()
                window.open_available()
                now = self._clock.now()
                window.note_greeks(now)
                window.close_complete(now)
                left = deadline - now.timestamp()
                if left <= 0:
                    break
                if window.queue or window.active:
                    await self._clock.sleep(min(POLL_S, left))
        finally:
            window.close_all(self._clock.now())
        return window.finished

    async def index(self, contract: Contract, wait_s: float) -> Decimal | None:
        """The index level now, or None if nothing arrived within ``wait_s``."""
        deadline = self._clock.now().timestamp() + max(wait_s, 0.0)
        ticker = await self.open(contract)
        try:
            await self._wait(lambda: index_level(ticker) is not None, deadline)
            return index_level(ticker)
        finally:
            self.close(contract)

    async def _wait(self, done: Callable[[], bool], deadline: float) -> None:
        while not done():
            left = deadline - self._clock.now().timestamp()
            if left <= 0:
                return
            await self._clock.sleep(min(POLL_S, left))


class _Window:
    """The lines one :meth:`MarketData.quotes` call holds: queued, active, finished."""

    def __init__(self, md: MarketData, pairs: Sequence[tuple[OptionContract, Contract]]) -> None:
        self._md = md
        self.queue = deque(pairs)
        self.active: dict[OptionContract, tuple[Contract, Ticker]] = {}
        self.finished: dict[OptionContract, OptionQuote] = {}
        self._greeks_seen: dict[OptionContract, datetime] = {}

    async def open_next(self) -> None:
        """Open the next queued line, waiting for room."""
        option, contract = self.queue[0]
        ticker = await self._md.open(contract)
        self.queue.popleft()
        self.active[option] = (contract, ticker)

    def open_available(self) -> None:
        """Open queued lines while there is room."""
        while self.queue:
            option, contract = self.queue[0]
            ticker = self._md.try_open(contract)
            if ticker is None:
                return
            self.queue.popleft()
            self.active[option] = (contract, ticker)

    def note_greeks(self, now: datetime) -> None:
        for option, (_, ticker) in self.active.items():
            if ticker.modelGreeks is not None:
                self._greeks_seen.setdefault(option, now)

    def close(self, option: OptionContract, now: datetime) -> None:
        """Snapshot the quote (the ticker may be reused later) and leave the line."""
        contract, ticker = self.active.pop(option)
        if _arrived(ticker.bid) or _arrived(ticker.ask):
            self.finished[option] = _quote(option, ticker, now, self._greeks_seen.get(option))
        self._md.close(contract)

    def close_complete(self, now: datetime) -> None:
        """Release the lines whose ticker has everything."""
        for option in [o for o, (_, t) in self.active.items() if _complete(t)]:
            self.close(option, now)

    def close_all(self, now: datetime) -> None:
        for option in list(self.active):
            self.close(option, now)


def _complete(ticker: Ticker) -> bool:
    # Model greeks are computed from the quote, so they come after it; a side IB leaves
    # empty may never be sent at all, so one side plus greeks is enough.
    return ticker.modelGreeks is not None and (_arrived(ticker.bid) or _arrived(ticker.ask))


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
