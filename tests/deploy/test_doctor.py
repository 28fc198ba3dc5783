"""``condordesk doctor``: each check fails when its part of the deployment is broken (and says
how to fix it), passes when it is right; the command exits 1 on any failure."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import keyring
import pytest

from condordesk.config.profile import Profile
from condordesk.market.clock import ET, SimClock
from condordesk.ops import doctor
from condordesk.store.journal import Journal
from tests.deploy.helpers import MemoryKeyring, install, need
from tests.support.gateway import running_gateway
from tests.support.sim import ACCOUNT, MONDAY, at, make_sim


def ib_profile(port: int, account: str = ACCOUNT, **extra: Any) -> Profile:
    raw: dict[str, Any] = {
        "name": "paper",
        "mode": "paper",
        "clock": "live",
        "broker": {"kind": "ib", "port": port, "account": account, "connect_timeout_s": 5.0},
    }
    raw.update(extra)
    return Profile.model_validate(raw)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cd(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "condordesk.app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "CONDORDESK_HOME": str(home), **env},
    )


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


# -- gateway and account ---------------------------------------------------------------------


async def test_a_gateway_that_is_not_listening_fails_and_the_account_is_not_tried() -> None:
    profile = ib_profile(free_port())
    gateway = await doctor.check_gateway(profile, doctor.Options(tcp_timeout_s=2))
    assert gateway.status == "fail" and f"127.0.0.1:{profile.broker.port}" in gateway.detail
    assert "IB Gateway" in gateway.fix
    clock = SimClock(at(MONDAY, 10))
    assert (await doctor.check_account(profile, clock, reachable=False)).status == "skip"


async def test_the_account_check_uses_the_adapter_login_check_against_the_gateway() -> None:
    clock, sim = make_sim(at(MONDAY, 10), speed=5.0)
    async with running_gateway(clock, sim) as gw:
        right = ib_profile(gw.port)
        wrong = ib_profile(gw.port, account="DU7654321")
        assert (await doctor.check_gateway(right, doctor.Options())).status == "ok"
        ok = await doctor.check_account(right, clock, reachable=True)
        bad = await doctor.check_account(wrong, clock, reachable=True)
    assert ok.status == "ok" and ACCOUNT in ok.detail, ok
    assert bad.status == "fail", bad
    assert "DU7654321" in bad.detail and ACCOUNT in bad.detail  # what IB reports instead
    assert "broker.account" in bad.fix


def test_doctor_exits_1_and_reports_json_when_the_gateway_is_down(
    condordesk_home: Path, warm_calendar: None, tmp_path: Path
) -> None:
    path = tmp_path / "paper.toml"
    path.write_text(
        f'name = "paper"\nmode = "paper"\nclock = "live"\n[broker]\nkind = "ib"\n'
        f'port = {free_port()}\naccount = "{ACCOUNT}"\n'
    )
    run = cd("doctor", "--profile", str(path), "--json", home=condordesk_home)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] is False and report["profile"] == "paper"
    by_name = {c["name"]: c for c in report["checks"]}
    assert list(by_name) == [
        "gateway",
        "account",
        "secrets",
        "units",
        "firewall",
        "clock",
        "disk",
        "journal",
        "calendar",
    ]
    assert by_name["gateway"]["status"] == "fail" and by_name["gateway"]["fix"]
    assert by_name["account"]["status"] == "skip"
    text = cd("doctor", "--profile", str(path), home=condordesk_home)
    assert text.returncode == 1
    assert text.stdout.splitlines()[1].startswith("FAIL  gateway")
    assert "fix: start IB Gateway" in text.stdout
    assert text.stdout.splitlines()[-1].startswith("FAILED:")


def test_doctor_exits_0_when_nothing_fails(condordesk_home: Path, warm_calendar: None) -> None:
    run = cd("doctor", "--profile", "sim", home=condordesk_home)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("ready:")


# -- secrets ---------------------------------------------------------------------------------


def alerting(tmp: Path) -> Profile:
    return ib_profile(4002, notify={"enabled": True})


def test_missing_secrets_fail_with_how_to_set_them(
    memory_keyring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    check = doctor.check_secrets(alerting(tmp_path), doctor.Options(root=tmp_path))
    assert check.status == "fail"
    assert "telegram_bot_token" in check.detail and "telegram_chat_id" in check.detail
    assert "systemd-creds encrypt" in check.fix


def test_secrets_resolve_from_systemd_credentials_or_the_encrypted_store(
    memory_keyring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram_bot_token").write_text("123:abc")
    store = tmp_path / "etc/credstore.encrypted"
    store.mkdir(parents=True)
    (store / "condordesk-paper.telegram_chat_id").write_bytes(b"ciphertext")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    check = doctor.check_secrets(alerting(tmp_path), doctor.Options(root=tmp_path))
    assert check.status == "ok", check
    assert "telegram_bot_token (credentials)" in check.detail
    assert "telegram_chat_id (encrypted credential)" in check.detail
    assert "123:abc" not in repr(check)


# -- units -----------------------------------------------------------------------------------


def test_units_not_enabled_fail_until_install_enables_them(tmp_path: Path) -> None:
    need("systemctl")
    root = tmp_path / "root"
    root.mkdir()
    opts = doctor.Options(root=root)
    profile = ib_profile(4002)
    missing = doctor.check_units(profile, opts)
    assert missing.status == "fail" and "condordesk@paper.service" in missing.detail
    assert "install.sh --profile paper --vnc" in missing.fix
    assert install(root, "--no-app").returncode == 0  # installed, not enabled
    assert doctor.check_units(profile, opts).status == "fail"
    assert install(root, "--no-app", "--profile", "paper").returncode == 0
    partly = doctor.check_units(profile, opts)
    assert partly.status == "warn", partly  # the engine is enabled, the VNC timers are not
    assert "condordesk-vnc-window.timer" in partly.detail
    assert install(root, "--no-app", "--profile", "paper", "--vnc").returncode == 0
    assert doctor.check_units(profile, opts).status == "ok"


# -- clock, disk, journal, calendar ----------------------------------------------------------


def fake_timedatectl(tmp_path: Path, answer: str) -> str:
    """A timedatectl answering ``answer`` (a booted systemd is needed for the real one)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "timedatectl"
    exe.write_text(f"#!/bin/sh\necho {answer}\n")
    exe.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def test_an_unsynchronised_clock_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", fake_timedatectl(tmp_path, "no"))
    check = doctor.check_clock()
    assert check.status == "fail" and "set-ntp true" in check.fix
    monkeypatch.setenv("PATH", fake_timedatectl(tmp_path, "yes"))
    assert doctor.check_clock().status == "ok"


