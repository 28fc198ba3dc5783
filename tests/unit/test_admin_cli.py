"""`condordesk secret ...`, `condordesk notify test` and `condordesk profile new|list|check`,
run in-process with an in-memory keyring."""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from condordesk.app.cli import main
from condordesk.config.loader import load_profile
from tests.notify.support import MemoryKeyring, threaded_fake

REPO = Path(__file__).resolve().parents[2]
TOKEN = "987654:planted-token"


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def new_profile(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> str:
    code, out, err = run(capsys, "profile", "new", name, *extra)
    assert code == 0, err
    return out


def test_secret_set_reads_stdin_and_never_prints_the_value(
    capsys: pytest.CaptureFixture[str], memory_keyring: MemoryKeyring
) -> None:
    new_profile(capsys, "acct1", "--mode", "paper", "--account", "DU1111111")
    code, out, err = run(
        capsys, "secret", "set", "telegram_bot_token", "--profile", "acct1", stdin=TOKEN + "\n"
    )
    assert code == 0
    assert memory_keyring.entries[("condordesk:acct1", "telegram_bot_token")] == TOKEN
    assert TOKEN not in out + err

    code, out, err = run(capsys, "secret", "list", "--profile", "acct1")
    assert code == 0 and "telegram_bot_token" in out and TOKEN not in out + err


def test_secret_set_on_a_terminal_prompts_twice_without_echo(
    capsys: pytest.CaptureFixture[str],
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter([TOKEN, TOKEN, "typo-1", "typo-2"])
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert main(["secret", "set", "telegram_chat_id"]) == 0
    assert memory_keyring.entries[("condordesk:sim", "telegram_chat_id")] == TOKEN
    assert len(prompts) == 2
    assert main(["secret", "set", "telegram_chat_id"]) == 2  # the two entries differ
    assert memory_keyring.entries[("condordesk:sim", "telegram_chat_id")] == TOKEN
    assert TOKEN not in "".join(capsys.readouterr())


def test_secret_delete(capsys: pytest.CaptureFixture[str], memory_keyring: MemoryKeyring) -> None:
    run(capsys, "secret", "set", "telegram_chat_id", stdin="111")
    assert run(capsys, "secret", "delete", "telegram_chat_id")[0] == 0
    code, _, err = run(capsys, "secret", "delete", "telegram_chat_id")
    assert code == 1 and "no secret telegram_chat_id" in err
    assert ("condordesk:sim", "telegram_chat_id") not in memory_keyring.entries


def test_secret_check_says_where_each_secret_comes_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram_bot_token").write_text(TOKEN)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    on = ("--set", "notify.enabled=true")

    code, out, _ = run(capsys, "secret", "check", "--profile", "sim", *on)
    assert code == 1  # the chat id is missing
    assert f"telegram_bot_token       systemd credential {creds / 'telegram_bot_token'}" in out
    assert "telegram_chat_id         MISSING" in out
    assert "condordesk secret set telegram_chat_id --profile sim" in out

    run(capsys, "secret", "set", "telegram_chat_id", stdin="4242")
    code, out, _ = run(capsys, "secret", "check", "--profile", "sim", *on)
    assert code == 0
    assert "telegram_chat_id         OS keyring condordesk:sim" in out
    assert TOKEN not in out and "4242" not in out


def test_notify_test_sends_a_message_with_the_profiles_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "secret", "set", "telegram_bot_token", stdin=TOKEN)
    run(capsys, "secret", "set", "telegram_chat_id", stdin="4242")
    with threaded_fake() as fake:
        code, out, err = run(
            capsys, "notify", "test", "--set", f"notify.telegram.api_url={fake.url}"
        )
    assert code == 0, err
    assert "sent a test alert" in out
    [request] = fake.sent()
    assert request.token == TOKEN and request.body["chat_id"] == "4242"
    assert "test alert from condordesk" in request.body["text"]


def test_notify_test_reports_a_refusal_and_a_missing_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "notify", "test")
    assert code == 1 and "secret telegram_bot_token is not set" in err
    run(capsys, "secret", "set", "telegram_bot_token", stdin=TOKEN)
    run(capsys, "secret", "set", "telegram_chat_id", stdin="4242")
    with threaded_fake(default=401, echo_path=True) as fake:
        code, out, err = run(
            capsys, "notify", "test", "--set", f"notify.telegram.api_url={fake.url}"
        )
    assert code == 1
    assert "not sent: refused (401)" in err
    assert TOKEN not in out + err


