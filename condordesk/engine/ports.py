"""What the engine's helper modules need of their owners, as typing Protocols.

The order desk (:class:`~condordesk.engine.desk.Desk`) hands itself to its exit flows, stop
flows, money bookkeeping and late entries; the engine
(:class:`~condordesk.engine.service.Engine`) hands itself to its commands, its flatten and its
safe-state keeper. Each helper names here exactly the part of its owner it uses, so it never
imports its owner's module (no import cycle, not even one seen only by the type checker), and
the owner satisfies the Protocol structurally (mypy checks it where the owner hands itself
over). This module sits low in the engine: it imports neither the desk nor the service.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from condordesk.broker.base import Broker
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.domain.orders import Execution, OrderReport, OrderRequest, OrderRole
from condordesk.engine.book import LiveCondor
from condordesk.engine.bus import EventBus
from condordesk.engine.orders import OrderTracker
from condordesk.engine.pauses import Pauses
from condordesk.engine.stoplock import StopLock
from condordesk.market.clock import Clock
from condordesk.risk.rules import RiskRules
from condordesk.store.journal import FillRecord, Journal

# -- parts of the desk that several helpers use ---------------------------------------------


class Finishing(Protocol):
    """The desk's condor bookkeeping: a state change, and the end of a condor."""

    def set_state(self, live: LiveCondor, state: CondorState, **fields: object) -> None: ...

    def finish(
        self,
        live: LiveCondor,
        reason: ExitReason,
        settlement: Decimal | None = None,
        note: str | None = None,
    ) -> None: ...


class Closing(Protocol):
    """The desk's buy-back of a condor (an exit flow)."""

    async def close(
        self,
        live: LiveCondor,
        reason: ExitReason,
        limit: Decimal | None = None,
        cap: Decimal | None = None,
    ) -> bool: ...


class Arming(Protocol):
    """The desk's placement of a condor's stop pair."""

    async def place_stops(
        self, live: LiveCondor, trigger: Decimal | None = None, attempts: int = 2
    ) -> bool: ...


class DeskForOrders(Protocol):
    """The desk's order plumbing that both exit and stop flows use."""

    broker: Broker
    journal: Journal
    bus: EventBus
    clock: Clock
    tracker: OrderTracker
    fill_timeout_s: float
    alert: Callable[[str, str, str], None]

    def spawn(self, coro: object) -> None: ...

    async def send(
        self, live: LiveCondor, role: OrderRole, request: OrderRequest
    ) -> OrderReport | None: ...

    async def cancel(self, order_id: int) -> None: ...

    def units(self, live: LiveCondor) -> int: ...


# -- what the desk's helpers need of the desk ------------------------------------------------


class DeskForFlights(Protocol):
    """The desk as a late entry (``flights.late_entry``) uses it."""

    journal: Journal
    live: dict[str, LiveCondor]
    alert: Callable[[str, str, str], None]

    async def on_entry_filled(self, live: LiveCondor) -> None: ...

    def fills(self, condor_id: str) -> list[FillRecord]: ...


class DeskForMoney(Finishing, Protocol):
    """The desk as settlement and late commissions (``money``) use it."""

    broker: Broker
    journal: Journal
    bus: EventBus
    live: dict[str, LiveCondor]
    alert: Callable[[str, str, str], None]


class DeskForExits(DeskForOrders, Finishing, Arming, Protocol):
    """The desk as its exit flows (``exits.ExitFlows``) use it."""

    chase_ticks: int

    def holds(self, live: LiveCondor) -> bool: ...

    async def new_fills(self, seconds: float) -> None: ...

    async def sync_executions(self) -> int: ...

    async def verify_stops(self, live: LiveCondor) -> bool: ...


class DeskForStops(DeskForOrders, Closing, Protocol):
    """The desk as its stop flows (``stops.StopDesk``) use it."""

    rules: RiskRules
    live: dict[str, LiveCondor]

    def apply_report(self, report: OrderReport) -> None: ...

    def fills(self, condor_id: str) -> list[FillRecord]: ...

    async def exit_room(
        self, live: LiveCondor, request: OrderRequest, replacing: int | None = None
    ) -> bool: ...


# -- what the engine's helpers need of the engine ----------------------------------------------


class DeskForFlatten(Closing, Protocol):
    """The desk as a flatten drives it."""

    live: dict[str, LiveCondor]
    connected: bool
    tracker: OrderTracker

    async def cancel(self, order_id: int) -> None: ...


class DeskForCommands(DeskForFlatten, Arming, Protocol):
    """The desk as operator commands (``commands``) drive it."""

    def spawn(self, coro: object) -> None: ...

    async def move_stops(self, live: LiveCondor, trigger: Decimal, reason: str) -> bool: ...

    async def cancel_stops(self, live: LiveCondor, reason: str) -> None: ...


class DeskForSafety(Protocol):
    """The desk as the safe-state keeper asks it about fills the journal refused."""

    @property
    def unjournaled(self) -> int: ...

    def unjournaled_fills(self) -> list[Execution]: ...

    def retry_fills(self) -> bool: ...

    def cancel_entries(self) -> list[str]: ...


class EngineForFlatten(Protocol):
    """The engine as a flatten (``flatten.flatten``) uses it."""

    broker: Broker
    journal: Journal
    clock: Clock

    @property
    def desk(self) -> DeskForFlatten: ...

    @property
    def stopping(self) -> bool: ...

    def alert(self, level: str, code: str, message: str) -> None: ...

    async def reconcile(self, why: str) -> object: ...  # the plan: a flatten does not read it


class EngineForCommands(EngineForFlatten, Protocol):
    """The engine as operator commands (``commands``) use it; a FlattenAll runs a flatten."""

    bus: EventBus
    pauses: Pauses
    stop_lock: StopLock
    open_alerts: list[str]
    known_findings: set[str]
    acknowledged: set[str]
    flattening: bool

    @property
    def desk(self) -> DeskForCommands: ...

    @property
    def paused_reason(self) -> str | None: ...

    def add_pause(self, kind: str, text: str, origin: str) -> None: ...

    def lift_pause(self, kind: str, origin: str) -> bool: ...


class EngineForSafety(Protocol):
    """The engine as its safe-state keeper (``safety.Safety``) uses it."""

    journal: Journal
    clock: Clock
    bus: EventBus
    pauses: Pauses
    open_alerts: list[str]
    heartbeat: Callable[[str], None] | None
    heartbeat_failed: Callable[[str], None] | None

    @property
    def desk(self) -> DeskForSafety: ...

    def alert(self, level: str, code: str, message: str) -> None: ...

    def add_pause(self, kind: str, text: str, origin: str) -> None: ...

    def lift_pause(self, kind: str, origin: str) -> bool: ...

    def status_line(self) -> str: ...
