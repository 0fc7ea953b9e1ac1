"""Fixtures for the testbed's own tests, run against the running testbed with its venv's Python.

`testbed/tests/events/run.sh` runs them (scripts/test.sh calls it with the testbed up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TB = Path(os.environ.get("TESTBED_DIR", HERE.parents[2] / ".testbed")).resolve()
# Client mode with alice's config, exactly as a user of the testbed would run it.
os.environ["RUCIO_CONFIG"] = str(TB / "rucio.cfg")
os.environ["RUCIO_CLIENT_MODE"] = "1"

from rucio.client import Client  # noqa: E402

from consumer import Consumer  # noqa: E402


@pytest.fixture(scope="session")
def tb() -> Path:
    return TB


@pytest.fixture(scope="session")
def alice() -> Client:
    return Client()


@pytest.fixture(scope="session")
def events(tb: Path) -> dict[str, Any]:
    """The broker as the extension's config names it (what the shim will subscribe with)."""
    config = json.loads((tb / "jupyter_server_config.json").read_text())
    instance = config["DatalakeApp"]["instances"][0]
    if "events" not in instance:
        pytest.fail(
            "events are off in this testbed (see the last line of testbed/up.sh): "
            "apt-get install activemq, then make testbed-up"
        )
    return instance["events"]


@pytest.fixture
def fresh_dataset(tb: Path) -> Callable[[str], dict[str, str]]:
    """A new closed dataset of 3 small files on LAKE-SAFE (made by root), as a DID dict."""

    def make(label: str) -> dict[str, str]:
        name = f"evtest-{label}-{uuid.uuid4().hex[:8]}"
        made = subprocess.run(
            [sys.executable, str(HERE / "fresh_dataset.py"), str(tb), name],
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, f"fresh_dataset.py failed:\n{made.stderr}"
        scope, name = made.stdout.strip().split(":")
        return {"scope": scope, "name": name}

    return make


@pytest.fixture
def rules(alice: Client) -> Iterator[list[str]]:
    """Rule ids a test created; expired at the end (lifetime 0: the cleaner removes them now)."""
    created: list[str] = []
    yield created
    for rule_id in created:
        alice.update_replication_rule(rule_id, {"lifetime": 0})


@pytest.fixture
def consumers(events: dict[str, Any]) -> Iterator[Callable[..., Consumer]]:
    started: list[Consumer] = []

    def start(**kwargs: Any) -> Consumer:
        consumer = Consumer(events, **kwargs).start()
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        if consumer.conn.is_connected():
            consumer.stop(forget=True)
