"""Run the loopback gateway by hand: ``condordesk gateway --port 7497``.

Any TWS API client (ib_async, the IB adapter, TWS API samples) can then connect to
127.0.0.1:<port> and trade the simulated SPX market. The session calendar is the real one
(:class:`~condordesk.market.calendar.TradingCalendar`); without ``--start`` the simulated
clock starts five minutes before the next session opens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol, get_args

from condordesk.app.argtypes import positive_number
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.broker.sim.sessions import SessionHours
from condordesk.config import paths
from condordesk.config.profile import SimulatorConfig
from condordesk.errors import CalendarError, CondordeskError
from condordesk.gateway.server import Gateway
from condordesk.market.calendar import Session, TradingCalendar
from condordesk.market.clock import ET, LiveClock, SimClock

LEAD = timedelta(minutes=5)
SCENARIOS: tuple[str, ...] = get_args(SimulatorConfig.model_fields["scenario"].annotation)


class CannotListen(CondordeskError):
    """The gateway's port could not be bound (in use, or a privileged one)."""


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
    p = argparse.ArgumentParser(
        prog="condordesk gateway",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--port", type=_port, default=7497, help="loopback port, 1-65535 (0: any free one)"
    )
    p.add_argument(
        "--account",
        default="DU1234567",
        help="the account id the gateway reports (default DU1234567, a paper-style id)",
    )
    p.add_argument(
        "--speed", type=_speed, default=1.0, help="simulated seconds per second (default 1)"
    )
    p.add_argument(
        "--start",
        type=_start_arg,
        help="simulated start in New York time: HH:MM (that time of the next trading day) "
        "or YYYY-MM-DDTHH:MM",
    )
    p.add_argument("--seed", type=int, default=1, help="simulated market's seed (default 1)")
    p.add_argument(
        "--scenario",
        default="mixed",
        choices=SCENARIOS,
        metavar="NAME",
        help="simulated market scenario, as the profile key simulator.scenario: "
        + ", ".join(SCENARIOS)
        + " (default mixed)",
    )
    p.add_argument(
        "--spot", type=_spot, default=6000.0, help="SPX level at the start (default 6000)"
    )
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535 (or 0 for any free one), got {value}")
    return value


_speed = positive_number("not a number: {text!r}", "must be a positive factor, got {text}")
_spot = positive_number("not a number: {text!r}", "must be a positive level, got {text}")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _count(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _pieces(text: str) -> int:
    value = _int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be 2 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _start_arg(text: str) -> datetime | time:
    """``HH:MM`` or an ISO date and time."""
    try:
        return time.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time HH:MM (00:00-23:59) nor a date and time YYYY-MM-DDTHH:MM"
        ) from None


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
    market = SimMarket(config)
    broker = SimBroker(clock, market, sessions_of(calendar), account=args.account)
    gateway = Gateway(broker, clock, account=args.account, port=args.port, market=market)
    if args.partial_fills:
        gateway.faults.partial_fills(args.partial_fills, args.fill_pieces, args.piece_interval)
    try:
        port = await gateway.start()
    except OSError as exc:  # the listening socket: a port in use, or not ours to take
        await broker.close()
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise CannotListen(f"cannot listen on 127.0.0.1:{args.port}: {reason}") from None
    started = f"{clock.now_et():%Y-%m-%d %H:%M:%S} ET"
    print(f"gateway on 127.0.0.1:{port}, account {args.account}, clock {started}")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gateway until SIGINT/SIGTERM.

    Args:
        argv: The options (without the program name); ``sys.argv[1:]`` when None.

    Returns:
        0 when stopped, 1 when it could not start (the reason on stderr), 2 on bad usage
        (argparse exits).
    """
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except CondordeskError as exc:
        print(f"condordesk gateway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
