"""``condordesk doctor``: is this deployment of a profile ready to trade?

Each check answers ok, warn, fail or skip (cannot tell here, e.g. no systemd), with what it
saw and, when not ok, how to fix it:

- ``gateway``: TCP connect to the profile's IB host:port (bounded timeout).
- ``account``: when the gateway answers, the IB adapter's own connect check (the login must
  manage the profile's account), on a client id of its own (the profile's + 2).
- ``secrets``: every secret the profile needs resolves (systemd credential, keyring, or an
  allowed env var; an encrypted credential the unit loads counts).
- ``units``: ``condordesk@<profile>.service`` (and for IB profiles the gateway unit and the
  VNC window timers) enabled, per ``systemctl is-enabled``.
- ``firewall``: for a gateway on this machine, the broker API port answers the engine's user
  only (the nftables table of ``condordesk-firewall.service``; see ``doctor_firewall``).
- ``clock``: the system clock is NTP-synchronised (``timedatectl``).
- ``disk``: free space where the journal lives.
- ``journal``: the journal can be written (a write transaction is opened and rolled back).
- ``calendar``: what today is for SPX options: a session and its hours, an early close, a
  holiday or a weekend.

The composition root (``cli.py``) passes the clock; the checks never read the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from loguru import logger

from condordesk.config import paths
from condordesk.config.profile import Profile
from condordesk.errors import CondordeskError
from condordesk.market.clock import ET, Clock
from condordesk.ops.checks import Check, Options, run_command
from condordesk.ops.doctor_firewall import check_api_guard

DOCTOR_CLIENT_OFFSET = 2  # the engine uses the profile's client id, reconcile +1
CREDSTORE = "etc/credstore.encrypted"


# -- broker ----------------------------------------------------------------------------------


async def check_gateway(profile: Profile, opts: Options) -> Check:
    """The profile's IB API port accepts a TCP connection."""
    if profile.broker.kind != "ib":
        return Check("gateway", "skip", "embedded simulator: no gateway to reach")
    host, port = profile.broker.host, profile.broker.port
    where = f"{host}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), opts.tcp_timeout_s)
    except TimeoutError:
        return Check(
            "gateway",
            "fail",
            f"{where}: no answer within {opts.tcp_timeout_s:g}s",
            "is IB Gateway running and logged in? systemctl status condordesk-ibgateway; "
            "a firewall between here and the gateway?",
        )
    except OSError as exc:
        return Check(
            "gateway",
            "fail",
            f"{where}: {exc.strerror or exc}",
            "start IB Gateway (systemctl start condordesk-ibgateway) and log in over VNC "
            "(systemctl start condordesk-vnc-window); check broker.host/port in the profile "
            "and the Gateway's API settings (socket port, 'allow connections from localhost')",
        )
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Check("gateway", "ok", f"{where} accepts connections")


async def check_account(profile: Profile, clock: Clock, reachable: bool) -> Check:
    """The login behind the gateway manages the profile's account (the adapter's check)."""
    if profile.broker.kind != "ib":
        return Check("account", "skip", "embedded simulator")
    if not reachable:
        return Check("account", "skip", "gateway not reachable")
    from condordesk.app.bootstrap import build_ib_broker

    broker = build_ib_broker(profile, clock, client_id_offset=DOCTOR_CLIENT_OFFSET, reconnect=False)
    account = profile.broker.account
    try:
        await asyncio.wait_for(broker.connect(), profile.broker.connect_timeout_s + 5)
        seen = await broker.account()
    except TimeoutError:
        return Check(
            "account",
            "fail",
            "the gateway accepted the connection but never completed the API handshake",
            "the Gateway may be waiting for its login or a dialog: look over VNC",
        )
    except CondordeskError as exc:
        client_id = profile.broker.client_id + DOCTOR_CLIENT_OFFSET
        fix = (
            f"another program is connected with client id {client_id}: close it"
            if "already in use" in str(exc)  # IB error 326
            else f"log IB Gateway in to the account {account}, or set broker.account in "
            f"profile {profile.name} to the account it manages"
        )
        return Check("account", "fail", str(exc), fix)
    finally:
        await broker.disconnect()
    if seen != account:
        return Check("account", "fail", f"broker reports {seen}, profile says {account}")
    return Check("account", "ok", f"{account} ({profile.mode}) is managed by this login")


# -- secrets ---------------------------------------------------------------------------------


