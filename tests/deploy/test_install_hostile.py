"""install.sh runs as root, so nothing it is handed may turn into a command, and nothing the
service user plants may redirect its writes (issue 13: a crafted git tag name ran a command
through quoting inside ``sh -c``; a rerun followed a symlink the service user planted and set
an arbitrary root-owned directory to 0700)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import install

FAKE_PYTHON = """#!/bin/sh
# a stand-in for python3: "-m venv DIR" makes DIR/bin/python (this script); anything else
# (pip) appends its arguments, one a line, to $FAKE_PIP_LOG
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
printf '%s\\n' "$@" >> "$FAKE_PIP_LOG"
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        timeout=30,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    )


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "python3"
    exe.write_text(FAKE_PYTHON)
    exe.chmod(0o755)
    monkeypatch.setenv("FAKE_PIP_LOG", str(tmp_path / "pip.log"))
    return exe


@pytest.mark.parametrize(
    "tag",
    [
        "v1';touch${IFS}{pwned};'",  # breaks out of the old single quotes
        "v2$(touch${IFS}{pwned})",
        "v3`touch${IFS}{pwned}`",
    ],
)
def test_a_hostile_tag_name_is_only_ever_data(tmp_path: Path, fake_python: Path, tag: str) -> None:
    pwned = tmp_path / "pwned"
    tag = tag.replace("{pwned}", str(pwned))
    source = tmp_path / "src"
    source.mkdir()
    (source / "README").write_text("x\n")
    git(source, "init", "-q")
    git(source, "add", "README")
    git(source, "commit", "-q", "-m", "c")
    git(source, "tag", "-a", "-m", "release", tag)
    root = tmp_path / "root"
    root.mkdir()

    run = install(root, "--source", str(source), "--python", str(fake_python))

    assert run.returncode == 0, run.stdout + run.stderr
    assert not pwned.exists(), "the tag name ran a command"
    stamp = root / "opt/condordesk/venv/.condordesk-source"
    assert stamp.read_text() == tag + "\n"
    pip = (tmp_path / "pip.log").read_text().splitlines()
    assert pip[-1] == str(source) and pip[:4] == ["-m", "pip", "install", "--quiet"]


def test_pip_args_stay_separate_words_and_are_never_globbed(
    tmp_path: Path, fake_python: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "match-me").write_text("")
    run = install(
        root,
        "--python",
        str(fake_python),
        "--pip-args",
        f"--no-index --find-links {tmp_path}/match-* ;id",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    pip = (tmp_path / "pip.log").read_text().splitlines()
    assert ["--no-index", "--find-links", f"{tmp_path}/match-*", ";id"] == pip[5:9]


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    run = install(root, "--no-app", "--profile", "paper")
    assert run.returncode == 0, run.stderr
    return root


def test_a_symlink_planted_by_the_service_user_is_refused_not_followed(installed: Path) -> None:
    important = installed / "etc/important"
    important.mkdir(mode=0o755)
    important.chmod(0o755)
    cache = installed / "var/lib/condordesk/cache"
    cache.rmdir()
    cache.symlink_to(important)  # what the service user can do in its own directory

    run = install(installed, "--no-app", "--profile", "paper")

    assert run.returncode != 0
    assert f"refusing to write through the symlink {cache}" in run.stderr
    assert important.stat().st_mode & 0o777 == 0o755, "the target was not touched"
    assert important.stat().st_uid == 0


def test_a_symlink_in_place_of_an_installed_file_is_refused(installed: Path) -> None:
    victim = installed / "etc/victim"
    victim.write_text("precious")
    wrapper = installed / "usr/local/bin/condordesk"
    wrapper.unlink()
    wrapper.symlink_to(victim)

    run = install(installed, "--no-app", "--profile", "paper")

    assert run.returncode != 0 and "refusing to write through the symlink" in run.stderr
    assert victim.read_text() == "precious"


def test_the_installer_builds_no_string_for_a_shell() -> None:
    from tests.deploy.helpers import INSTALL

    text = INSTALL.read_text()
    assert "sh -c" not in text and "eval " not in text


def test_a_loosened_state_dir_is_made_private_again(installed: Path) -> None:
    data = installed / "var/lib/condordesk/data"
    data.chmod(0o755)
    run = install(installed, "--no-app", "--profile", "paper")
    assert run.returncode == 0, run.stderr
    assert "set mode 0700 on /var/lib/condordesk/data" in run.stdout
    assert data.stat().st_mode & 0o777 == 0o700


def test_a_symlink_swapped_in_after_the_check_is_still_never_changed(tmp_path: Path) -> None:
    """The race install.sh cannot rule out by looking first: its chmod/chown run inside the
    directory (cd -P, then '.') only when cd -P lands where the path should be."""
    from tests.deploy.helpers import INSTALL

    text = INSTALL.read_text()
    in_dir = text[text.index("in_dir() {") : text.index("\n}\n", text.index("in_dir() {")) + 3]
    root = tmp_path / "root"
    (root / "var/lib/condordesk").mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    (root / "var/lib/condordesk/cache").symlink_to(target)  # swapped in after the check
    script = f'{in_dir}\nROOT="$1"; ROOT_REAL="$1"\nin_dir /var/lib/condordesk/cache chmod 700 .\n'
    run = subprocess.run(
        ["bash", "-c", script, "in_dir", str(root)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode != 0 and "refusing to change it" in run.stderr
    assert target.stat().st_mode & 0o777 == 0o755
    (root / "var/lib/condordesk/cache").unlink()
    (root / "var/lib/condordesk/cache").mkdir(mode=0o755)
    run = subprocess.run(
        ["bash", "-c", script, "in_dir", str(root)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (root / "var/lib/condordesk/cache").stat().st_mode & 0o777 == 0o700
