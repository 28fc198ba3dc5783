"""The firewall in network namespaces (issue 13): the rules come back after
``systemctl reload nftables`` (whose ruleset starts with ``flush ruleset``), VNC is refused
from outside the allowed path even by a server listening everywhere, and the broker API port
answers the engine's user only.

systemd is not running the test, so the test does what it would: the distribution's
``nftables.service`` ExecReload (``nft -f /etc/nftables.conf``), then the ExecReload= of every
unit with ``ReloadPropagatedFrom=nftables.service`` (read from the unit files). The units'
``engine_user=condordesk`` becomes ``root`` here (no condordesk user on a test machine): root
plays the engine, uid 65534 the other local user."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.helpers import PACKAGING

NOBODY = 65534
# Debian's /etc/nftables.conf (the package's default), used when the host has none
DEBIAN_NFTABLES_CONF = """#!/usr/sbin/nft -f
flush ruleset
table inet filter {
\tchain input { type filter hook input priority filter; }
\tchain forward { type filter hook forward priority filter; }
\tchain output { type filter hook output priority filter; }
}
"""
FIREWALL_UNITS = ("condordesk-firewall.service", "condordesk-vnc-close.service")
SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"RFB 003.008\\n")
    c.close()
"""
CLIENT = """
import os, socket, sys
if len(sys.argv) > 3:  # everything imported before: the other user cannot read this Python
    os.setgid(int(sys.argv[3])); os.setuid(int(sys.argv[3]))
c = socket.socket(socket.AF_INET)  # a socket belongs to the uid that creates it (skuid)
c.settimeout(1.0)
try:
    c.connect((sys.argv[1], int(sys.argv[2])))
    print("connected" if c.recv(3) == b"RFB" else "closed")
except TimeoutError:
    print("dropped")
except ConnectionRefusedError:
    print("refused")
"""


def tools() -> tuple[str, str]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces and nft need root")
    nft, ip = shutil.which("nft"), shutil.which("ip")
    if nft is None or ip is None:
        pytest.skip("nft or ip missing (Debian: apt-get install nftables iproute2)")
    return nft, ip


