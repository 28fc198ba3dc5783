"""Secrets: masked values, the resolution order (systemd credentials, keyring, a named env
variable), per-profile namespaces, and a machine without a keyring."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from condordesk.ops.credentials import (
    CredentialError,
    Secret,
    SecretMissing,
    SecretStore,
    service,
)
from tests.notify.support import MemoryKeyring

VALUE = "123456:very-secret"


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def creds_dir(tmp_path: Path) -> Path:
    d = tmp_path / "credentials"
    d.mkdir()
    return d


def test_a_secret_never_shows_its_value() -> None:
    s = Secret(VALUE)
    shown = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>20}", "%s" % s, str([s]), str({"t": s})]  # noqa: UP031
    assert all(VALUE not in text for text in shown)
    assert "********" in str(s)
    assert s.reveal() == VALUE
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"t": s})


def test_systemd_credentials_come_first_then_the_keyring_then_a_named_variable(
    creds_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    env = {"CREDENTIALS_DIRECTORY": str(creds_dir), "TG": "from-env"}
    store = SecretStore("live", {"telegram_bot_token": "TG"}, environ=env)

    found = store.resolve("telegram_bot_token")
    assert (found.source, found.secret.reveal()) == ("env", "from-env")
    assert found.where == "$TG"

    store_kr = SecretStore("live", {"telegram_bot_token": "TG"}, environ=env)
    store_kr.set("telegram_bot_token", "from-keyring")
    found = store.resolve("telegram_bot_token")
    assert (found.source, found.secret.reveal()) == ("keyring", "from-keyring")
    assert found.where == service("live")

    (creds_dir / "telegram_bot_token").write_text("from-systemd\n")
    found = store.resolve("telegram_bot_token")
    assert (found.source, found.secret.reveal()) == ("credentials", "from-systemd")
    assert found.where == str(creds_dir / "telegram_bot_token")


def test_an_environment_variable_counts_only_if_the_profile_names_it() -> None:
    store = SecretStore("live", {}, environ={"telegram_bot_token": VALUE, "TG": VALUE})
    with pytest.raises(SecretMissing) as caught:
        store.resolve("telegram_bot_token")
    message = str(caught.value)
    assert "condordesk secret set telegram_bot_token --profile live" in message
    assert "LoadCredentialEncrypted=" in message
    assert VALUE not in message


def test_an_empty_credential_file_does_not_count(creds_dir: Path) -> None:
    (creds_dir / "telegram_chat_id").write_text("\n")
    store = SecretStore("live", environ={"CREDENTIALS_DIRECTORY": str(creds_dir)})
    with pytest.raises(SecretMissing):
        store.resolve("telegram_chat_id")


def test_two_accounts_keep_their_own_secrets(memory_keyring: MemoryKeyring) -> None:
    first, second = SecretStore("live", environ={}), SecretStore("live2", environ={})
    first.set("telegram_bot_token", "token-of-live")
    second.set("telegram_bot_token", "token-of-live2")
    first.set("telegram_chat_id", "111")

    assert first.get("telegram_bot_token").reveal() == "token-of-live"
    assert second.get("telegram_bot_token").reveal() == "token-of-live2"
    with pytest.raises(SecretMissing):
        second.get("telegram_chat_id")
    assert first.names() == ["telegram_bot_token", "telegram_chat_id"]
    assert second.names() == ["telegram_bot_token"]


def test_delete_removes_a_secret_and_its_name() -> None:
    store = SecretStore("paper", environ={})
    store.set("telegram_chat_id", "111")
    assert store.delete("telegram_chat_id") is True
    assert store.delete("telegram_chat_id") is False
    assert store.names() == []
    with pytest.raises(SecretMissing):
        store.get("telegram_chat_id")


@pytest.mark.parametrize("name", ["../etc/passwd", "", "a b", ".names", "x" * 65])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(CredentialError, match="invalid secret name"):
        SecretStore("live", environ={}).resolve(name)


def test_without_a_keyring_systemd_credentials_still_work(creds_dir: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    (creds_dir / "telegram_bot_token").write_text(VALUE)
    store = SecretStore("live", environ={"CREDENTIALS_DIRECTORY": str(creds_dir)})

    assert store.get("telegram_bot_token").reveal() == VALUE
    with pytest.raises(SecretMissing):
        store.get("telegram_chat_id")
    with pytest.raises(CredentialError, match=r"no OS keyring.*systemd-creds encrypt") as caught:
        store.set("telegram_chat_id", "111")
    assert "111" not in str(caught.value)
    assert store.credential_names() == ["telegram_bot_token"]


class _BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError(f"D-Bus said no while reading {VALUE}")


def test_a_failing_keyring_is_a_clear_error_without_the_backends_words() -> None:
    keyring.set_keyring(_BrokenKeyring())
    with pytest.raises(CredentialError) as caught:
        SecretStore("live", environ={}).get("telegram_bot_token")
    assert "OS keyring failed (RuntimeError)" in str(caught.value)
    assert VALUE not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
