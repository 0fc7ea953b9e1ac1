"""The broker's configuration: events on and off in both configs, secrets kept 0600 and out of
the extension's config and the logs, nothing but STOMP on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

TESTBED_SRC = Path(__file__).resolve().parents[2]


def run(script: str, *args: object) -> None:
    subprocess.run([sys.executable, str(TESTBED_SRC / script), *map(str, args)], check=True)


def instance(tb: Path) -> dict:
    return json.loads((tb / "jupyter_server_config.json").read_text())["DatalakeApp"]["instances"][
        0
    ]


def test_events_on_then_off_in_the_server_and_extension_configs(tmp_path):
    run("broker.py", tmp_path, 61999)
    run("genconfig.py", tmp_path, 18999)
    run("write_jupyter_config.py", tmp_path, 18999)
    server_cfg = (tmp_path / "etc" / "server.cfg").read_text()
    hermes_password = (tmp_path / "etc" / "broker" / "hermes.password").read_text().strip()
    assert "[hermes]\nservices_list = activemq" in server_cfg
    assert f"nonssl_port = 61999\nusername = hermes\npassword = {hermes_password}\n" in server_cfg
    events = instance(tmp_path)["events"]
    password_file = tmp_path / "etc" / "broker" / "datalake.password"
    assert events == {
        "brokers": ["127.0.0.1:61999"],
        "destination": "/topic/rucio.events",
        "username": "datalake",
        "password_file": str(password_file),
        "use_ssl": False,
    }
    xml = (tmp_path / "etc" / "broker" / "activemq.xml").read_text()
    assert '<transportConnector name="stomp" uri="stomp://127.0.0.1:61999"/>' in xml
    assert xml.count("<transportConnector ") == 1
    assert password_file.read_text().strip() in xml

    # A second run keeps the passwords (hermes and the broker must keep agreeing).
    run("broker.py", tmp_path, 61999)
    assert (tmp_path / "etc" / "broker" / "hermes.password").read_text().strip() == hermes_password

    run("broker.py", tmp_path, "off")
    run("genconfig.py", tmp_path, 18999)
    run("write_jupyter_config.py", tmp_path, 18999)
    assert "hermes" not in (tmp_path / "etc" / "server.cfg").read_text()
    assert "events" not in instance(tmp_path)


def test_secrets_are_0600_and_stay_out_of_the_extension_config_and_logs(tb):
    broker_etc = tb / "etc" / "broker"
    passwords = [p.read_text().strip() for p in broker_etc.glob("*.password")]
    assert len(passwords) == 2
    secret_files = [
        *broker_etc.glob("*.password"),
        broker_etc / "activemq.xml",
        tb / "etc" / "server.cfg",
    ]
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    public = [tb / "jupyter_server_config.json", *(tb / "log").glob("*.log")]
    for path in public:
        text = path.read_text(errors="replace")
        for password in passwords:
            assert password not in text, f"a broker password is in {path}"


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            # /proc prints the address as 32-bit words in host (little-endian) order.
            raw = b"".join(
                bytes.fromhex(address_hex[i : i + 8])[::-1] for i in range(0, len(address_hex), 8)
            )
            address = ipaddress.ip_address(raw)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            found.add((str(address), int(port_hex, 16)))
    return found


def test_the_broker_listens_on_its_stomp_port_on_loopback_only(tb, events):
    pid = int((tb / "run" / "broker.pid").read_text())
    assert events["brokers"] == [f"127.0.0.1:{port}" for _, port in listening_sockets(pid)]
    assert {host for host, _ in listening_sockets(pid)} == {"127.0.0.1"}


def test_testbed_up_says_why_events_are_off():
    def missing(**env: str) -> str:
        script = f"source {TESTBED_SRC}/lib.sh; source {TESTBED_SRC}/broker.sh; broker_missing"
        done = subprocess.run(
            ["bash", "-c", script], env={**os.environ, **env}, capture_output=True, text=True
        )
        return done.stdout.strip()

    assert missing() == ""
    assert missing(ACTIVEMQ_HOME="/nonexistent") == (
        "Debian's activemq is not installed; apt-get install activemq to get them"
    )
    assert missing(TESTBED_EVENTS="0") == "TESTBED_EVENTS=0"
