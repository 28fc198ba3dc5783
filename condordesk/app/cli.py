"""The ``condordesk`` command.

::

    condordesk [tui] [--profile P] [--set K=V ...] [--speed N] [--seed S] ...
    condordesk gui [--profile P] [--set K=V ...] [--speed N] [--seed S] ...
    condordesk --autotrade [--profile P] [--set K=V ...] [--speed N|max] [--sessions N]
               [--seed S] [--start-date YYYY-MM-DD] [--summary-json PATH]
    condordesk ctl [--profile P] [--json] status|pause|resume|flatten|ack
    condordesk ctl [--profile P] [--json] move-stop ID --trigger X | close ID [--limit X]
                   | cancel-stop ID | arm-stops ID
    condordesk journal [--profile P] [--set K=V ...] [--json] [--day YYYY-MM-DD]
    condordesk journal backup [--profile P] DEST
    condordesk doctor [--profile P] [--set K=V ...] [--json] [--root DIR]
    condordesk reconcile [--profile P] [--set K=V ...] [--json] [--repair]
    condordesk profile check PATH_OR_NAME [--set K=V ...]
    condordesk profile show [--profile P] [--set K=V ...]
    condordesk profile list
    condordesk profile new NAME [--mode sim|paper|live --account ID] [--yes-live-account]
    condordesk secret set|delete NAME [--profile P] | secret list|check [--profile P]
    condordesk notify test [--profile P]

Exit codes: 0 done, 1 the run failed, 2 bad usage or a broken profile. ``ctl``: 0 accepted,
1 rejected (the reason is printed), 2 bad usage, 3 no engine of the profile is running, 4 the
engine did not answer in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from loguru import logger

from condordesk import __version__
from condordesk.app import cli_admin, paper_check
from condordesk.app.argtypes import positive_number
from condordesk.app.journal_view import condor_rows, render_table
from condordesk.config import paths
from condordesk.config.loader import available_profiles, effective_toml, load_profile
from condordesk.errors import CondordeskError, ConfigError
from condordesk.ops import backup, doctor, fsafe

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_ENGINE, EXIT_NO_ANSWER = 0, 1, 2, 3, 4
_PLACEHOLDER = re.compile(r"[A-Z]+0+")
"""The templates' account ids (DU0000000, U0000000): never a real account."""


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


def _log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def _writable_file(text: str) -> Path:
    path = Path(text)
    if not path.parent.is_dir():  # checked before the run, not after a day of it
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r} to write {text!r} in")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory")
    return path


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile", "-p", metavar="NAME|PATH", help="profile name or TOML path (default: sim)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile key, dotted (repeatable), e.g. --set broker.port=4002",
    )


