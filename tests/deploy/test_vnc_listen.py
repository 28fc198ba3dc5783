"""The VNC server started exactly as its unit starts it (issue 13): it listens on VNC_LISTEN
only (127.0.0.1 by default), never on every interface, and its X display is reachable only
through the socket file in the unit's private /tmp, not through the abstract socket any local
user could open. Run in a private network and mount namespace (like PrivateTmp=yes)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.helpers import PACKAGING

PROBE = r"""
import socket, subprocess, sys, time
argv, listen = sys.argv[2:], sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/tmp"], check=True)  # PrivateTmp=yes
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(
    ["ip", "link", "add", "tailscale0", "type", "veth", "peer", "name", "ts1"], check=True
)
subprocess.run(["ip", "addr", "add", "100.64.0.7/10", "dev", "tailscale0"], check=True)
subprocess.run(["ip", "link", "set", "tailscale0", "up"], check=True)
subprocess.run(["ip", "link", "set", "ts1", "up"], check=True)
x = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 20
out = ""
while time.monotonic() < deadline and ":5901" not in out:
    try:
        x.wait(timeout=0.1)
        break  # it exited
    except subprocess.TimeoutExpired:
        out = subprocess.run(["ss", "-Hltnx"], capture_output=True, text=True).stdout
out = subprocess.run(["ss", "-Hltnx"], capture_output=True, text=True).stdout
def reach(host):
    try:
        socket.create_connection((host, 5901), timeout=2).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__
print(out)
print("---")
for host in ("127.0.0.1", "100.64.0.7"):
    print(host, reach(host))
x.terminate()
x.wait(timeout=10)
"""


def vnc_argv(listen: str, password: Path) -> list[str]:
    text = (PACKAGING / "systemd/condordesk-vnc.service").read_text().replace("\\\n", " ")
    (start,) = re.findall(r"^ExecStart=(.*)$", text, re.MULTILINE)
    start = start.replace("${CREDENTIALS_DIRECTORY}", str(password.parent))
    return [listen if w == "${VNC_LISTEN}" else w for w in shlex.split(start)]


def run_vnc(listen: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    for tool in ("Xtigervnc", "ss", "ip", "unshare"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} missing (Debian: tigervnc-standalone-server iproute2)")
    if os.geteuid() != 0:
        pytest.skip("network and mount namespaces need root")
    # where the probe runs, /tmp is a fresh tmpfs: the password file is absent, which only
    # matters to a client logging in, not to where the server listens
    argv = vnc_argv(listen, tmp_path / "vnc_password")
    run = subprocess.run(
        [
            "unshare",
            "-n",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            "-c",
            PROBE,
            listen,
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode != 0 and "Operation not permitted" in run.stderr:
        pytest.skip("no permission for namespaces here")
    assert run.returncode == 0, run.stderr
    listeners, reached = run.stdout.split("---")
    return listeners, dict(line.split() for line in reached.strip().splitlines())


def tcp_listeners(ss: str) -> set[str]:
    return {f[4] for f in (line.split() for line in ss.splitlines()) if f and f[0] == "tcp"}


def test_vnc_listens_on_loopback_only_by_default(tmp_path: Path) -> None:
    listeners, reached = run_vnc("127.0.0.1", tmp_path)
    assert tcp_listeners(listeners) == {"127.0.0.1:5901"}, listeners
    assert reached == {"127.0.0.1": "connected", "100.64.0.7": "ConnectionRefusedError"}


def test_vnc_listens_on_the_tailscale_address_when_told(tmp_path: Path) -> None:
    listeners, reached = run_vnc("100.64.0.7", tmp_path)
    assert tcp_listeners(listeners) == {"100.64.0.7:5901"}, listeners
    assert reached == {"127.0.0.1": "ConnectionRefusedError", "100.64.0.7": "connected"}


def test_the_x_display_has_no_abstract_socket_nor_tcp(tmp_path: Path) -> None:
    listeners, _ = run_vnc("127.0.0.1", tmp_path)
    unix = [line for line in listeners.splitlines() if line.startswith("u_str")]
    assert any("/tmp/.X11-unix/X1" in line for line in unix), listeners
    assert not any("@/tmp/.X11-unix" in line for line in unix), "abstract X socket"
    assert ":6001" not in listeners, "X over TCP"
