"""Secrets: where they come from, and a type that never shows its value.

The only module that imports :mod:`keyring`. A secret is looked up, in this order:

1. a systemd credential, ``$CREDENTIALS_DIRECTORY/<name>`` (``LoadCredentialEncrypted=`` in
   the service unit: how a headless server, which has no keyring, gets its secrets);
2. the OS keyring, under the service ``condordesk:<namespace>`` (the profile's
   ``secrets.namespace``, else its name, so two accounts never share a token by accident);
3. an environment variable, only if the profile names one for it (``secrets.env``);

else :class:`SecretMissing` says how to set it. Values travel as :class:`Secret`, whose
``repr``, ``str`` and format are masked; only :meth:`Secret.reveal` gives the value, at the
point where it is sent. Nothing here logs or raises with a value in it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Final, Literal, TypeVar

from condordesk.errors import CondordeskError

SERVICE_PREFIX: Final = "condordesk:"
"""Keyring service of a namespace: ``condordesk:<namespace>``."""

CREDENTIALS_ENV: Final = "CREDENTIALS_DIRECTORY"
"""Set by systemd for a unit with ``LoadCredential=`` / ``LoadCredentialEncrypted=``."""

TELEGRAM_TOKEN: Final = "telegram_bot_token"  # noqa: S105 - a name, not a value
TELEGRAM_CHAT: Final = "telegram_chat_id"

_INDEX: Final = ".names"  # a keyring entry listing the names set (keyring cannot list)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MASK: Final = "********"

Source = Literal["credentials", "keyring", "env"]


def _keyring() -> ModuleType:
    """The keyring package, imported on first use (it takes a tenth of a second to load, and
    a run without alerts never needs it)."""
    import keyring
    import keyring.errors

    return keyring


T = TypeVar("T")


class CredentialError(CondordeskError):
    """A secret cannot be read, stored or deleted (the message says why and what to do)."""


class SecretMissing(CredentialError):
    """A secret is set nowhere the profile allows."""


class Secret:
    """A secret value that shows as ``********`` in every repr, str, format and log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: call it only where the secret is used (a request), never to log."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A secret and where it was found (``where`` is a path, keyring service or variable)."""

    name: str
    secret: Secret
    source: Source
    where: str


def _no_keyring() -> type[Exception]:
    """keyring's "no backend on this machine" error class."""
    error: type[Exception] = _keyring().errors.NoKeyringError
    return error


def check_name(name: str) -> str:
    """Validate a secret name (letters, digits, ``_ . -``; 1 to 64 characters).

    Raises:
        CredentialError: the name is not valid.
    """
    if not _NAME.fullmatch(name) or name == _INDEX:
        raise CredentialError(
            f"invalid secret name {name!r}: use letters, digits, '_', '.', '-' (1-64 characters)"
        )
    return name


def service(namespace: str) -> str:
    """The keyring service name of a namespace."""
    return SERVICE_PREFIX + namespace