def sh(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


def unit_commands(unit: str, key: str) -> list[list[str]]:
    """A unit's command lines for ``key`` (ExecStart, ExecReload), pointed at this checkout."""
    text = (PACKAGING / "systemd" / unit).read_text().replace("\\\n", " ")
    out = []
    for line in re.findall(rf"^{key}=(.*)$", text, re.MULTILINE):
        line = line.replace("/etc/condordesk/nftables/", f"{PACKAGING}/nftables/")
        line = line.replace("engine_user=condordesk", "engine_user=root")
        out.append(shlex.split(line))
    return out


class Net:
    """Two namespaces: ``server`` (the condordesk machine) and ``outside``, joined by a
    public link (10.99.0.0/24) and a Tailscale-like link whose server end is ``tailscale0``
    (10.98.0.0/24)."""

    def __init__(self, ip: str, nft: str) -> None:
        self.ip, self.nft = ip, nft
        tag = f"cd{os.getpid()}"
        self.server, self.outside = f"{tag}srv", f"{tag}out"
        self.procs: list[subprocess.Popen[str]] = []

    def up(self) -> None:
        ip, s, o = self.ip, self.server, self.outside
        for ns in (s, o):
            sh(ip, "netns", "add", ns)
            sh(ip, "-n", ns, "link", "set", "lo", "up")
        sh(
            ip,
            "link",
            "add",
            "pub0",
            "netns",
            s,
            "type",
            "veth",
            "peer",
            "name",
            "pub1",
            "netns",
            o,
        )
        sh(ip, "link", "add", "tailscale0", "netns", s, "type", "veth", "peer", "name", "ts1",
           "netns", o)  # fmt: skip
        for ns, dev, addr in (
            (s, "pub0", "10.99.0.1/24"),
            (o, "pub1", "10.99.0.2/24"),
            (s, "tailscale0", "10.98.0.1/24"),
            (o, "ts1", "10.98.0.2/24"),
        ):
            sh(ip, "-n", ns, "addr", "add", addr, "dev", dev)
            sh(ip, "-n", ns, "link", "set", dev, "up")

    def down(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait(timeout=10)
            if p.stdout is not None:
                p.stdout.close()
        for ns in (self.server, self.outside):
            subprocess.run([self.ip, "netns", "del", ns], capture_output=True, timeout=30)

    def run(self, ns: str, *argv: str) -> str:
        return sh(self.ip, "netns", "exec", ns, *argv)

    def listen(self, host: str, port: int) -> None:
        p = subprocess.Popen(
            [self.ip, "netns", "exec", self.server, sys.executable, "-c", SERVER, host, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"

    def connect(self, ns: str, host: str, port: int, uid: int | None = None) -> str:
        extra = [] if uid is None else [str(uid)]
        return self.run(ns, sys.executable, "-c", CLIENT, host, str(port), *extra).strip()

    def start_units(self) -> None:
        for unit in FIREWALL_UNITS:
            for argv in unit_commands(unit, "ExecStart"):
                self.run(self.server, *argv)

    def reload_nftables(self, conf: Path) -> None:
        """``systemctl reload nftables``: its ExecReload, then the propagated reloads."""
        self.run(self.server, self.nft, "-f", str(conf))
        for unit in FIREWALL_UNITS:
            for argv in unit_commands(unit, "ExecReload"):
                self.run(self.server, *argv)

    def tables(self) -> str:
        return self.run(self.server, self.nft, "list", "tables")


@pytest.fixture
def net() -> Iterator[Net]:
    nft, ip = tools()
    n = Net(ip, nft)
    try:
        n.up()
    except AssertionError as exc:
        n.down()
        if "Operation not permitted" in str(exc):
            pytest.skip("no permission for network namespaces here")
        raise
    try:
        yield n
    finally:
        n.down()


@pytest.fixture
def nftables_conf(tmp_path: Path) -> Path:
    host = Path("/etc/nftables.conf")
    text = host.read_text() if host.is_file() else DEBIAN_NFTABLES_CONF
    assert "flush ruleset" in text
    conf = tmp_path / "nftables.conf"
    conf.write_text(text)
    return conf


def test_a_flush_alone_removes_the_tables_so_the_reload_test_means_something(
    net: Net, nftables_conf: Path
) -> None:
    net.start_units()
    assert "condordesk_vnc" in net.tables() and "condordesk_api" in net.tables()
    net.run(net.server, net.nft, "-f", str(nftables_conf))
    assert "condordesk" not in net.tables()


def test_the_tables_come_back_after_systemctl_reload_nftables(
    net: Net, nftables_conf: Path
) -> None:
    net.start_units()
    net.reload_nftables(nftables_conf)
    net.reload_nftables(nftables_conf)
    tables = net.tables()
    assert "table inet condordesk_vnc" in tables and "table inet condordesk_api" in tables
    assert "table inet filter" in tables, "the distribution's own rules are loaded too"
    ruleset = net.run(net.server, net.nft, "list", "ruleset")
    assert ruleset.count("dport 5901") == 1, "re-applied, never duplicated"


def test_vnc_is_refused_from_outside_even_when_it_listens_everywhere(
    net: Net, nftables_conf: Path
) -> None:
    net.listen("0.0.0.0", 5901)  # the worst case: VNC on every address
    assert net.connect(net.outside, "10.99.0.1", 5901) == "connected", "no rules: reachable"
    net.start_units()
    net.reload_nftables(nftables_conf)
    assert net.connect(net.outside, "10.99.0.1", 5901) == "dropped"
    assert net.connect(net.outside, "10.98.0.1", 5901) == "dropped", "window closed"
    assert net.connect(net.server, "127.0.0.1", 5901) == "connected", "loopback (SSH tunnel)"
    for argv in unit_commands("condordesk-vnc-window.service", "ExecStart"):
        net.run(net.server, *argv)
    assert net.connect(net.outside, "10.98.0.1", 5901) == "connected", "window open: tailscale"
    assert net.connect(net.outside, "10.99.0.1", 5901) == "dropped", "never the public link"


def test_vnc_on_its_default_address_is_unreachable_even_with_no_firewall(net: Net) -> None:
    """The VNC unit listens on VNC_LISTEN=127.0.0.1: a flushed ruleset exposes nothing."""
    net.listen("127.0.0.1", 5901)
    assert net.connect(net.outside, "10.99.0.1", 5901) == "refused"
    assert net.connect(net.outside, "10.98.0.1", 5901) == "refused"
    assert net.connect(net.server, "127.0.0.1", 5901) == "connected"


@pytest.mark.parametrize("host", ["127.0.0.1", "10.99.0.1"])
def test_the_broker_api_port_answers_the_engines_user_only(
    net: Net, nftables_conf: Path, host: str
) -> None:
    net.listen("0.0.0.0", 4002)  # IB Gateway listens on every address
    assert net.connect(net.server, host, 4002, NOBODY) == "connected", "no rules: anyone"
    net.start_units()
    net.reload_nftables(nftables_conf)
    assert net.connect(net.server, host, 4002) == "connected", "the engine's user"
    assert net.connect(net.server, host, 4002, NOBODY) == "refused", "another local user"
