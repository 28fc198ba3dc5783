"""The ``condordesk`` command.

::

    condordesk --autotrade [--profile P] [--set K=V ...] [--speed N|max] [--sessions N]
               [--seed S] [--start-date YYYY-MM-DD] [--summary-json PATH]
    condordesk journal [--profile P] [--set K=V ...] [--json] [--day YYYY-MM-DD]
    condordesk reconcile [--profile P] [--set K=V ...] [--json] [--repair]
    condordesk profile check PATH_OR_NAME [--set K=V ...]
    condordesk profile show [--profile P] [--set K=V ...]
    condordesk profile list

Exit codes: 0 done, 1 the run failed, 2 bad usage or a broken profile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loguru import logger

from condordesk import __version__
from condordesk.config import paths
from condordesk.config.loader import available_profiles, effective_toml, load_profile
from condordesk.errors import CondordeskError, ConfigError
from condordesk.journal_view import condor_rows, render_table

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="condordesk", description="SPX 0DTE iron-condor autotrader"
    )
    parser.add_argument("--version", action="version", version=f"condordesk {__version__}")
    _profile_args(parser)
    parser.add_argument("--autotrade", action="store_true", help="run the engine headless")
    parser.add_argument("--speed", help="simulator speed: a factor (e.g. 120) or 'max'")
    parser.add_argument(
        "--sessions", type=int, help="simulated sessions to run (0 = until stopped)"
    )
    parser.add_argument("--seed", type=int, help="simulator seed")
    parser.add_argument("--start-date", help="first simulated day, YYYY-MM-DD (default: today)")
    parser.add_argument(
        "--summary-json", type=Path, metavar="PATH", help="write the run summary here"
    )
    parser.add_argument("--log-level", help="console log level (default: the profile's)")
    parser.add_argument(
        "--live", action="store_true", help="confirm trading a LIVE account (mode = 'live')"
    )
    sub = parser.add_subparsers(dest="command")

    journal = sub.add_parser("journal", help="list the condors in a profile's journal")
    _profile_args(journal)
    journal.add_argument("--json", action="store_true", help="print JSON")
    journal.add_argument("--day", help="only this trading day (YYYY-MM-DD)")

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
    return parser


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


def cmd_autotrade(args: argparse.Namespace) -> int:
    """Run the engine until stopped or its sessions are done."""
    from condordesk.runlock import EngineLock

    loaded = load_profile(args.profile, _sim_overrides(args))
    profile = loaded.profile
    with EngineLock(profile.name):  # before anything touches the journal: one engine per profile
        summary = _run_engine(args, loaded.source, profile)
    report = summary.to_json()
    logger.info(
        "run done: {} session(s), {} condor(s) opened, realized P&L {} after {} commissions",
        report["sessions"],
        report["condors_opened"],
        report["realized_pnl"],
        report["commissions"],
    )
    if args.summary_json:
        args.summary_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        logger.info("summary written to {}", args.summary_json)
    return EXIT_OK


def _run_engine(args: argparse.Namespace, source: str, profile: Any) -> Any:
    from condordesk.bootstrap import build_ib, build_sim
    from condordesk.logs import setup_logging
    from condordesk.market.vtime import VirtualTimeEventLoop

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

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _on_signal, runtime.engine, sig)
        return await runtime.engine.run()

    factory = VirtualTimeEventLoop if runtime.virtual_time else None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main())
    finally:
        runtime.journal.close()


def _on_signal(engine: Any, sig: signal.Signals) -> None:
    logger.warning("{} received: stopping (working stops stay at the broker)", sig.name)
    engine.request_stop()


def cmd_journal(args: argparse.Namespace) -> int:
    """Print the condors of a profile's journal."""
    from datetime import date

    from condordesk.store.journal import Journal

    profile = load_profile(args.profile, args.overrides).profile
    path = paths.journal_path(profile)
    if not path.exists():
        print(f"no journal yet for profile {profile.name} ({path})", file=sys.stderr)
        rows: list[dict[str, Any]] = []
    else:
        journal = Journal(path)
        try:
            rows = condor_rows(journal, date.fromisoformat(args.day) if args.day else None)
        finally:
            journal.close()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render_table(rows))
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Reconcile a profile's journal with its broker, on demand."""
    from condordesk.bootstrap import build_reconcile_client
    from condordesk.engine.repair import reconcile_once, render_plan
    from condordesk.engine.service import risk_rules
    from condordesk.market.clock import LiveClock
    from condordesk.runlock import engine_running
    from condordesk.store.journal import Journal

    profile = load_profile(args.profile, args.overrides).profile
    if args.repair and engine_running(profile.name):
        raise ConfigError(
            f"the engine of profile {profile.name} is running: it reconciles and repairs by "
            "itself; run reconcile without --repair to look"
        )
    clock = LiveClock()
    broker = build_reconcile_client(profile, clock)
    journal = Journal(paths.journal_path(profile))

    async def main() -> Any:
        await broker.connect()
        try:
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


def cmd_profile(args: argparse.Namespace) -> int:
    """profile check / show / list."""
    if args.profile_command == "check":
        loaded = load_profile(args.target, args.overrides)
        p = loaded.profile
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

        gateway_main(argv[1:])
        return EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "journal":
            return cmd_journal(args)
        if args.command == "profile":
            return cmd_profile(args)
        if args.command == "reconcile":
            return cmd_reconcile(args)
        if args.autotrade:
            return cmd_autotrade(args)
        parser.print_help()
        print(
            "\nThe operator console is not part of this version yet: run with --autotrade.",
            file=sys.stderr,
        )
        return EXIT_USAGE
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