def check_secrets(profile: Profile, opts: Options) -> Check:
    """Every secret the profile needs resolves, or is an encrypted credential its unit loads."""
    try:
        from condordesk.app.cli_admin import needed_secrets
        from condordesk.ops.credentials import CredentialError, store_for
    except ImportError:
        return Check("secrets", "skip", "this build has no secret store")
    needed = [name for name, now in needed_secrets(profile) if now]
    if not needed:
        return Check("secrets", "ok", "the profile needs no secrets (alerts are off)")
    store = store_for(profile.secrets_namespace, profile.secrets.env, profile.name)
    credstore = (opts.root or Path("/")) / CREDSTORE
    found, missing = [], []
    for name in needed:
        encrypted = credstore / f"condordesk-{profile.name}.{name}"
        try:
            found.append(f"{name} ({store.resolve(name).source})")
            continue
        except CredentialError:
            pass
        if encrypted.is_file():  # decrypted by systemd for the service only
            found.append(f"{name} (encrypted credential)")
        else:
            missing.append(name)
    if missing:
        return Check(
            "secrets",
            "fail",
            f"missing: {', '.join(missing)}",
            f"systemd-creds encrypt --name=NAME - /{CREDSTORE}/condordesk-{profile.name}.NAME, "
            f"then packaging/install.sh --profile {profile.name} (or condordesk secret set NAME "
            f"--profile {profile.name} where a keyring exists)",
        )
    return Check("secrets", "ok", ", ".join(found))


# -- the machine -----------------------------------------------------------------------------


def _is_enabled(unit: str, root: Path | None) -> str:
    argv = ["systemctl", *([f"--root={root}"] if root else []), "is-enabled", unit]
    done = run_command(argv)
    if done is None:
        return "no systemctl"
    return done.stdout.strip() or "not installed"


def check_units(profile: Profile, opts: Options) -> Check:
    """The profile's engine unit (and, for IB, the gateway and the VNC window) enabled."""
    if shutil.which("systemctl") is None:
        return Check("units", "skip", "no systemctl on this machine")
    units = [f"condordesk@{profile.name}.service"]
    if profile.broker.kind == "ib":
        units += [
            "condordesk-ibgateway.service",
            "condordesk-vnc-window.timer",
            "condordesk-vnc-close.timer",
        ]
    states = {u: _is_enabled(u, opts.root) for u in units}
    off = [f"{u}: {s}" for u, s in states.items() if s not in ("enabled", "static")]
    if not off:
        return Check("units", "ok", ", ".join(units) + " enabled")
    engine_off = states[units[0]] not in ("enabled", "static")
    return Check(
        "units",
        "fail" if engine_off and profile.mode != "sim" else "warn",
        "; ".join(off),
        f"sudo packaging/install.sh --profile {profile.name}"
        + (" --vnc" if profile.broker.kind == "ib" else "")
        + " (or systemctl enable the units above)",
    )


