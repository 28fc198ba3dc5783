"""Hardened units for a real-money server (issue 13): every unit scores under 5 in
``systemd-analyze security``; VNC and IB Gateway run as their own user, not the engine's;
VNC listens on one address, never a wildcard, so a flushed firewall cannot expose it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import PACKAGING, install, need, stage_system

SERVICES = sorted(p.name for p in (PACKAGING / "systemd").glob("*.service"))
TARGET = 5.0


def unit_settings(name: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (continuation lines joined), values in order."""
    text = (PACKAGING / "systemd" / name).read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for key, value in re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE):
        out.setdefault(key, []).append(value)
    return out


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hardening") / "root"
    root.mkdir()
    run = install(root, "--no-app", "--profile", "paper", "--vnc")
    assert run.returncode == 0, run.stdout + run.stderr
    stage_system(root)
    return root


def exposure(root: Path, unit: str) -> float:
    tool = need("systemd-analyze")
    run = subprocess.run(
        [tool, "security", "--offline=yes", f"--root={root}", "--no-pager", unit],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", run.stdout)
    assert found, run.stdout[-1000:] + run.stderr
    return float(found.group(1))


@pytest.mark.parametrize("service", SERVICES)
def test_every_unit_scores_under_five_in_systemd_analyze_security(
    staged: Path, service: str
) -> None:
    """Before issue 13: VNC 8.7, IB Gateway 8.5, the firewall-window units 9.6 (the engine
    1.7)."""
    unit = service.replace("@.service", "@paper.service")
    score = exposure(staged, f"/etc/systemd/system/{unit}")
    print(f"{unit}: {score}")
    assert score < TARGET


def test_the_score_check_can_fail(staged: Path, tmp_path: Path) -> None:
    """A unit without hardening scores above the target, so the check above means something."""
    bare = staged / "etc/systemd/system/bare.service"
    bare.write_text("[Service]\nExecStart=/usr/bin/test 1\n")
    try:
        assert exposure(staged, "/etc/systemd/system/bare.service") > TARGET
    finally:
        bare.unlink()


@pytest.mark.parametrize("service", ["condordesk-vnc.service", "condordesk-ibgateway.service"])
def test_vnc_and_the_gateway_run_as_their_own_user_never_the_engines(
    staged: Path, service: str
) -> None:
    settings = unit_settings(service)
    assert settings["User"] == ["condordesk-gw"] and settings["Group"] == ["condordesk-gw"]
    assert settings["StateDirectory"] == ["condordesk-gw"]
    assert not any("/var/lib/condordesk " in v + " " for v in settings.get("ReadWritePaths", []))
    engine = unit_settings("condordesk@.service")
    assert engine["User"] == ["condordesk"]
    passwd = (staged / "etc/passwd").read_text()
    users = {line.split(":")[0]: line.split(":")[2] for line in passwd.splitlines()}
    assert "condordesk-gw" in users and users["condordesk-gw"] != users["condordesk"]
    for sub in ("", "ibc", "tws"):  # IBC's config.ini and the Gateway's settings
        st = (staged / "var/lib/condordesk-gw" / sub).stat()
        assert st.st_mode & 0o777 == 0o700
        if os.geteuid() == 0:
            assert st.st_uid == int(users["condordesk-gw"])


def test_an_older_install_gets_the_gateway_user_on_the_next_run(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert install(root, "--no-app", "--profile", "paper").returncode == 0
    passwd = root / "etc/passwd"
    older = [ln for ln in passwd.read_text().splitlines() if not ln.startswith("condordesk-gw:")]
    passwd.write_text("\n".join(older) + "\n")  # as installed before condordesk-gw existed
    run = install(root, "--no-app", "--profile", "paper", "--vnc")
    assert run.returncode == 0, run.stderr
    assert "create user condordesk-gw" in run.stdout
    assert "\ncondordesk-gw:" in passwd.read_text()


def test_vnc_listens_on_one_address_loopback_by_default() -> None:
    settings = unit_settings("condordesk-vnc.service")
    (start,) = settings["ExecStart"]
    argv = shlex.split(start)
    assert "-localhost=0" not in argv
    assert argv[argv.index("-interface") + 1] == "${VNC_LISTEN}"
    assert "VNC_LISTEN=127.0.0.1" in settings["Environment"]


@pytest.mark.parametrize(
    ("listen", "starts"),
    [
        ("127.0.0.1", True),
        ("100.64.12.34", True),
        ("0.0.0.0", False),
        ("::", False),
        ("[::]", False),
        ("", False),
    ],
)
def test_vnc_refuses_to_start_on_a_wildcard_or_empty_address(listen: str, starts: bool) -> None:
    """The unit's ExecStartPre guard, run as systemd would (``${VNC_LISTEN}`` is one word)."""
    (guard,) = unit_settings("condordesk-vnc.service")["ExecStartPre"]
    argv = [listen if word == "${VNC_LISTEN}" else word for word in guard.split()]
    done = subprocess.run(argv, capture_output=True, timeout=10, check=False)
    assert (done.returncode == 0) is starts


@pytest.mark.parametrize(
    "service",
    [
        "condordesk-firewall.service",
        "condordesk-vnc-close.service",
        "condordesk-vnc-window.service",
    ],
)
def test_the_firewall_units_follow_every_reload_and_restart_of_nftables(service: str) -> None:
    settings = unit_settings(service)
    assert settings["PartOf"] == ["nftables.service"]
    assert settings["ReloadPropagatedFrom"] == ["nftables.service"]
    assert settings["ExecReload"] == settings["ExecStart"], "a reload re-applies the rules"


def test_the_gateway_needs_the_api_guard() -> None:
    settings = unit_settings("condordesk-ibgateway.service")
    assert "condordesk-firewall.service" in settings["Requires"][0].split()
    assert "condordesk-firewall.service" in settings["After"][0].split()
