"""``condordesk doctor``'s ``firewall`` check: the broker API port answers the engine's user
only.

IB Gateway (and TWS) accept any local connection, so any user on the server could read the
positions or cancel every stop. ``packaging/nftables/api-guard.nft`` (loaded by
``condordesk-firewall.service``) resets a loopback connection to the API ports from any other
uid (``meta skuid``). This check reads that table with ``nft`` (root); run as the engine's user
(the ``condordesk`` wrapper does), where the kernel does not show the ruleset, it asks systemd
whether the unit that loads it is active.
"""

from __future__ import annotations

import os
import re
import subprocess

from condordesk.config.profile import Profile
from condordesk.ops.checks import Check, Options, run_command

TABLE = "condordesk_api"
UNIT = "condordesk-firewall.service"
RULES = "/etc/condordesk/nftables/api-guard.nft"
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "localhost.localdomain"}
_FIX = (
    f"sudo systemctl enable --now {UNIT} (packaging/install.sh --vnc installs and enables it); "
    f"then `sudo nft list table inet {TABLE}` shows the rule"
)


def check_api_guard(profile: Profile, opts: Options) -> Check:
    """The profile's broker API port on this machine answers the engine's user only."""
    if profile.broker.kind != "ib":
        return Check("firewall", "skip", "embedded simulator: no broker API port")
    host, port = profile.broker.host, profile.broker.port
    if host not in LOCAL_HOSTS:
        return Check("firewall", "skip", f"the gateway is on {host}: guard its port there")
    try:
        listed = run_command(["nft", "list", "table", "inet", TABLE])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("firewall", "skip", f"nft failed: {exc}")
    if listed is None:
        return Check("firewall", "fail", "nft is not installed: nothing guards the API port", _FIX)
    if listed.returncode == 0:
        return _judge(listed.stdout, port)
    if "Operation not permitted" in listed.stderr or "Permission denied" in listed.stderr:
        return _by_unit(opts, port)
    return Check(
        "firewall",
        "fail",
        f"table inet {TABLE} is not loaded: any local user can use the broker API port {port}",
        _FIX,
    )


def _ports(text: str) -> set[int]:
    return {int(p) for p in re.findall(r"\d+", text)}


def _judge(table: str, port: int) -> Check:
    """Read the listed table: a rule on loopback output that resets/drops the port for every
    uid but one, and that one is the user running this check (the engine's)."""
    for line in table.splitlines():
        found = re.search(
            r'oifname "lo" tcp dport (\{[^}]*\}|\d+) meta skuid != (\d+) .*(reject|drop)', line
        )
        if found and port in _ports(found.group(1)):
            uid = int(found.group(2))
            if uid != os.geteuid():
                return Check(
                    "firewall",
                    "warn",
                    f"port {port} is kept for uid {uid}, but this check runs as uid {os.geteuid()}",
                    "run doctor as the engine's user (the condordesk wrapper does)",
                )
            return Check(
                "firewall", "ok", f"port {port} answers uid {uid} only (table inet {TABLE})"
            )
    return Check(
        "firewall",
        "fail",
        f"table inet {TABLE} is loaded but does not guard port {port}: any local user can use it",
        f"add {port} to the port set in {RULES}, then sudo systemctl reload {UNIT}",
    )


def _by_unit(opts: Options, port: int) -> Check:
    argv = ["systemctl", *([f"--root={opts.root}"] if opts.root else []), "is-active", UNIT]
    try:
        done = run_command(argv)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("firewall", "skip", f"systemctl failed: {exc}")
    state = "no systemctl" if done is None else done.stdout.strip() or "unknown"
    if state == "active":
        return Check(
            "firewall",
            "ok",
            f"{UNIT} is active (only root can list its rules: sudo nft list table inet {TABLE})",
        )
    return Check(
        "firewall",
        "fail",
        f"{UNIT} is {state}: any local user may be able to use the broker API port {port}",
        _FIX,
    )
