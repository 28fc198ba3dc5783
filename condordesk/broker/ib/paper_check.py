"""``condordesk paper-check``: a short, safe, scripted sequence against an IB *paper* account
(or the loopback gateway) that checks what the engine relies on, each check pass/fail with
what was seen. Nothing it places can fill: the condor is far out of the money at a limit no
one pays (FOK, so it is killed at once), the stops sit far away and are cancelled.

Checks: connect and account type (anything but a paper account is refused before any order);
SPXW chain and live greeks within the profile's timeout; the unfillable FOK condor killed
and leaving nothing; an OCA stop pair on a BAG (stop-limits at the wing width, like the
engine's backup) accepted, modified in place (trigger moved one tick, same perm id) and
cancelled as a group; whatIf margin for the condor; order refs and
perm ids back after a reconnect; the error codes the engine handles (200, 202, 10147).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ib_async import IB, ComboLeg, Contract, Index, LimitOrder, Option, StopLimitOrder, Trade

PAPER = re.compile(r"^D[A-Z]?\d+$")  # IB paper accounts: DU1234567 (DF... for advisors)
INDEX_CONID = 416904
WING = 10
FAR = 0.05  # the short strikes: the farthest listed within 5% of the index
TICK = 0.05
REF = "cd:paper-check"


class NotPaper(Exception):
    """The account is not an IB paper account: nothing was sent."""


@dataclass
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    seen: str


@dataclass
class Report:
    """Every check run, in order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, seen: str) -> None:
        self.checks.append(Check(name, ok, seen))

    def table(self) -> str:
        width = max((len(c.name) for c in self.checks), default=4)
        lines = [f"{'check':<{width}}  result  seen"]
        for c in self.checks:
            lines.append(f"{c.name:<{width}}  {'pass' if c.ok else 'FAIL':<6}  {c.seen}")
        lines.append(f"paper-check: {'every check passed' if self.ok else 'FAILED'}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


@dataclass
class Target:
    """Where to connect and what the profile allows."""

    host: str
    port: int
    client_id: int
    account: str
    greeks_timeout_s: float
    today: date
    timeout_s: float = 10.0


async def _until(ib: IB, done: Callable[[], bool], within: float) -> bool:
    """Await ``done()`` re-checked after every message ib_async handles (bounded)."""
    if done():
        return True
    try:
        async with asyncio.timeout(within):
            while not done():
                await ib.updateEvent
    except TimeoutError:
        return done()
    return True


class PaperCheck:
    """The checks, run in order by :meth:`run`."""

    def __init__(self, target: Target) -> None:
        self.t = target
        self.ib = IB()
        self.report = Report()
        self.codes: list[int] = []
        self.ib.errorEvent += lambda _req, code, _msg, _c: self.codes.append(code)
        self.legs: list[Option] = []
        self.stops: list[Trade] = []

    async def run(self) -> Report:
        try:
            await self._connect()
            await self._chain()
            if len(self.legs) == 4:
                await self._fok()
                await self._whatif()
                await self._stops()
                await self._reconnect()
            await self._errors()
        finally:
            for trade in self.stops:
                if trade.isActive():
                    self.ib.cancelOrder(trade.order)
            self.ib.disconnect()
        return self.report

    async def _connect(self) -> None:
        t = self.t
        if not PAPER.match(t.account):
            raise NotPaper(f"{t.account} is not an IB paper account (DU...)")
        await self.ib.connectAsync(t.host, t.port, clientId=t.client_id, timeout=t.timeout_s)
        accounts = self.ib.managedAccounts()
        live = [a for a in accounts if not PAPER.match(a)]
        if live or t.account not in accounts:
            self.ib.disconnect()
            raise NotPaper(f"the connection manages {accounts}: not (only) the paper {t.account}")
        version = self.ib.client.serverVersion()
        self.report.add("connect", True, f"{t.host}:{t.port} v{version}, paper account {accounts}")

    async def _spot(self) -> float:
        index = Index("SPX", "CBOE", conId=INDEX_CONID)
        ticker = self.ib.reqMktData(index)
        await _until(self.ib, lambda: not math.isnan(ticker.marketPrice()), self.t.timeout_s)
        self.ib.cancelMktData(index)
        price = ticker.marketPrice()
        return ticker.close if math.isnan(price) else price

    async def _chain(self) -> None:
        chains = await self.ib.reqSecDefOptParamsAsync("SPX", "", "IND", INDEX_CONID)
        spxw = [c for c in chains if c.tradingClass == "SPXW" and c.exchange == "SMART"]
        today = f"{self.t.today:%Y%m%d}"
        expiries = sorted(e for c in spxw for e in c.expirations if e >= today)
        spot = await self._spot()
        if not expiries or math.isnan(spot):
            self.report.add("SPXW chain", False, f"expiries {expiries[:3]}, SPX {spot}")
            return
        expiry = expiries[0]
        strikes = await self._condor_strikes(expiry, spot)
        legs = [Option("SPX", expiry, k, r, "SMART", tradingClass="SPXW") for k, r in strikes]
        if strikes:
            await self.ib.qualifyContractsAsync(*legs)
        self.legs = [leg for leg in legs if leg.conId]
        self.report.add(
            "SPXW chain", len(self.legs) == 4, f"{len(expiries)} expiries; condor {strikes}"
        )
        if len(self.legs) != 4:
            return
        tickers = [self.ib.reqMktData(c) for c in self.legs]
        ok = await _until(
            self.ib,
            lambda: all(t.modelGreeks is not None for t in tickers),
            self.t.greeks_timeout_s,
        )
        got = sum(t.modelGreeks is not None for t in tickers)
        for c in self.legs:
            self.ib.cancelMktData(c)
        self.report.add(
            "live greeks", ok, f"{got}/4 within {self.t.greeks_timeout_s:g} s (the profile's)"
        )

    async def _condor_strikes(self, expiry: str, spot: float) -> list[tuple[float, str]]:
        """The farthest listed strikes within 5% of the index, with their wings (the whole
        expiry's contract details)."""
        every = Option("SPX", expiry, exchange="SMART", tradingClass="SPXW")
        details = await self.ib.reqContractDetailsAsync(every)
        puts = {d.contract.strike for d in details if d.contract and d.contract.right == "P"}
        calls = {d.contract.strike for d in details if d.contract and d.contract.right == "C"}
        low = [k for k in puts if spot * (1 - FAR) <= k < spot and k - WING in puts]
        high = [k for k in calls if spot < k <= spot * (1 + FAR) and k + WING in calls]
        if not low or not high:
            return []
        sp, sc = min(low), max(high)
        return [(sp - WING, "P"), (sp, "P"), (sc, "C"), (sc + WING, "C")]

    def _bag(self, closing: bool = False) -> Contract:
        actions = ["BUY", "SELL", "SELL", "BUY"]
        if closing:
            actions = ["SELL" if a == "BUY" else "BUY" for a in actions]
        legs = [
            ComboLeg(conId=c.conId, ratio=1, action=a, exchange="SMART")
            for c, a in zip(self.legs, actions, strict=True)
        ]
        return Contract(
            secType="BAG", symbol="SPX", currency="USD", exchange="SMART", comboLegs=legs
        )

    async def _fok(self) -> None:
        limit = -(WING - TICK)  # a credit of nearly the whole wing: nobody pays it
        trade = self.ib.placeOrder(
            self._bag(), LimitOrder("BUY", 1, limit, tif="FOK", orderRef=f"{REF}:fok")
        )
        await _until(self.ib, trade.isDone, self.t.timeout_s)
        positions = await self.ib.reqPositionsAsync()
        held = [
            p for p in positions if p.contract.conId in {c.conId for c in self.legs} and p.position
        ]
        ok = trade.orderStatus.status == "Cancelled" and not trade.fills and not held
        self.report.add(
            "FOK killed",
            ok,
            f"{trade.orderStatus.status}, {len(trade.fills)} fills, {len(held)} positions left",
        )

    async def _whatif(self) -> None:
        order = LimitOrder("BUY", 1, -(WING - TICK), tif="DAY")
        try:
            state = await asyncio.wait_for(
                self.ib.whatIfOrderAsync(self._bag(), order), self.t.timeout_s
            )
            margin = float(state.initMarginChange)
        except (TimeoutError, ValueError):
            self.report.add("whatIf margin", False, "no margin answer")
            return
        ok = 0 < margin < 1e9
        self.report.add(
            "whatIf margin", ok, f"initial margin change {margin:,.2f} for a {WING}-wide condor"
        )

    async def _stops(self) -> None:
        closing = self._bag(closing=True)
        group = f"{REF}:oca"
        for n, trigger in enumerate((WING - 2 * TICK, WING - TICK)):
            # shaped as the engine's pair: stop-limits, the backup's limit at the wing width (a
            # precautionary setting refusing a limit that far from the market shows up here)
            order = StopLimitOrder(
                "BUY",
                1,
                WING,
                trigger,
                tif="DAY",
                ocaGroup=group,
                ocaType=1,
                orderRef=f"{REF}:stop{n}",
            )
            self.stops.append(self.ib.placeOrder(closing, order))
        working = ("PreSubmitted", "Submitted")
        ok = await _until(
            self.ib,
            lambda: all(s.orderStatus.status in working and s.order.permId for s in self.stops),
            self.t.timeout_s,
        )
        self.report.add(
            "OCA stop pair",
            ok,
            ", ".join(
                f"{s.order.orderRef} {s.orderStatus.status} perm {s.order.permId}"
                for s in self.stops
            ),
        )
        first = self.stops[0]
        perm, moved = first.order.permId, round(float(first.order.auxPrice or 0) - TICK, 2)
        first.order.auxPrice = moved
        self.ib.placeOrder(closing, first.order)
        echo = await _until(self.ib, lambda: self._echoed(first, moved), self.t.timeout_s)
        same = first.order.permId == perm and first.isActive()
        self.report.add(
            "stop moved in place",
            echo and same,
            f"trigger {moved} perm {first.order.permId} (was {perm})",
        )

    async def _connect_again(self, attempts: int = 3) -> None:
        """Connect with the same client id (TWS may still hold the old session a moment:
        326; try again)."""
        for attempt in range(attempts):
            try:
                await self.ib.connectAsync(
                    self.t.host,
                    self.t.port,
                    clientId=self.t.client_id,
                    timeout=self.t.timeout_s / attempts,
                )
                return
            except (ConnectionError, TimeoutError):
                self.ib.disconnect()
                if attempt == attempts - 1:
                    raise

    @staticmethod
    def _echoed(trade: Trade, trigger: float) -> bool:
        return abs(float(trade.order.auxPrice or 0) - trigger) < 1e-9 and trade.isActive()

    async def _reconnect(self) -> None:
        refs = {s.order.orderRef: s.order.permId for s in self.stops}
        self.ib.disconnect()
        await self._connect_again()
        seen = {
            t.order.orderRef: t.order.permId
            for t in self.ib.openTrades()
            if t.order.orderRef in refs
        }
        self.report.add("refs after reconnect", seen == refs, f"{seen}")
        self.stops = [t for t in self.ib.openTrades() if t.order.orderRef in refs]
        for trade in self.stops:
            self.ib.cancelOrder(trade.order)
        ok = await _until(
            self.ib,
            lambda: all(t.orderStatus.status == "Cancelled" for t in self.stops),
            self.t.timeout_s,
        )
        self.report.add(
            "stops cancelled",
            ok and len(self.stops) == 2,
            ", ".join(f"{t.order.orderRef} {t.orderStatus.status}" for t in self.stops),
        )

    async def _errors(self) -> None:
        bogus = Option("SPX", "20991231", 1.5, "P", "SMART", tradingClass="SPXW")
        await self.ib.reqContractDetailsAsync(bogus)
        self.ib.client.cancelOrder(2**31 - 2, "")  # type: ignore[no-untyped-call]
        await _until(self.ib, lambda: {200, 10147} <= set(self.codes), self.t.timeout_s)
        wanted = {200, 10147} | ({202} if self.stops else set())
        seen = sorted(set(self.codes) & (wanted | {201}))
        self.report.add(
            "error codes", wanted <= set(self.codes), f"expected {sorted(wanted)}, seen {seen}"
        )