def _engine_args(p: argparse.ArgumentParser, *, speed_help: str) -> None:
    p.add_argument("--speed", help=speed_help)
    p.add_argument("--sessions", type=int, help="simulated sessions to run (0 = until stopped)")
    p.add_argument("--seed", type=int, help="simulator seed")
    p.add_argument("--start-date", help="first simulated day, YYYY-MM-DD (default: today)")
    p.add_argument(
        "--log-level",
        type=_log_level,
        metavar="LEVEL",
        help="log level: " + ", ".join(LOG_LEVELS) + " (default: the profile's)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="confirm trading real money: needed for any account that is not an IB paper "
        "account (DU...), whatever the profile's mode says",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="condordesk",
        description="SPX 0DTE iron-condor autotrader. With no command (or `tui`), opens the "
        "operator console: attached to the profile's running engine, else with an engine of "
        "its own.",
    )
    parser.add_argument("--version", action="version", version=f"condordesk {__version__}")
    _profile_args(parser)
    parser.add_argument(
        "--autotrade", action="store_true", help="run the engine headless (no console)"
    )
    _engine_args(parser, speed_help="simulator speed: a factor (e.g. 120) or 'max'")
    parser.add_argument(
        "--summary-json", type=_writable_file, metavar="PATH", help="write the run summary here"
    )
    sub = parser.add_subparsers(dest="command")

    tui = sub.add_parser(
        "tui",
        help="the operator console (the default command): attaches to the running engine of "
        "the profile, or starts one of its own",
    )
    _profile_args(tui)
    _engine_args(tui, speed_help="simulator speed of an embedded engine: a factor (e.g. 120)")

    gui = sub.add_parser(
        "gui",
        help="the desktop console (needs the gui extra): attaches to the running engine of the "
        "profile, or starts one of its own",
    )
    _profile_args(gui)
    _engine_args(gui, speed_help="simulator speed of an embedded engine: a factor (e.g. 120)")

    _ctl_parser(sub)

    journal = sub.add_parser("journal", help="list the condors in a profile's journal")
    _profile_args(journal)
    journal.add_argument("--json", action="store_true", help="print JSON")
    journal.add_argument("--day", type=_day_arg, help="only this trading day (YYYY-MM-DD)")
    jbackup = journal.add_subparsers(dest="journal_command").add_parser(
        "backup", help="an online copy of the journal (SQLite backup API), checked"
    )
    _profile_args(jbackup)
    jbackup.add_argument("dest", metavar="DEST", help="a file, or a directory (time-stamped)")
    jbackup.set_defaults(handler=backup.cmd_backup)

    reconcile = sub.add_parser(
        "reconcile", help="compare the journal with the broker and print the findings"
    )
    _profile_args(reconcile)
    reconcile.add_argument("--json", action="store_true", help="print JSON")
    reconcile.add_argument(
        "--repair",
        action="store_true",
        help="apply the safe repairs (re-arm stops, cancel stops of closed condors); refused "
        "while the engine of the profile runs",
    )
    reconcile.add_argument(
        "--live",
        action="store_true",
        help="confirm repairing a real-money account (any account that is not an IB paper one)",
    )

    gateway = sub.add_parser(
        "gateway", help="run the loopback TWS-protocol gateway on the simulated market"
    )
    gateway.add_argument(
        "gateway_args",
        nargs=argparse.REMAINDER,
        help="--port N --speed N --start YYYY-MM-DDTHH:MM --seed S ...",
    )

    profile = sub.add_parser("profile", help="check, show or list profiles")
    psub = profile.add_subparsers(dest="profile_command", required=True)
    check = psub.add_parser("check", help="validate a profile")
    check.add_argument("target", metavar="PATH_OR_NAME")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    show = psub.add_parser(
        "show", help="print the effective profile (defaults and overrides applied)"
    )
    _profile_args(show)
    psub.add_parser("list", help="list the profiles available by name")
    cli_admin.register(sub, psub)  # secret, notify, profile new
    paper_check.register(sub)
    doctor.register(sub)
    return parser


