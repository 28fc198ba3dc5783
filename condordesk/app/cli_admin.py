"""``condordesk secret|notify`` and ``condordesk profile new``: secrets, alerts and profiles.

::

    condordesk secret set NAME [--profile P]         value from a prompt (no echo) or stdin
    condordesk secret list [--profile P]             names only, never values
    condordesk secret delete NAME [--profile P]
    condordesk secret check [--profile P]            where each secret the profile needs is found
    condordesk notify test [--profile P]             send a test alert
    condordesk profile new NAME [--mode sim|paper|live --account ID] [--yes-live-account]

Registered by :func:`register` from ``condordesk.app.cli``; each sub-command carries its handler
(``args.handler``). Values of secrets are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from importlib import resources
from typing import Any

from condordesk.config import paths
from condordesk.config.loader import load_profile
from condordesk.config.profile import Profile
from condordesk.errors import ConfigError
from condordesk.ops import fsafe

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _profile_option(p: argparse.ArgumentParser, *, overrides: bool = False) -> None:
    p.add_argument(
        "--profile", "-p", metavar="NAME|PATH", help="profile name or TOML path (default: sim)"
    )
    if overrides:
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a profile key, dotted (repeatable), e.g. --set notify.enabled=true",
        )


def register(sub: Any, profile_sub: Any) -> None:
    """Add ``secret``, ``notify`` and ``profile new`` to the ``condordesk`` parser."""
    secret = sub.add_parser(
        "secret", help="set, list, delete or check secrets (OS keyring, systemd credentials)"
    )
    ssub = secret.add_subparsers(dest="secret_command", required=True)
    s_set = ssub.add_parser("set", help="store a secret in the OS keyring (prompts, no echo)")
    s_set.add_argument("name", metavar="NAME", help="e.g. telegram_bot_token, telegram_chat_id")
    _profile_option(s_set)
    s_set.set_defaults(handler=cmd_secret_set)
    s_list = ssub.add_parser("list", help="the names of the profile's secrets (never values)")
    _profile_option(s_list)
    s_list.set_defaults(handler=cmd_secret_list)
    s_del = ssub.add_parser("delete", help="remove a secret from the OS keyring")
    s_del.add_argument("name", metavar="NAME")
    _profile_option(s_del)
    s_del.set_defaults(handler=cmd_secret_delete)
    s_check = ssub.add_parser(
        "check", help="say where each secret the profile needs comes from (never its value)"
    )
    _profile_option(s_check, overrides=True)
    s_check.set_defaults(handler=cmd_secret_check)

    notify = sub.add_parser("notify", help="alerts: send a test message")
    nsub = notify.add_subparsers(dest="notify_command", required=True)
    n_test = nsub.add_parser("test", help="send a test alert with the profile's settings")
    _profile_option(n_test, overrides=True)
    n_test.set_defaults(handler=cmd_notify_test)

    new = profile_sub.add_parser(
        "new", help="write a commented profile template to the user's profiles dir"
    )
    new.add_argument("name", metavar="NAME")
    new.add_argument("--mode", choices=("sim", "paper", "live"), default="sim")
    new.add_argument(
        "--account", help="IB account id, needed for paper (DU...) and live (U...) profiles"
    )
    new.add_argument(
        "--yes-live-account",
        action="store_true",
        help="confirm that a live profile trades real money (else asked on a terminal)",
    )
    new.add_argument("--force", action="store_true", help="overwrite an existing profile")
    new.set_defaults(handler=cmd_profile_new)


# --- secrets -------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Any:
    from condordesk.ops.credentials import store_for

    profile = load_profile(args.profile, getattr(args, "overrides", [])).profile
    return store_for(profile.secrets_namespace, profile.secrets.env, profile.name), profile


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        value = getpass.getpass(f"value of {name} (not shown): ")
        if getpass.getpass("again: ") != value:
            raise _Usage("the two entries differ; nothing stored")
        return value
    return sys.stdin.read().rstrip("\r\n")


class _Usage(Exception):
    pass


def cmd_secret_set(args: argparse.Namespace) -> int:
    """Store a secret in the profile's keyring namespace."""
    from condordesk.ops.credentials import check_name

    store, _ = _store(args)
    check_name(args.name)
    try:
        value = _read_value(args.name)
    except _Usage as exc:
        print(f"condordesk secret: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store.set(args.name, value)
    print(f"stored {args.name} in the OS keyring (namespace {store.namespace})")
    return EXIT_OK


def cmd_secret_list(args: argparse.Namespace) -> int:
    """Names in the profile's keyring namespace and systemd credentials dir."""
    from condordesk.ops.credentials import CredentialError

    store, _ = _store(args)
    rows: list[tuple[str, str]] = []
    failed: CredentialError | None = None
    try:
        rows += [(name, f"keyring {store.namespace}") for name in store.names()]
    except CredentialError as exc:
        failed = exc
    rows += [(name, "systemd credential") for name in store.credential_names()]
    for name, where in rows:
        print(f"{name:<24} {where}")
    if failed is not None:  # the keyring could not be read: its names are unknown, not none
        print(f"condordesk secret: {failed}", file=sys.stderr)
        return EXIT_FAILED
    if not rows:
        print(f"no secrets in namespace {store.namespace}", file=sys.stderr)
    return EXIT_OK


def cmd_secret_delete(args: argparse.Namespace) -> int:
    """Remove a secret from the profile's keyring namespace."""
    store, _ = _store(args)
    if store.delete(args.name):
        print(f"deleted {args.name} from the OS keyring (namespace {store.namespace})")
        return EXIT_OK
    print(f"no secret {args.name} in namespace {store.namespace}", file=sys.stderr)
    return EXIT_FAILED


def needed_secrets(profile: Profile) -> list[tuple[str, bool]]:
    """The secrets a profile uses: (name, needed now) for the Telegram ones and any named in
    ``secrets.env``."""
    from condordesk.ops.credentials import TELEGRAM_CHAT, TELEGRAM_TOKEN

    on = profile.notify.enabled
    names = [(TELEGRAM_TOKEN, on), (TELEGRAM_CHAT, on)]
    names += [(n, True) for n in profile.secrets.env if n not in (TELEGRAM_TOKEN, TELEGRAM_CHAT)]
    return names


def cmd_secret_check(args: argparse.Namespace) -> int:
    """Say where each secret resolves from; exit 1 if a needed one is missing."""
    from condordesk.ops.credentials import CredentialError, SecretMissing

    store, profile = _store(args)
    print(f"profile {profile.name}: secrets namespace {store.namespace}")
    missing = 0
    for name, needed in needed_secrets(profile):
        note = "" if needed else " (not used: notify.enabled = false)"
        try:
            found = store.resolve(name)
        except SecretMissing as exc:
            missing += needed
            print(f"{name:<24} MISSING{note}: {exc}")
            continue
        except CredentialError as exc:
            missing += needed
            print(f"{name:<24} ERROR{note}: {exc}")
            continue
        kind = {"credentials": "systemd credential", "keyring": "OS keyring", "env": "env"}
        print(f"{name:<24} {kind[found.source]} {found.where}{note}")
    return EXIT_FAILED if missing else EXIT_OK


# --- notify --------------------------------------------------------------------------------


def cmd_notify_test(args: argparse.Namespace) -> int:
    """Send one test alert with the profile's Telegram settings."""
    from condordesk.market.clock import LiveClock
    from condordesk.notify import Message, NotifyError
    from condordesk.ops.alerts import telegram_notifier

    profile = load_profile(args.profile, args.overrides).profile
    if not profile.notify.enabled:
        print(
            f"note: notify.enabled = false in profile {profile.name}: the engine sends no "
            "alerts until you turn it on",
            file=sys.stderr,
        )
    clock = LiveClock()
    notifier = telegram_notifier(profile, clock)
    text = (
        f"✅ {profile.name} · test alert from condordesk ({profile.mode}) at "
        f"{clock.now_et():%H:%M} ET"
    )
    try:
        asyncio.run(notifier.send_now(Message("info", text)))
    except NotifyError as exc:
        print(f"condordesk notify: not sent: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"sent a test alert to the chat of profile {profile.name}")
    return EXIT_OK


# --- profile new ---------------------------------------------------------------------------


def template_text(mode: str) -> str:
    """The commented example profile of ``mode`` shipped in the package."""
    base = resources.files("condordesk.config")
    source = (
        base.joinpath("builtin", "sim.toml")
        if mode == "sim"
        else base.joinpath("templates", f"{mode}.toml")
    )
    return source.read_text(encoding="utf-8")


def render_template(name: str, mode: str, account: str | None = None) -> str:
    """The template of ``mode`` named ``name`` (and with ``account``, if given)."""
    text = template_text(mode)
    text = re.sub(r"(?m)^# condordesk profile: .*$", f"# condordesk profile: {name} ({mode})", text)
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1)
    if account is not None:
        text = re.sub(r'(?m)^account = ".*"$', f'account = "{account}"', text, count=1)
    return text


def _confirm_live(args: argparse.Namespace) -> bool:
    if args.yes_live_account:
        return True
    if not sys.stdin.isatty():
        return False
    print(
        f"Profile {args.name} will trade a LIVE Interactive Brokers account: REAL MONEY.\n"
        "(The engine will still need --live on every run.)"
    )
    return bool(input(f"Type {args.name} to confirm: ").strip() == args.name)


def cmd_profile_new(args: argparse.Namespace) -> int:
    """Write a commented template for a new profile."""
    from condordesk.engine.control import socket_path

    if not _NAME.fullmatch(args.name):
        raise ConfigError(f"invalid profile name {args.name!r}: letters, digits, '_', '.', '-'")
    target = paths.profiles_dir() / f"{args.name}.toml"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} exists; choose another name or add --force")
    if args.mode != "sim" and not args.account:
        kind = "live (U" if args.mode == "live" else "paper (DU"
        kind += " followed by digits)"
        print(
            f"condordesk profile new: a {args.mode} profile needs --account: your IB {kind} "
            "account id (the template's placeholder never trades); nothing written",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.mode == "live" and not _confirm_live(args):
        print(
            "condordesk profile new: a live profile trades real money: confirm with "
            "--yes-live-account (or answer the prompt on a terminal); nothing written",
            file=sys.stderr,
        )
        return EXIT_USAGE
    text = render_template(args.name, args.mode, args.account)
    paths.ensure(target.parent)
    tmp = target.with_suffix(".toml.tmp")
    fsafe.write_private(tmp, text)  # 0600 from the start, never through a symlink
    try:
        profile = load_profile(str(tmp)).profile
    except ConfigError:
        tmp.unlink()
        raise
    tmp.chmod(0o600)
    tmp.replace(target)
    print(f"wrote {target} ({args.mode}); edit it, then: condordesk profile check {args.name}")
    print(f"  journal  {paths.journal_path(profile)}")
    print(f"  log      {paths.log_dir() / (profile.name + '.log')}")
    print(f"  socket   {socket_path(profile.name)}")
    print(f"  secrets  keyring namespace {profile.secrets_namespace}")
    return EXIT_OK
