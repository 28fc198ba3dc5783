"""The engine lock never follows a symlink and never uses a runtime dir another user controls
(issue 13: as root with an attacker-writable runtime dir, it truncated a symlink's target)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from condordesk.config import paths
from condordesk.ops.fsafe import UnsafePath
from condordesk.ops.runlock import EngineLock, engine_running

NOBODY = 65534


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_the_lock_file_and_runtime_dir_are_owner_only_whatever_the_umask(
    open_umask: None,
) -> None:
    with EngineLock("sim") as lock:
        assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(lock.path.parent.stat().st_mode) == 0o700
        assert lock.path.read_text() == f"{os.getpid()}\n"


def test_a_symlink_planted_as_the_lock_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    run = paths.ensure(paths.runtime_dir())
    victim = tmp_path / "etc-shadow"
    victim.write_text("root:secret\n")
    (run / "engine-sim.lock").symlink_to(victim)

    with pytest.raises(UnsafePath, match="symlink"):
        EngineLock("sim").acquire()
    with pytest.raises(UnsafePath, match="symlink"):
        engine_running("sim")
    assert victim.read_text() == "root:secret\n"


def test_a_world_writable_runtime_dir_is_refused() -> None:
    run = paths.runtime_dir()
    run.mkdir(parents=True)
    run.chmod(0o777)
    with pytest.raises(UnsafePath, match="writable by group or others"):
        EngineLock("sim").acquire()
    assert list(run.iterdir()) == []


def test_a_runtime_dir_of_another_user_is_refused() -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another uid needs root")
    run = paths.runtime_dir()
    run.mkdir(parents=True, mode=0o700)
    os.chown(run, NOBODY, NOBODY)
    with pytest.raises(UnsafePath, match=f"owned by uid {NOBODY}"):
        EngineLock("sim").acquire()
    assert list(run.iterdir()) == []


def test_a_fifo_planted_as_the_lock_never_blocks_and_is_refused() -> None:
    run = paths.ensure(paths.runtime_dir())
    os.mkfifo(run / "engine-sim.lock")
    with pytest.raises(UnsafePath, match="not a regular file"):
        engine_running("sim")
    with pytest.raises(UnsafePath, match="not a regular file"):
        EngineLock("sim").acquire()
