"""``condordesk paper-check --profile P [--json]``: run the paper-account checks of
:mod:`condordesk.broker.ib.paper_check` against the profile's IB connection and report them
(a table, or JSON). Exit 0 when every check passed, 1 when one failed or the connection did
not come up, 2 when refused (not an IB profile, a live profile, not a paper account)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from condordesk.config.loader import load_profile
from condordesk.market.clock import LiveClock

if TYPE_CHECKING:  # ib_async loads only when the command runs
    from condordesk.broker.ib.paper_check import Report, Target

CLIENT_ID_OFFSET = 9
"""Added to the profile's client id, so a running engine keeps its own connection."""
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def register(sub: Any) -> None:
    """Add the ``paper-check`` command to the CLI's subparsers."""
    p = sub.add_parser(
        "paper-check",
        help="run a short, safe sequence against your IB paper account (or the loopback "
        "gateway) and report whether it behaves as the engine relies on",
    )
    p.add_argument("--profile", "-p", metavar="NAME|PATH", required=True, help="an IB profile")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_paper_check)


async def run_checks(target: Target) -> Report:
    """Every check against ``target`` on the running loop (the IB client is made on it)."""
    from condordesk.broker.ib.paper_check import PaperCheck

    return await PaperCheck(target).run()


def cmd_paper_check(args: argparse.Namespace) -> int:
    """Run the checks; print the table (or JSON)."""
    from condordesk.broker.ib.paper_check import NotPaper, Target

    profile = load_profile(args.profile, args.overrides).profile
    if profile.broker.kind != "ib" or profile.mode == "live":
        print(
            f"condordesk paper-check: refused: profile {profile.name} is mode {profile.mode}, "
            f"broker {profile.broker.kind}; it needs an IB paper profile",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)  # the report says what went wrong
    b = profile.broker
    target = Target(
        host=b.host,
        port=b.port,
        client_id=b.client_id + CLIENT_ID_OFFSET,
        account=b.account,
        greeks_timeout_s=profile.strategy.greeks_timeout_s,
        today=LiveClock().now_et().date(),
        timeout_s=b.connect_timeout_s,
    )
    try:
        report = asyncio.run(run_checks(target))
    except NotPaper as exc:
        print(f"condordesk paper-check: refused: {exc}; nothing was sent", file=sys.stderr)
        return EXIT_REFUSED
    except (ConnectionError, TimeoutError, OSError) as exc:
        print(
            f"condordesk paper-check: cannot connect to {b.host}:{b.port}: {exc}", file=sys.stderr
        )
        return EXIT_FAILED
    print(json.dumps(report.as_json(), indent=2) if args.json else report.table())
    return EXIT_OK if report.ok else EXIT_FAILED
