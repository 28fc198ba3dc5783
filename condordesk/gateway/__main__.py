"""Run the loopback gateway by hand: ``python -m condordesk.gateway --port 7497``.

Any TWS API client (ib_async, the IB adapter, TWS API samples) can then connect to
127.0.0.1:<port> and trade the simulated SPX market. The session calendar is the real one
(:class:`~condordesk.market.calendar.TradingCalendar`); without ``--start`` the simulated
clock starts five minutes before the next session opens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol

from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.broker.sim.sessions import SessionHours
from condordesk.config import paths
from condordesk.config.profile import SimulatorConfig
from condordesk.errors import CalendarError
from condordesk.gateway.server import Gateway
from condordesk.market.calendar import Session, TradingCalendar
from condordesk.market.clock import ET, LiveClock, SimClock

LEAD = timedelta(minutes=5)


class _Calendar(Protocol):
    def session(self, day: date) -> Session | None: ...


def sessions_of(calendar: _Calendar) -> SessionHours:
    """The SimBroker's session hours from a trading calendar (None outside its range)."""

    def hours(day: date) -> tuple[datetime, datetime] | None:
        try:
            found = calendar.session(day)
        except CalendarError:
            return None
        return None if found is None else (found.open, found.close)

    return hours


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m condordesk.gateway", description=__doc__)
    p.add_argument("--port", type=int, default=7497, help="loopback port (0: any free one)")
    p.add_argument("--account", default="DU1234567")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument(
        "--start",
        type=_start_arg,
        help="simulated start in New York time: HH:MM (that time of the next trading day) "
        "or YYYY-MM-DDTHH:MM",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scenario", default="mixed")
    p.add_argument("--spot", type=float, default=6000.0)
    faults = p.add_argument_group("faults", "make the gateway misbehave, to watch a client cope")
    faults.add_argument(
        "--partial-fills",
        type=_count,
        default=0,
        metavar="N",
        help="the next N resting orders of 2+ contracts fill in pieces (FOK orders stay whole)",
    )
    faults.add_argument(
        "--fill-pieces", type=_pieces, default=2, metavar="P", help="pieces per order (default 2)"
    )
    faults.add_argument(
        "--piece-interval",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="least simulated seconds between two pieces (default: the next tick)",
    )
    return p.parse_args(argv)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _pieces(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be 2 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _start_arg(text: str) -> datetime | time:
    """``HH:MM`` or an ISO date and time."""
    try:
        return time.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text)


def _start(args: argparse.Namespace, calendar: TradingCalendar) -> datetime:
    if isinstance(args.start, datetime):
        start: datetime = args.start
        return start if start.tzinfo else start.replace(tzinfo=ET)
    session = calendar.next_session(LiveClock().now())
    if isinstance(args.start, time):  # that time of the next trading day
        return datetime.combine(session.day, args.start, ET)
    return session.open - LEAD


async def serve(args: argparse.Namespace) -> None:
    today = LiveClock().now_et().date()
    first = args.start.year if isinstance(args.start, datetime) else today.year
    calendar = TradingCalendar.load(paths.ensure(paths.cache_dir()), first - 1, first + 1)
    clock = SimClock(_start(args, calendar), speed=args.speed)
    config = SimulatorConfig(seed=args.seed, scenario=args.scenario, spot=args.spot)
    broker = SimBroker(clock, SimMarket(config), sessions_of(calendar), account=args.account)
    gateway = Gateway(broker, clock, account=args.account, port=args.port)
    if args.partial_fills:
        gateway.faults.partial_fills(args.partial_fills, args.fill_pieces, args.piece_interval)
    port = await gateway.start()
    print(f"gateway on 127.0.0.1:{port}, account {args.account}, clock {clock.now_et():%c}")
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, done.set)
    try:
        await done.wait()
    finally:
        await gateway.stop()
        await broker.close()


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
