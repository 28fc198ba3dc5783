"""The deployment kit: units that systemd accepts, timers on New York time across daylight
saving changes, firewall rules nft accepts, and install.sh into a temporary root (dry run
first, then for real, then again with nothing left to change)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import PACKAGING, install, listing, need, stage_system

UNITS = sorted(p.name for p in (PACKAGING / "systemd").iterdir())
ENGINE_UNITS = ["condordesk@paper.service", "condordesk@live.service"]


def verify(root: Path, *units: str) -> subprocess.CompletedProcess[str]:
    tool = need("systemd-analyze")
    return subprocess.run(
        [tool, "verify", f"--root={root}", *(f"/etc/systemd/system/{u}" for u in units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    run = install(root, "--no-app", "--profile", "paper", "--vnc")
    assert run.returncode == 0, run.stderr
    return root


def test_every_unit_passes_systemd_analyze_verify(installed: Path) -> None:
    stage_system(installed)
    units = [u for u in UNITS if not u.endswith("@.service")] + ENGINE_UNITS
    result = verify(installed, *units)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == "", "no warnings either"


def test_verify_catches_a_broken_unit(installed: Path) -> None:
    """The check above can fail: a unit naming a program that is not there is refused."""
    stage_system(installed)
    (installed / "usr/sbin/nft").unlink()
    result = verify(installed, "condordesk-vnc-close.service")
    assert result.returncode != 0 and "nft" in result.stderr


def test_the_engine_unit_is_a_notify_service_fed_by_a_watchdog_and_hardened() -> None:
    text = (PACKAGING / "systemd/condordesk@.service").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE))
    assert settings["Type"] == "notify"
    assert settings["Restart"] == "on-failure" and settings["RestartSec"] == "10"
    assert int(settings["WatchdogSec"]) >= 120  # > cycle (30 s) + a close chasing its price
    assert settings["User"] == "condordesk"
    assert "--autotrade --profile %i" in settings["ExecStart"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert settings[key] == "yes"
    assert settings["ProtectSystem"] == "strict"
    # the engine writes only under its CONDORDESK_HOME, which is writable despite strict
    assert "Environment=CONDORDESK_HOME=/var/lib/condordesk" in text
    assert settings["ReadWritePaths"] == "/var/lib/condordesk"


def next_elapses(spec: str, base: str, count: int) -> list[str]:
    tool = need("systemd-analyze")
    out = subprocess.run(
        [tool, "calendar", f"--base-time={base}", f"--iterations={count}", spec],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    ).stdout
    return re.findall(r"(?:Next elapse|Iter\. #\d+): (.+ UTC)", out)


def calendars(unit: str) -> list[str]:
    text = (PACKAGING / "systemd" / unit).read_text()
    return re.findall(r"^OnCalendar=(.+)$", text, re.MULTILINE)


def test_the_vnc_window_opens_at_eight_new_york_time_on_both_sides_of_a_dst_change() -> None:
    (spec,) = calendars("condordesk-vnc-window.timer")
    assert spec.endswith("America/New_York")
    # US daylight saving time starts on Sunday 2027-03-14
    opens = next_elapses(spec, "2027-03-12 00:00 UTC", 3)
    assert opens == [
        "Fri 2027-03-12 13:00:00 UTC",  # 08:00 EST
        "Mon 2027-03-15 12:00:00 UTC",  # 08:00 EDT, no edit needed
        "Tue 2027-03-16 12:00:00 UTC",
    ]


def test_the_vnc_window_closes_before_the_daily_reset_and_after_the_close() -> None:
    specs = calendars("condordesk-vnc-close.timer")
    closes = [next_elapses(s, "2027-07-01 00:00 UTC", 1)[0] for s in specs]
    assert closes == ["Thu 2027-07-01 13:20:00 UTC", "Thu 2027-07-01 20:30:00 UTC"]  # EDT


def test_the_firewall_rules_load_and_allow_vnc_only_over_tailscale() -> None:
    nft = need("nft")
    for name in ("vnc-open.nft", "vnc-closed.nft"):
        check = subprocess.run(
            [nft, "-c", "-f", str(PACKAGING / "nftables" / name)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert check.returncode == 0, check.stderr
    unshare = need("unshare")
    script = (
        f"{nft} -f {PACKAGING}/nftables/vnc-open.nft && {nft} -f {PACKAGING}/nftables/vnc-open.nft"
        f" && {nft} list ruleset && echo --- && {nft} -f {PACKAGING}/nftables/vnc-closed.nft"
        f" && {nft} list ruleset"
    )
    run = subprocess.run(
        [unshare, "-n", "sh", "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    if run.returncode != 0 and "Operation not permitted" in run.stderr:
        pytest.skip("no permission for a private network namespace")
    assert run.returncode == 0, run.stderr
    opened, closed = run.stdout.split("---")
    # loaded twice, one rule: the table is replaced, never duplicated
    assert opened.count("dport 5901") == 1
    assert 'iifname != { "lo", "tailscale0" } drop' in opened
    assert closed.count("dport 5901") == 1 and "tailscale0" not in closed


def test_dry_run_prints_every_change_and_makes_none(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    before = listing(root)
    run = install(root, "--dry-run", "--profile", "paper", "--vnc")
    assert run.returncode == 0, run.stderr
    assert listing(root) == before, "a dry run changes nothing"
    out = run.stdout
    for unit in UNITS:
        assert f"would install /etc/systemd/system/{unit}" in out
    for expected in (
        "would create user condordesk",
        "would create directory /var/lib/condordesk (mode 0700, owner condordesk)",
        "would create virtual environment /opt/condordesk/venv",
        "would install condordesk from",
        "would install /etc/condordesk/nftables/vnc-open.nft",
        "would enable condordesk@paper.service",
        "would enable condordesk-vnc-window.timer",
    ):
        assert expected in out, out
    changes = sum(1 for line in out.splitlines() if line.startswith("would "))
    assert out.splitlines()[-1] == f"dry run: {changes} change(s) to make"


def test_install_into_a_temporary_root_then_again_changes_nothing(
    installed: Path, tmp_path: Path
) -> None:
    passwd = (installed / "etc/passwd").read_text()
    assert re.search(
        r"^condordesk:x:\d+:\d+:.*:/var/lib/condordesk:/usr/sbin/nologin$", passwd, re.M
    )
    state = installed / "var/lib/condordesk"
    for sub in ("", "config/profiles", "data", "log", "cache", "run"):
        assert (state / sub).stat().st_mode & 0o777 == 0o700, sub
    enabled = subprocess.run(
        [
            need("systemctl"),
            f"--root={installed}",
            "is-enabled",
            "condordesk@paper.service",
            "condordesk-vnc-window.timer",
            "condordesk-vnc-close.timer",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert enabled.stdout.split() == ["enabled"] * 3, enabled.stderr
    before = listing(installed)
    again = install(installed, "--no-app", "--profile", "paper", "--vnc")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "done: 0 change(s)", again.stdout
    assert listing(installed) == before
    dry = install(installed, "--dry-run", "--no-app", "--profile", "paper", "--vnc")
    assert (
        "would " not in dry.stdout and dry.stdout.splitlines()[-1] == "dry run: 0 change(s) to make"
    )


def test_an_edited_unit_is_put_back_and_reported(installed: Path) -> None:
    unit = installed / "etc/systemd/system/condordesk@.service"
    unit.write_text(unit.read_text().replace("RestartSec=10", "RestartSec=1"))
    run = install(installed, "--no-app", "--profile", "paper")
    assert "update /etc/systemd/system/condordesk@.service" in run.stdout
    assert run.stdout.splitlines()[-1] == "done: 1 change(s)"
    assert "RestartSec=10" in unit.read_text()


def test_encrypted_credentials_of_a_profile_become_a_verified_drop_in(installed: Path) -> None:
    store = installed / "etc/credstore.encrypted"
    (store / "condordesk-paper.telegram_bot_token").write_bytes(b"ciphertext")
    (store / "condordesk-live.telegram_bot_token").write_bytes(b"another profile's")
    run = install(installed, "--no-app", "--profile", "paper")
    assert run.returncode == 0, run.stderr
    dropin = installed / "etc/systemd/system/condordesk@paper.service.d/credentials.conf"
    lines = [ln for ln in dropin.read_text().splitlines() if ln.startswith("LoadCredential")]
    assert lines == [
        "LoadCredentialEncrypted=telegram_bot_token:"
        "/etc/credstore.encrypted/condordesk-paper.telegram_bot_token"
    ]
    stage_system(installed)
    result = verify(installed, "condordesk@paper.service")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    (store / "condordesk-paper.telegram_bot_token").unlink()
    install(installed, "--no-app", "--profile", "paper")
    assert not dropin.exists(), "no credentials left: the drop-in goes"


def test_bad_options_are_refused(tmp_path: Path) -> None:
    assert install(tmp_path, "--profile", "../etc").returncode == 2
    assert install(tmp_path / "missing").returncode == 2
    assert install(tmp_path, "--frobnicate").returncode == 2


def test_the_engine_unit_stays_hardened(installed: Path) -> None:
    """systemd's own exposure score of the engine unit (0 best, 10 worst): 1.7 when written;
    --threshold makes the command fail above 2.5."""
    stage_system(installed)
    tool = need("systemd-analyze")
    run = subprocess.run(
        [
            tool,
            "security",
            "--offline=yes",
            f"--root={installed}",
            "--threshold=25",
            "--no-pager",
            "/etc/systemd/system/condordesk@paper.service",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-1500:] + run.stderr
    assert re.search(r"Overall exposure level for condordesk@paper.service: [0-2]\.\d", run.stdout)
