"""The testbed's message broker: Debian's ActiveMQ with one STOMP connector, for Rucio's events.

`broker.py TESTBED_DIR PORT` writes the broker's files and turns events on;
`broker.py TESTBED_DIR off` turns them off. broker.sh runs it and starts/stops the broker.

On: `etc/broker/activemq.xml` (STOMP on 127.0.0.1:PORT only, no OpenWire, no web console, no
JMX; two users, checked by simpleAuthenticationPlugin), `etc/broker/log4j.properties`, two
passwords generated once (`etc/broker/hermes.password` for Rucio's hermes, which publishes, and
`etc/broker/datalake.password` for the extension, which subscribes; all 0600), and
`etc/broker/events.json`, which the other config writers read through `settings()`:
genconfig.py adds hermes's `[hermes]`/`[messaging-hermes]` sections to server.cfg,
write_jupyter_config.py adds the extension's `events` key. Off: `events.json` is removed, so
both configs are written without events (the shim then polls).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

HOST = "127.0.0.1"
DESTINATION = "/topic/rucio.events"
PRODUCER = "hermes"
CONSUMER = "datalake"


def broker_dir(tb: Path) -> Path:
    return tb / "etc" / "broker"


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (it holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def password(tb: Path, user: str) -> str:
    """The user's password, generated on first use and kept (a re-run must not rotate it)."""
    path = broker_dir(tb) / f"{user}.password"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(18) + "\n")
    return path.read_text().strip()


def activemq_xml(data_dir: Path, port: int, users: dict[str, str]) -> str:
    entries = "\n".join(
        f"          <authenticationUser username={quoteattr(u)} password={quoteattr(p)}"
        ' groups="users"/>'
        for u, p in users.items()
    )
    # schedulerSupport/advisorySupport off: nothing here uses them, and they cost start-up time.
    # systemUsage: small, explicit limits instead of ActiveMQ's 100 GB store default, which makes
    # it warn (or shrink) on a small disk.
    return f"""\
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans
         http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
         http://activemq.apache.org/schema/core
         http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="testbed" useJmx="false"
          schedulerSupport="false" advisorySupport="false" dataDirectory="{data_dir}">
    <persistenceAdapter>
      <kahaDB directory="{data_dir}/kahadb"/>
    </persistenceAdapter>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="1 gb"/></storeUsage>
        <tempUsage><tempUsage limit="512 mb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
{entries}
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://{HOST}:{port}"/>
    </transportConnectors>
  </broker>
</beans>
"""


def log4j_properties(log_file: Path) -> str:
    # Debian's ActiveMQ logs through log4j 1.2 (slf4j-log4j12), which reads log4j.properties
    # from the classpath; without one it prints "No appenders" and logs nothing.
    return f"""\
log4j.rootLogger=INFO, file
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log_file}
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
"""


def settings(tb: Path) -> dict[str, Any] | None:
    """Where the broker is and who may use it, or None when events are off."""
    path = broker_dir(tb) / "events.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def hermes_sections(tb: Path) -> str:
    """server.cfg sections: Rucio queues events for the broker, hermes delivers them there."""
    s = settings(tb)
    if s is None:
        return ""
    # services_list = activemq: the default (activemq,email) would also queue e-mail rows.
    # hermes reads `port` even without SSL (then it uses nonssl_port): both must be there.
    return f"""
[hermes]
services_list = activemq

[messaging-hermes]
brokers = {s["host"]}
use_ssl = False
port = {s["port"]}
nonssl_port = {s["port"]}
username = {PRODUCER}
password = {password(tb, PRODUCER)}
destination = {s["destination"]}
"""


def extension_events(tb: Path) -> dict[str, Any] | None:
    """The extension instance's `events` key (docs/contract.md); no secret, only the file's path."""
    s = settings(tb)
    if s is None:
        return None
    return {
        "brokers": [f"{s['host']}:{s['port']}"],
        "destination": s["destination"],
        "username": CONSUMER,
        "password_file": str(broker_dir(tb) / f"{CONSUMER}.password"),
        "use_ssl": False,
    }


def enable(tb: Path, port: int) -> None:
    bdir = broker_dir(tb)
    data_dir = tb / "var" / "broker"
    data_dir.mkdir(parents=True, exist_ok=True)
    users = {user: password(tb, user) for user in (PRODUCER, CONSUMER)}
    write_private(bdir / "activemq.xml", activemq_xml(data_dir, port, users))
    write_private(bdir / "log4j.properties", log4j_properties(tb / "log" / "broker.log"))
    events = {"host": HOST, "port": port, "destination": DESTINATION}
    write_private(bdir / "events.json", json.dumps(events) + "\n")


def disable(tb: Path) -> None:
    (broker_dir(tb) / "events.json").unlink(missing_ok=True)


def main() -> None:
    tb = Path(sys.argv[1]).resolve()
    if sys.argv[2] == "off":
        disable(tb)
    else:
        enable(tb, int(sys.argv[2]))


if __name__ == "__main__":
    main()