def test_profile_new_writes_commented_templates_with_their_own_paths(
    capsys: pytest.CaptureFixture[str], condordesk_home: Path
) -> None:
    paper_out = new_profile(capsys, "paper2", "--mode", "paper", "--account", "DU7654321")
    live_out = new_profile(
        capsys, "live2", "--mode", "live", "--account", "U7654321", "--yes-live-account"
    )
    sim_out = new_profile(capsys, "sim2")

    written = condordesk_home / "config" / "profiles" / "live2.toml"
    text = written.read_text()
    assert text.startswith("# condordesk profile: live2 (live)")
    assert "REAL MONEY" in text and "[secrets]" in text and "[notify]" in text
    assert written.stat().st_mode & 0o077 == 0
    live = load_profile("live2").profile
    assert (live.name, live.mode, live.broker.account) == ("live2", "live", "U7654321")
    assert load_profile("paper2").profile.broker.account == "DU7654321"
    assert load_profile("sim2").profile.mode == "sim"
    for name, out in (("paper2", paper_out), ("live2", live_out), ("sim2", sim_out)):
        assert f"journal-{name}.sqlite3" in out
        assert f"{name}.log" in out
        assert f"engine-{name}.sock" in out
        assert f"keyring namespace {name}" in out

    code, out, _ = run(capsys, "profile", "list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["live2", "paper2", "sim", "sim2"]
    code, out, _ = run(capsys, "profile", "check", "live2")
    assert code == 0 and "OK (profile live2, mode live, broker ib)" in out


def test_a_live_profile_needs_an_explicit_confirmation(
    capsys: pytest.CaptureFixture[str], condordesk_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = condordesk_home / "config" / "profiles" / "acct.toml"
    code, _, err = run(capsys, "profile", "new", "acct", "--mode", "live", "--account", "U7654321")
    assert code == 2 and "--yes-live-account" in err
    assert not target.exists()

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    live = ["profile", "new", "acct", "--mode", "live", "--account", "U7654321"]
    assert main(live) == 2  # must type the name
    assert not target.exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "acct")
    assert main(live) == 0
    assert load_profile("acct").profile.mode == "live"


def test_profile_new_does_not_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], condordesk_home: Path
) -> None:
    new_profile(capsys, "mine", "--mode", "paper", "--account", "DU1111111")
    code, _, err = run(capsys, "profile", "new", "mine", "--mode", "paper")
    assert code == 2 and "exists" in err
    assert load_profile("mine").profile.broker.account == "DU1111111"
    new_profile(capsys, "mine", "--mode", "paper", "--force", "--account", "DU2222222")
    assert load_profile("mine").profile.broker.account == "DU2222222"


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_profile_new_without_an_account_writes_nothing(
    mode: str, capsys: pytest.CaptureFixture[str], condordesk_home: Path
) -> None:
    code, _, err = run(capsys, "profile", "new", "acct", "--mode", mode, "--yes-live-account")
    assert code == 2 and "needs --account" in err
    assert not (condordesk_home / "config" / "profiles" / "acct.toml").exists()


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_the_shipped_templates_are_the_example_profiles(mode: str) -> None:
    shipped = REPO / "condordesk" / "config" / "templates" / f"{mode}.toml"
    assert shipped.read_bytes() == (REPO / "profiles" / f"{mode}.toml").read_bytes()
    tomllib.loads(shipped.read_text())


@pytest.mark.usefixtures("warm_calendar")
def test_an_engine_with_alerts_on_and_no_token_refuses_to_start_and_says_how_to_fix_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys,
        "--autotrade",
        "--speed",
        "100",
        "--start-date",
        "2026-11-30",
        "--set",
        "notify.enabled=true",
        "--set",
        "logging.file=false",
    )
    assert code == 1
    assert "secret telegram_bot_token is not set" in err
    assert "condordesk secret set telegram_bot_token --profile sim" in err


def test_secret_list_without_a_keyring_fails_with_the_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())  # the fixture puts the previous back
    code, out, err = run(capsys, "secret", "list", "--profile", "sim")
    assert code == 1
    assert "no OS keyring" in err
    assert "no secrets" not in out + err  # unknown, not none