def _day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _decimal_arg(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a price: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive price: {text!r}")
    return value


_timeout = positive_number(
    "not a number of seconds: {text!r}", "must be more than 0 seconds, got {text}"
)


def _ctl_options(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--profile", "-p", metavar="NAME|PATH", default=default, help="profile name")
    p.add_argument("--json", action="store_true", default=default, help="print JSON")


def _ctl_parser(sub: Any) -> None:
    # the options may also follow the action (`ctl status --json`): there they default to
    # SUPPRESS, so the action's parser keeps what was given before it
    common = argparse.ArgumentParser(add_help=False)
    _ctl_options(common, argparse.SUPPRESS)
    ctl = sub.add_parser(
        "ctl",
        help="control the running engine of a profile (for scripts)",
        description="Exit codes: 0 accepted, 1 rejected, 2 bad usage, 3 no engine running, "
        "4 no answer in time.",
    )
    _ctl_options(ctl, None)
    ctl.add_argument(
        "--timeout", type=_timeout, default=120.0, help="seconds to wait for the ack (default 120)"
    )
    acts = ctl.add_subparsers(dest="action", required=True, metavar="ACTION")
    acts.add_parser("status", parents=[common], help="the engine's state, condors and P&L")
    pause = acts.add_parser("pause", parents=[common], help="pause new entries")
    pause.add_argument("--reason", default="operator", help="shown with the pause")
    acts.add_parser("resume", parents=[common], help="allow new entries again")
    acts.add_parser("flatten", parents=[common], help="pause entries and close every condor")
    acts.add_parser("ack", parents=[common], help="acknowledge the open alerts")
    move = acts.add_parser("move-stop", parents=[common], help="move a condor's stop")
    move.add_argument("condor_id")
    move.add_argument("--trigger", type=_decimal_arg, required=True, help="new stop trigger")
    close = acts.add_parser("close", parents=[common], help="buy a condor back")
    close.add_argument("condor_id")
    close.add_argument("--limit", type=_decimal_arg, help="limit price (default: chase)")
    cancel = acts.add_parser(
        "cancel-stop", parents=[common], help="cancel a condor's stop (leaves it unprotected)"
    )
    cancel.add_argument("condor_id")
    arm = acts.add_parser("arm-stops", parents=[common], help="place a condor's planned stops")
    arm.add_argument("condor_id")


def _sim_overrides(args: argparse.Namespace) -> list[str]:
    extra = []
    if args.speed is not None:
        extra.append(f"simulator.speed={args.speed}")
    if args.sessions is not None:
        extra.append(f"simulator.sessions={args.sessions}")
    if args.seed is not None:
        extra.append(f"simulator.seed={args.seed}")
    if args.start_date is not None:
        extra.append(f'simulator.start_date="{args.start_date}"')
    return list(args.overrides) + extra


def _check_run_args(args: argparse.Namespace, profile: Any) -> None:
    """Refuse engine options that cannot mean what they say for this profile."""
    if args.live and profile.broker.kind == "sim":
        raise ConfigError(
            f"--live confirms trading real money, but profile {profile.name} trades the "
            "simulator (broker.kind = 'sim'): leave --live out"
        )
    if args.start_date is not None:
        from condordesk.app.bootstrap import load_calendar

        day = profile.simulator.start_date
        calendar = load_calendar(day, 1)
        if calendar.session(day) is None:
            nxt = next(calendar.sessions_from(day)).day
            raise ConfigError(
                f"--start-date {day:%Y-%m-%d} ({day:%A}) is not a trading day (a weekend or "
                f"an exchange holiday); the next session is {nxt:%Y-%m-%d} ({nxt:%A})"
            )


def cmd_autotrade(args: argparse.Namespace) -> int:
    """Run the engine until stopped or its sessions are done."""
    from condordesk.ops.runlock import EngineLock

    loaded = load_profile(args.profile, _sim_overrides(args))
    profile = loaded.profile
    _check_run_args(args, profile)
    with EngineLock(profile.name) as lock:  # before anything touches the journal
        summary = _run_engine(args, loaded.source, profile, lock)
    report = summary.to_json()
    logger.info(
        "run done: {} session(s), {} condor(s) opened, realized P&L {} after {} commissions "
        "({} of them for condors still open), {} warning(s)",
        report["sessions"],
        report["condors_opened"],
        report["realized_pnl"],
        report["commissions"],
        report["commissions_of_open_condors"],
        report["warnings"],
    )
    if args.summary_json:
        # an export: owner-only, never written through a symlink (issue 13)
        try:
            fsafe.write_private(
                args.summary_json, json.dumps(report, indent=2) + "\n", private_dir=False
            )
        except OSError as exc:
            logger.error("summary not written to {}: {}", args.summary_json, exc)
            return EXIT_FAILED
        logger.info("summary written to {}", args.summary_json)
    return EXIT_OK


def _run_engine(args: argparse.Namespace, source: str, profile: Any, lock: Any) -> Any:
    from condordesk.app.bootstrap import build_ib, build_sim
    from condordesk.engine.control import ControlServer
    from condordesk.market.vtime import VirtualTimeEventLoop
    from condordesk.ops.logs import setup_logging

    if profile.broker.kind == "sim":
        runtime = build_sim(profile)
    else:
        runtime = build_ib(profile, live_confirmed=args.live)
    log_file = (
        paths.ensure(paths.log_dir()) / f"{profile.name}.log" if profile.logging.file else None
    )
    setup_logging(
        args.log_level or profile.logging.level,
        runtime.clock,
        log_file,
        rotation=profile.logging.rotation,
        retention=profile.logging.retention,
    )
    logger.info(
        "profile {} from {} ({} mode, speed {}), journal {}",
        profile.name,
        source,
        profile.mode,
        profile.simulator.speed if profile.broker.kind == "sim" else "live",
        runtime.journal.path,
    )

    from condordesk.ops.systemd import attach

    heartbeat = attach(runtime.engine, runtime.clock)  # None unless run by systemd

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _on_signal, runtime.engine, sig, heartbeat)
        async with runtime.alerts, ControlServer(runtime.engine, profile.name, lock=lock):
            return await runtime.engine.run()

    factory = VirtualTimeEventLoop if runtime.virtual_time else None
    warnings = _WarningLines()
    sink = logger.add(warnings, level="WARNING", filter=warnings.only_warnings, format="{message}")
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            summary = runner.run(main())
        _count_open_commissions(summary, runtime)
        summary.warnings = warnings.count  # the WARNING lines the run logged
        return summary
    finally:
        logger.remove(sink)
        runtime.journal.close()


class _WarningLines:
    """A loguru sink counting the WARNING lines of a run (not ERROR or CRITICAL ones)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message: Any) -> None:
        self.count += 1

    @staticmethod
    def only_warnings(record: Any) -> bool:
        return bool(record["level"].name == "WARNING")


def _count_open_commissions(summary: Any, runtime: Any) -> None:
    """Add the commissions already charged for condors still open (their entries')."""
    from condordesk.engine.book import commissions_of

    for condor_id in runtime.engine.desk.live:
        charged, _estimated = commissions_of(runtime.journal.fills(condor_id))
        summary.count_open(charged)


def _on_signal(engine: Any, sig: signal.Signals, heartbeat: Any = None) -> None:
    where = (
        "the simulator ends with this process"
        if engine.profile.broker.kind == "sim"
        else "working stops stay at the broker"
    )
    logger.warning("{} received: stopping ({})", sig.name, where)
    if heartbeat is not None:
        heartbeat.stopping(f"{sig.name} received: stopping")
    engine.request_stop()


def cmd_journal(args: argparse.Namespace) -> int:
    """Print the condors of a profile's journal."""
    from condordesk.store.journal import Journal

    profile = load_profile(args.profile, args.overrides).profile
    path = paths.journal_path(profile)
    if not path.exists():
        print(f"no journal yet for profile {profile.name} ({path})", file=sys.stderr)
        rows: list[dict[str, Any]] = []
    else:
        journal = Journal(path)
        try:
            rows = condor_rows(journal, args.day)
        finally:
            journal.close()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render_table(rows))
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Reconcile a profile's journal with its broker, on demand."""
    from condordesk.app.bootstrap import build_reconcile_client
    from condordesk.engine.live import LiveAccountRefused, account_mode, refusal
    from condordesk.engine.repair import reconcile_once, render_plan
    from condordesk.engine.service import risk_rules
    from condordesk.market.clock import LiveClock
    from condordesk.ops.runlock import engine_running
    from condordesk.store.journal import Journal

    profile = load_profile(args.profile, args.overrides).profile
    if args.repair and engine_running(profile.name):
        raise ConfigError(
            f"the engine of profile {profile.name} is running: it reconciles and repairs by "
            "itself; run reconcile without --repair to look"
        )
    clock = LiveClock()
    broker = build_reconcile_client(profile, clock, repair=args.repair)
    journal = Journal(paths.journal_path(profile))

    async def main() -> Any:
        await broker.connect()
        try:
            account = await broker.account()
            real = account_mode(profile.broker.kind, account) == "live"
            if args.repair and real and not args.live:  # a repair places orders
                raise LiveAccountRefused(refusal(profile.name, profile.mode, account))
            return await reconcile_once(
                broker,
                journal,
                clock,
                risk_rules(profile),
                repair_safe=args.repair,
                today=clock.now_et().date(),
            )
        finally:
            await broker.disconnect()

    try:
        plan = asyncio.run(main())
    finally:
        journal.close()
    print(json.dumps(plan.to_json(), indent=2) if args.json else render_plan(plan))
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    """Open the operator console: attached to the profile's running engine, or embedding one."""
    from condordesk.app.consoles import choose

    profile = load_profile(args.profile, _sim_overrides(args)).profile
    _check_run_args(args, profile)
    open_handle, attached = choose(profile, live_confirmed=args.live, log_level=args.log_level)
    try:
        # imported here only: the headless path never loads textual
        from tui import run_console  # type: ignore[attr-defined, unused-ignore]
    except ImportError as exc:
        print(f"condordesk: the operator console is not available: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return int(run_console(open_handle, attached=attached, profile=profile.name))


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the desktop console: attached to the profile's running engine, or embedding one."""
    from condordesk.app.consoles import choose

    try:
        # imported here only: the headless path never loads Qt
        from gui import run_gui  # type: ignore[attr-defined, unused-ignore]
    except ImportError as exc:
        print(
            f"condordesk: the desktop console is not available ({exc}); install the gui extra: "
            "pip install 'condordesk[gui]' (Qt also needs libgl1 libegl1 libxkbcommon0 "
            "libfontconfig1 libglib2.0-0 and a font on Debian/Ubuntu)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    profile = load_profile(args.profile, _sim_overrides(args)).profile
    _check_run_args(args, profile)
    open_handle, attached = choose(profile, live_confirmed=args.live, log_level=args.log_level)
    return int(run_gui(open_handle, attached=attached, profile=profile.name))


def _ctl_command(args: argparse.Namespace) -> Any:
    from condordesk.engine import api

    make: dict[str, Any] = {
        "pause": lambda: api.PauseEntries(origin="cli", reason=args.reason),
        "resume": lambda: api.ResumeEntries(origin="cli"),
        "flatten": lambda: api.FlattenAll(origin="cli"),
        "ack": lambda: api.AcknowledgeAlerts(origin="cli"),
        "move-stop": lambda: api.MoveStop(
            origin="cli", condor_id=args.condor_id, trigger=args.trigger
        ),
        "close": lambda: api.CloseCondor(origin="cli", condor_id=args.condor_id, limit=args.limit),
        "cancel-stop": lambda: api.CancelStop(origin="cli", condor_id=args.condor_id),
        "arm-stops": lambda: api.ArmStops(origin="cli", condor_id=args.condor_id),
    }
    return make[args.action]() if args.action in make else None


def cmd_ctl(args: argparse.Namespace) -> int:
    """Ask the running engine of a profile for its status, or send it one command."""
    from condordesk.app.ctl_view import plain_snapshot, render_status
    from condordesk.engine import api
    from condordesk.engine.control import attach, socket_path
    from condordesk.ops.runlock import engine_running

    name = load_profile(args.profile, []).profile.name
    command = _ctl_command(args)

    async def talk() -> tuple[Any, Any]:
        async with attach(name) as handle:
            if command is None:
                return handle, handle.snapshot()
            async with asyncio.timeout(args.timeout):
                return handle, await handle.submit(command)

    try:
        handle, answer = asyncio.run(talk())
    except api.EngineUnavailable as exc:
        if engine_running(name):
            exc = api.EngineUnavailable(
                f"an engine of profile {name} holds its lock but its control socket "
                f"{socket_path(name)} does not answer ({exc})"
            )
        print(f"condordesk ctl: {exc}", file=sys.stderr)
        return EXIT_NO_ENGINE
    except TimeoutError:
        print(
            f"condordesk ctl: no answer within {args.timeout:g} s; the engine may still carry "
            "the command out (check with `ctl status`)",
            file=sys.stderr,
        )
        return EXIT_NO_ANSWER
    if command is None:
        if args.json:
            print(json.dumps(plain_snapshot(answer, engine_pid=handle.engine_pid), indent=2))
        else:
            print(render_status(answer, engine_pid=handle.engine_pid))
        return EXIT_OK
    verb = type(command).__name__
    if args.json:
        print(json.dumps({"command": verb, "accepted": answer.accepted, "reason": answer.reason}))
    elif answer.accepted:  # with what still holds, e.g. "entries stay paused: ..."
        print(f"accepted: {verb}" + (f" ({answer.reason})" if answer.reason else ""))
    else:
        print(f"rejected: {verb}: {answer.reason}", file=sys.stderr)
    return EXIT_OK if answer.accepted else EXIT_FAILED


def cmd_profile(args: argparse.Namespace) -> int:
    """profile check / show / list."""
    if args.profile_command == "check":
        loaded = load_profile(args.target, args.overrides)
        p = loaded.profile
        if p.broker.kind == "ib" and _PLACEHOLDER.fullmatch(p.broker.account):
            raise ConfigError(
                f"{loaded.source}: broker.account {p.broker.account} is the template's "
                "placeholder: set your IB account id (paper DU..., live U...)"
            )
        print(f"{loaded.source}: OK (profile {p.name}, mode {p.mode}, broker {p.broker.kind})")
    elif args.profile_command == "show":
        print(effective_toml(load_profile(args.profile, args.overrides).profile), end="")
    else:
        for name, where in sorted(available_profiles().items()):
            print(f"{name:<16} {where}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``condordesk`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gateway"]:  # its own options, passed through untouched
        from condordesk.gateway.__main__ import main as gateway_main

        return gateway_main(argv[1:])
    args = build_parser().parse_args(argv)
    commands = {
        "journal": cmd_journal,
        "profile": cmd_profile,
        "reconcile": cmd_reconcile,
        "ctl": cmd_ctl,
        "tui": cmd_console,
        "gui": cmd_gui,
    }
    try:
        if getattr(args, "handler", None) is not None:  # commands of condordesk.app.cli_admin
            return int(args.handler(args))
        if args.command in commands:
            return commands[args.command](args)
        return cmd_autotrade(args) if args.autotrade else cmd_console(args)
    except ConfigError as exc:
        print(f"condordesk: profile error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CondordeskError as exc:
        print(f"condordesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into a pager or head that closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
