"""Files and directories private to the user whatever the umask, and never through a symlink
or into a directory another user controls (issue 13)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from condordesk.config import paths
from condordesk.ops import fsafe
from condordesk.ops.fsafe import UnsafePath

NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: nothing private may depend on it."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another uid needs root")


def test_new_dirs_and_files_are_owner_only_whatever_the_umask(
    tmp_path: Path, open_umask: None
) -> None:
    nested = fsafe.ensure_dir(tmp_path / "a" / "b")
    fd = fsafe.open_private(nested / "f", os.O_WRONLY)
    os.close(fd)
    written = fsafe.write_private(nested / "export.csv", "x,y\n")

    assert mode(tmp_path / "a") == 0o700 and mode(nested) == 0o700
    assert mode(nested / "f") == 0o600 and mode(written) == 0o600
    assert written.read_text() == "x,y\n"
    assert {p.name for p in nested.iterdir()} == {"f", "export.csv"}, "no temporary file left"


def test_an_existing_file_of_ours_is_made_private(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("old")
    f.chmod(0o644)
    os.close(fsafe.open_private(f))
    assert mode(f) == 0o600


def test_a_symlink_in_place_of_a_file_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "lock").symlink_to(victim)

    with pytest.raises(UnsafePath, match="symlink"):
        fsafe.open_private(tmp_path / "lock", os.O_RDWR | os.O_TRUNC)
    with pytest.raises(UnsafePath, match="symlink"):
        fsafe.write_private(tmp_path / "lock", "pid")
    with pytest.raises(UnsafePath, match="symlink"):
        fsafe.check_existing(tmp_path / "lock")
    assert victim.read_text() == "precious"


def test_a_hard_link_to_another_file_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.link(victim, tmp_path / "journal")

    with pytest.raises(UnsafePath, match="hard links"):
        fsafe.open_private(tmp_path / "journal")


def test_a_group_or_world_writable_directory_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)

    with pytest.raises(UnsafePath, match=r"writable by group or others \(mode 0777\)"):
        fsafe.ensure_dir(shared)
    with pytest.raises(UnsafePath, match="writable by group"):
        fsafe.ensure_dir(shared / "sub")
    assert not (shared / "sub").exists()


def test_a_readable_directory_of_ours_is_accepted_and_left_as_it_is(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o755)
    assert fsafe.ensure_dir(mine) == mine
    assert mode(mine) == 0o755


def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    need_root()
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)

    with pytest.raises(UnsafePath, match=f"owned by uid {NOBODY}"):
        fsafe.ensure_dir(theirs)


def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    need_root()
    theirs = tmp_path / "f"
    theirs.write_text("")
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(UnsafePath, match=f"owned by uid {NOBODY}"):
        fsafe.open_private(theirs)


def test_a_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafePath, match="symlink"):
        fsafe.ensure_dir(tmp_path / "link")


def test_paths_ensure_checks_an_existing_runtime_dir(tmp_path: Path) -> None:
    run = paths.runtime_dir()
    run.mkdir(parents=True)
    run.chmod(0o777)
    with pytest.raises(UnsafePath, match="writable by group or others"):
        paths.ensure(run)


def test_an_export_to_a_shared_directory_is_private_and_refuses_a_planted_symlink(
    tmp_path: Path, open_umask: None
) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (shared / "planted.json").symlink_to(victim)

    fsafe.write_private(shared / "summary.json", "{}\n", private_dir=False)
    with pytest.raises(UnsafePath, match="symlink"):
        fsafe.write_private(shared / "planted.json", "{}\n", private_dir=False)

    assert victim.read_text() == "precious", "never written through the symlink"
    assert (shared / "summary.json").read_text() == "{}\n"
    assert mode(shared / "summary.json") == 0o600
    assert sorted(p.name for p in shared.iterdir()) == ["planted.json", "summary.json"]


def test_a_private_dir_may_be_created_inside_a_sticky_shared_dir_like_tmp(
    tmp_path: Path,
) -> None:
    """``/tmp/runtime-<uid>`` (no XDG_RUNTIME_DIR): made by us, 0700, so nobody can swap it."""
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    made = fsafe.ensure_dir(sticky / "runtime-0" / "condordesk")
    assert mode(made) == 0o700 and mode(sticky / "runtime-0") == 0o700
    with pytest.raises(UnsafePath, match="writable by group or others"):
        fsafe.ensure_dir(sticky)  # but never as the directory condordesk itself uses


def test_a_world_writable_dir_without_the_sticky_bit_is_no_place_to_create_in(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafePath, match="writable by group or others"):
        fsafe.ensure_dir(shared / "mine")


def test_a_dir_reached_through_a_root_owned_symlink_may_be_created_in(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o755)
    (tmp_path / "var-run").symlink_to(real)  # like /var/run -> /run
    assert mode(fsafe.ensure_dir(tmp_path / "var-run" / "condordesk")) == 0o700


def test_group_writable_is_accepted_only_for_the_users_private_group(tmp_path: Path) -> None:
    """Debian/Ubuntu's user-private groups with umask 002: the group is the user alone."""
    import grp
    import pwd

    me = pwd.getpwuid(os.geteuid()).pw_name
    own = grp.getgrgid(os.getegid())
    if own.gr_name != me or set(own.gr_mem) - {me}:
        pytest.skip("this user's primary group is not a private group")
    shared = tmp_path / "g"
    shared.mkdir()
    shared.chmod(0o770)
    assert fsafe.ensure_dir(shared) == shared
    other = next((g for g in grp.getgrall() if g.gr_gid != os.getegid()), None)
    if other is None or os.geteuid() != 0:
        return
    os.chown(shared, -1, other.gr_gid)
    with pytest.raises(UnsafePath, match="writable by group"):
        fsafe.ensure_dir(shared)


def test_a_dir_another_user_made_first_in_a_sticky_dir_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: between our look and our mkdir, another user creates the directory."""
    need_root()
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    target = sticky / "runtime-0"
    real_mkdir = os.mkdir

    def raced(path: object, mode: int = 0o777) -> None:
        if Path(str(path)) == target:
            real_mkdir(target, 0o755)
            os.chown(target, NOBODY, NOBODY)  # the attacker was first
        real_mkdir(path, mode)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "mkdir", raced)
    with pytest.raises(UnsafePath, match=f"owned by uid {NOBODY}"):
        fsafe.ensure_dir(target / "condordesk")
    assert not (target / "condordesk").exists()