def test_the_clock_check_skips_without_timedated(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("this machine runs systemd: timedated answers")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert doctor.check_clock().status == "skip"


def test_low_disk_space_fails_and_warns(condordesk_home: Path) -> None:
    profile = ib_profile(4002)
    assert doctor.check_disk(profile, doctor.Options(fail_below_mb=10**9)).status == "fail"
    warn = doctor.check_disk(profile, doctor.Options(fail_below_mb=0, warn_below_mb=10**9))
    assert warn.status == "warn" and "MB free" in warn.detail
    assert (
        doctor.check_disk(profile, doctor.Options(fail_below_mb=0, warn_below_mb=0)).status == "ok"
    )


def test_a_journal_that_cannot_be_written_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    under_a_file = ib_profile(4002, journal={"path": str(blocker / "journal.sqlite3")})
    check = doctor.check_journal(under_a_file)
    assert check.status == "fail" and "not a directory" in check.detail
    garbage = tmp_path / "journal.sqlite3"
    garbage.write_bytes(b"this is no database" * 100)
    broken = doctor.check_journal(ib_profile(4002, journal={"path": str(garbage)}))
    assert broken.status == "fail" and "backup" in broken.fix
    good = tmp_path / "good.sqlite3"
    Journal(good).close()
    assert doctor.check_journal(ib_profile(4002, journal={"path": str(good)})).status == "ok"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (
            datetime(2026, 11, 27, 8, 0, tzinfo=ET),
            "Fri 2026-11-27: early close, SPX options 09:30-13:00 ET",
        ),
        (
            datetime(2026, 11, 26, 8, 0, tzinfo=ET),
            "Thu 2026-11-26: market holiday, no session; next session Fri 2026-11-27 09:30 ET",
        ),
        (
            datetime(2026, 11, 28, 8, 0, tzinfo=ET),
            "Sat 2026-11-28: weekend, no session; next session Mon 2026-11-30 09:30 ET",
        ),
        (
            datetime(2026, 11, 30, 8, 0, tzinfo=ET),
            "Mon 2026-11-30: trading day, SPX options 09:30-16:00 ET",
        ),
    ],
)
def test_the_calendar_says_what_today_is(day: datetime, expected: str, warm_calendar: None) -> None:
    async def check() -> doctor.Check:
        from condordesk.app.bootstrap import load_calendar

        return doctor.check_calendar(SimClock(day), lambda d: load_calendar(d, 1))

    result = asyncio.run(check())
    assert result.status == "ok" and result.detail == expected


def test_a_calendar_that_cannot_be_loaded_fails(condordesk_home: Path) -> None:
    condordesk_home.mkdir(parents=True, exist_ok=True)
    (condordesk_home / "cache").write_text("a file where the cache dir should be")

    async def check() -> doctor.Check:
        from condordesk.app.bootstrap import load_calendar

        clock = SimClock(datetime(2026, 11, 30, 8, 0, tzinfo=ET))
        return doctor.check_calendar(clock, lambda d: load_calendar(d, 1))

    result = asyncio.run(check())
    assert result.status == "fail" and "cannot be loaded" in result.detail and result.fix
