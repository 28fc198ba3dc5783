"""``condordesk doctor`` checks that the broker API port answers the engine's user only (issue
13): against the real rules in a private network namespace, and, where only root can list the
ruleset, through the unit that loads them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from condordesk.config.profile import Profile
from condordesk.ops.doctor import Options
from condordesk.ops.doctor_firewall import check_api_guard
from tests.deploy.helpers import PACKAGING
from tests.deploy.test_doctor import ib_profile

CHECK = """
import json, subprocess, sys
from dataclasses import asdict
from condordesk.config.profile import Profile
from condordesk.config.profile import Profile
from condordesk.ops.doctor import Options
from condordesk.ops.doctor_firewall import check_api_guard
rules, port = sys.argv[1], int(sys.argv[2])
if rules:
    subprocess.run(["nft", "-D", "engine_user=root", "-f", rules], check=True)
profile = Profile.model_validate({"name": "paper", "mode": "paper", "clock": "live",
    "broker": {"kind": "ib", "port": port, "account": "DU1234567"}})
print(json.dumps(asdict(check_api_guard(profile, Options()))))
"""


def in_netns(rules: Path | None, port: int) -> dict[str, str]:
    if os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("unshare") is None:
        pytest.skip("needs root, nft and unshare (Debian: apt-get install nftables)")
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", CHECK, str(rules or ""), str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode != 0 and "Operation not permitted" in run.stderr:
        pytest.skip("no permission for a private network namespace")
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def test_no_guard_loaded_fails_with_how_to_fix_it() -> None:
    check = in_netns(None, 4002)
    assert check["status"] == "fail"
    assert "not loaded" in check["detail"] and "condordesk-firewall.service" in check["fix"]


def test_the_shipped_rules_pass_for_the_profiles_port() -> None:
    check = in_netns(PACKAGING / "nftables/api-guard.nft", 4002)
    assert check["status"] == "ok", check
    assert "port 4002 answers uid 0 only" in check["detail"]


def test_a_port_the_rules_do_not_cover_fails() -> None:
    check = in_netns(PACKAGING / "nftables/api-guard.nft", 4010)
    assert check["status"] == "fail" and "does not guard port 4010" in check["detail"]
    assert "api-guard.nft" in check["fix"]


def fake_tools(tmp_path: Path, unit_state: str) -> str:
    """An nft that only root may use (as for the engine's user) and a systemctl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (
        ("nft", "echo 'Error: Operation not permitted' >&2; exit 1"),
        ("systemctl", f"echo {unit_state}; exit 0"),
    ):
        exe = bin_dir / name
        exe.write_text(f"#!/bin/sh\n{script}\n")
        exe.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.parametrize(("state", "status"), [("active", "ok"), ("inactive", "fail")])
def test_as_the_engines_user_the_unit_that_loads_the_rules_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str, status: str
) -> None:
    monkeypatch.setenv("PATH", fake_tools(tmp_path, state))
    check = check_api_guard(ib_profile(4002), Options())
    assert check.status == status, check
    assert "condordesk-firewall.service" in check.detail


def test_a_simulator_profile_or_a_remote_gateway_is_skipped() -> None:
    from condordesk.config.loader import load_profile

    assert check_api_guard(load_profile("sim").profile, Options()).status == "skip"
    raw = ib_profile(4002).model_dump()
    raw["broker"]["host"] = "10.0.0.5"
    assert check_api_guard(Profile.model_validate(raw), Options()).status == "skip"