def check_clock() -> Check:
    """The system clock is NTP-synchronised."""
    try:
        done = run_command(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("clock", "skip", f"timedatectl failed: {exc}")
    if done is None:
        return Check("clock", "skip", "no timedatectl on this machine")
    value = done.stdout.strip()
    if done.returncode != 0 or value not in ("yes", "no"):
        why = (done.stderr.strip() or value or f"exit {done.returncode}").splitlines()[0]
        return Check("clock", "skip", f"cannot ask systemd-timedated: {why}")
    if value == "no":
        return Check(
            "clock",
            "fail",
            "the system clock is not NTP-synchronised",
            "sudo timedatectl set-ntp true (systemd-timesyncd), or install chrony; then "
            "timedatectl timesync-status",
        )
    return Check("clock", "ok", "NTP-synchronised")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(profile: Profile, opts: Options) -> Check:
    """Free space on the filesystem of the journal."""
    where = _existing(paths.journal_path(profile).parent)
    free_mb = shutil.disk_usage(where).free // (1024 * 1024)
    detail = f"{free_mb} MB free at {where}"
    fix = "free space: journalctl --vacuum-size=200M, old logs and journal backups"
    if free_mb < opts.fail_below_mb:
        return Check("disk", "fail", f"{detail} (under {opts.fail_below_mb} MB)", fix)
    if free_mb < opts.warn_below_mb:
        return Check("disk", "warn", f"{detail} (under {opts.warn_below_mb} MB)", fix)
    return Check("disk", "ok", detail)


def check_journal(profile: Profile) -> Check:
    """The journal can take a write (a write transaction is opened, then rolled back)."""
    path = paths.journal_path(profile)
    fix = f"the service user must own {path.parent} (install.sh sets it up)"
    if not path.exists():
        parent = _existing(path.parent)
        if not parent.is_dir():
            return Check("journal", "fail", f"{parent} is not a directory", fix)
        return Check("journal", "ok", f"{path} will be created on the first run")
    from condordesk.ops.runlock import engine_running

    if engine_running(profile.name):  # it writes there all day; no probe needed
        return Check("journal", "ok", f"{path} in use by the running engine")
    try:
        conn = sqlite3.connect(path, timeout=2.0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            (tables,) = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return Check("journal", "warn", f"{path}: busy ({exc}); the engine is writing")
        return Check("journal", "fail", f"{path}: {exc}", fix)
    except sqlite3.DatabaseError as exc:
        return Check(
            "journal",
            "fail",
            f"{path}: {exc}",
            "restore the latest backup (docs/operations.md, Backups)",
        )
    return Check("journal", "ok", f"{path} writable ({tables} tables)")


def check_calendar(clock: Clock, load: Callable[[date], Any]) -> Check:
    """What today is for SPX options, from the trading calendar."""
    today = clock.now_et().date()
    try:
        calendar = load(today)
        session = calendar.session(today)
        if session is None:
            upcoming = calendar.next_session(clock.now())
    except (CondordeskError, OSError) as exc:
        return Check(
            "calendar",
            "fail",
            f"the trading calendar cannot be loaded: {exc}",
            "the cache dir must be writable and exchange_calendars installed; "
            "see `condordesk --autotrade` output",
        )
    label = f"{today:%a %Y-%m-%d}"
    if session is not None:
        hours = f"{session.open.astimezone(ET):%H:%M}-{session.close.astimezone(ET):%H:%M} ET"
        kind = "early close" if session.early_close else "trading day"
        return Check("calendar", "ok", f"{label}: {kind}, SPX options {hours}")
    why = "weekend" if today.weekday() >= 5 else "market holiday"
    nxt = f"{upcoming.day:%a %Y-%m-%d} {upcoming.open.astimezone(ET):%H:%M} ET"
    return Check("calendar", "ok", f"{label}: {why}, no session; next session {nxt}")


# -- all of them -----------------------------------------------------------------------------


async def run_checks(
    profile: Profile,
    clock: Clock,
    opts: Options | None = None,
    *,
    load_calendar: Callable[[date], Any] | None = None,
) -> list[Check]:
    """Every check, in order (the account check only runs when the gateway answered)."""

    opts = opts or Options()
    if load_calendar is None:
        from condordesk.app.bootstrap import load_calendar as load

        def load_calendar(day: date) -> Any:
            return load(day, 1)

    gateway = await check_gateway(profile, opts)
    checks = [gateway, await check_account(profile, clock, gateway.status == "ok")]
    checks += [
        check_secrets(profile, opts),
        check_units(profile, opts),
        check_api_guard(profile, opts),
        check_clock(),
        check_disk(profile, opts),
        check_journal(profile),
        check_calendar(clock, load_calendar),
    ]
    return checks


def failed(checks: list[Check]) -> bool:
    """Whether any check failed."""
    return any(c.status == "fail" for c in checks)


def render(profile: Profile, checks: list[Check]) -> str:
    """The human report: one line per check, the fix under any that is not ok."""
    broker = (
        f"ib {profile.broker.host}:{profile.broker.port}"
        if profile.broker.kind == "ib"
        else "embedded simulator"
    )
    lines = [f"doctor: profile {profile.name} ({profile.mode}, {broker})"]
    for c in checks:
        mark = "FAIL" if c.status == "fail" else c.status
        lines.append(f"{mark:<5} {c.name:<9} {c.detail}")
        if c.fix and c.status in ("fail", "warn"):
            lines.append(f"{'':<15} fix: {c.fix}")
    verdict = "FAILED" if failed(checks) else "ready"
    counts = {s: sum(1 for c in checks if c.status == s) for s in ("ok", "warn", "fail", "skip")}
    lines.append(f"{verdict}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines)


def to_json(profile: Profile, checks: list[Check]) -> str:
    """The report as JSON: ``profile``, ``ok`` (no check failed) and ``checks``."""
    return json.dumps(
        {"profile": profile.name, "ok": not failed(checks), "checks": [asdict(c) for c in checks]},
        indent=2,
    )


# -- the command -----------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``condordesk doctor`` to the CLI's subcommands."""
    p = sub.add_parser(
        "doctor",
        help="check a deployment of a profile: gateway, account, secrets, units, firewall, clock, "
        "disk, journal, calendar",
        description="Each check prints ok, warn, fail or skip, with a fix for what is not ok. "
        "Exit code 1 if any check failed.",
    )
    p.add_argument("--profile", "-p", metavar="NAME|PATH", help="profile (default: sim)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--root", type=Path, help="the installation's root directory (default: this machine)"
    )
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: Any) -> int:
    """Run every check for a profile and print the report; 1 if any failed."""
    from condordesk.config.loader import load_profile
    from condordesk.market.clock import LiveClock

    profile = load_profile(args.profile, args.overrides).profile
    # the report is the output: only warnings and errors of the checks' own work reach stderr
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}")
    logging.getLogger("ib_async").setLevel(logging.WARNING)
    checks = asyncio.run(run_checks(profile, LiveClock(), Options(root=args.root)))
    print(to_json(profile, checks) if args.json else render(profile, checks))
    return 1 if failed(checks) else 0
