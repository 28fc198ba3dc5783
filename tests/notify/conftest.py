"""Fixtures of the alert tests: an in-memory keyring for every test."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from tests.notify.support import MemoryKeyring


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring backend, set for the test and taken away after it."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