class SecretStore:
    """A profile's secrets: resolve them (credentials dir, keyring, allowed env vars), and
    set, list and delete them in the keyring.

    Args:
        namespace: The profile's secrets namespace.
        env_vars: Secret name -> environment variable allowed to supply it (``secrets.env``).
        environ: The environment to read (``os.environ`` by default; tests pass their own).
        profile: The profile's name, for messages (defaults to the namespace).
    """

    def __init__(
        self,
        namespace: str,
        env_vars: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        profile: str = "",
    ) -> None:
        self.namespace = namespace
        self.profile = profile or namespace
        self._env_vars = dict(env_vars or {})
        self._environ = os.environ if environ is None else environ

    def __repr__(self) -> str:
        return f"SecretStore(namespace={self.namespace!r})"

    # --- resolving ---------------------------------------------------------------------

    def resolve(self, name: str) -> Resolved:
        """Find a secret (credentials dir, then keyring, then an allowed env variable).

        Raises:
            SecretMissing: it is set nowhere; the message says how to set it.
            CredentialError: a credential file exists but cannot be read.
        """
        check_name(name)
        found = self._from_credentials(name) or self._from_keyring(name) or self._from_env(name)
        if found is None:
            raise SecretMissing(self._how_to_set(name))
        return found

    def get(self, name: str) -> Secret:
        """The secret's value (masked); see :meth:`resolve`."""
        return self.resolve(name).secret

    def _from_credentials(self, name: str) -> Resolved | None:
        directory = self._environ.get(CREDENTIALS_ENV, "")
        if not directory:
            return None
        path = Path(directory) / name
        if not path.is_file():
            return None
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialError(
                f"secret {name}: cannot read the systemd credential {path}: {type(exc).__name__}"
            ) from None
        return Resolved(name, Secret(value), "credentials", str(path)) if value else None

    def _from_keyring(self, name: str) -> Resolved | None:
        try:
            kr = _keyring()
            value = kr.get_password(service(self.namespace), name)
        except _no_keyring():
            return None  # a headless server: credentials or env instead
        except Exception as exc:  # a backend failing (locked, D-Bus gone): not fatal here
            raise CredentialError(
                f"secret {name}: the OS keyring failed ({type(exc).__name__}); unlock it, or "
                "provide the secret as a systemd credential"
            ) from None
        if not value:
            return None
        return Resolved(name, Secret(value), "keyring", service(self.namespace))

    def _from_env(self, name: str) -> Resolved | None:
        var = self._env_vars.get(name)
        value = self._environ.get(var, "") if var else ""
        return Resolved(name, Secret(value), "env", f"${var}") if var and value else None

    def _how_to_set(self, name: str) -> str:
        var = self._env_vars.get(name)
        env = f", or export ${var}" if var else ""
        return (
            f"secret {name} is not set for namespace {self.namespace!r}: run "
            f"`condordesk secret set {name} --profile {self.profile}` (OS keyring), or on a server "
            f"without a keyring give the service a systemd credential named {name} "
            f"(LoadCredentialEncrypted={name}:/etc/credstore.encrypted/...; see the README){env}"
        )

    def credential_names(self) -> list[str]:
        """The names of the systemd credentials given to this process (none outside a unit)."""
        directory = self._environ.get(CREDENTIALS_ENV, "")
        if not directory or not Path(directory).is_dir():
            return []
        return sorted(p.name for p in Path(directory).iterdir() if _NAME.fullmatch(p.name))

    # --- keyring management --------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """Store a secret in the OS keyring (and remember its name for :meth:`names`).

        Raises:
            CredentialError: an invalid name, an empty value, or no usable keyring.
        """
        check_name(name)
        if not value:
            raise CredentialError(f"secret {name}: empty value, nothing stored")
        self._keyring_call("store", name, lambda: self._set(name, value))

    def delete(self, name: str) -> bool:
        """Remove a secret from the OS keyring. Returns False if it was not there.

        Raises:
            CredentialError: an invalid name, or no usable keyring.
        """
        check_name(name)
        return self._keyring_call("delete", name, lambda: self._delete(name))

    def names(self) -> list[str]:
        """The names stored in this namespace's keyring (sorted; never the values).

        Raises:
            CredentialError: no usable keyring.
        """
        return self._keyring_call("list", "", self._stored_names)

    def _set(self, name: str, value: str) -> None:
        kr = _keyring()
        kr.set_password(service(self.namespace), name, value)
        names = set(self._stored_names()) | {name}
        kr.set_password(service(self.namespace), _INDEX, json.dumps(sorted(names)))

    def _delete(self, name: str) -> bool:
        kr = _keyring()
        try:
            kr.delete_password(service(self.namespace), name)
            existed = True
        except kr.errors.PasswordDeleteError:
            existed = False
        names = set(self._stored_names()) - {name}
        kr.set_password(service(self.namespace), _INDEX, json.dumps(sorted(names)))
        return existed

    def _stored_names(self) -> list[str]:
        raw = _keyring().get_password(service(self.namespace), _INDEX)
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            names = []
        return sorted(n for n in names if isinstance(n, str) and _NAME.fullmatch(n))

    def _keyring_call(self, what: str, name: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except _no_keyring():
            raise CredentialError(
                f"cannot {what} {('secret ' + name) if name else 'secrets'}: no OS keyring on "
                "this machine (a headless server?). Use a systemd credential instead: "
                "systemd-creds encrypt, then LoadCredentialEncrypted= in the unit (see the "
                "README)"
            ) from None
        except CredentialError:
            raise
        except Exception as exc:
            raise CredentialError(
                f"cannot {what} {('secret ' + name) if name else 'secrets'}: the OS keyring "
                f"failed ({type(exc).__name__})"
            ) from None


def store_for(
    namespace: str, env_vars: Mapping[str, str] | None = None, profile: str = ""
) -> SecretStore:
    """The secret store of a namespace (the composition root's entry point)."""
    return SecretStore(namespace, env_vars, profile=profile)
