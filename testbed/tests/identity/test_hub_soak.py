"""Three minutes of panel and magic calls through the real hub while tokens last 60 s: the shim
renews alice's token from the hub's auth_state again and again, and not one call fails.
(`make soak` runs the same for 30 minutes: bench/hub_soak.py, table in bench/README.md.)"""

from __future__ import annotations

import httpx
import hub_soak

from conftest import LocalTestbed, token_lifetime
from harness import HubProcess

MINUTES = 3


def test_three_minutes_through_the_hub_with_60_s_tokens_and_no_error(
    hub: HubProcess, alice: httpx.Client, testbed: LocalTestbed
) -> None:
    assert token_lifetime(testbed) == hub_soak.LIFETIME
    summary = hub_soak.soak(hub, alice, MINUTES * 60)
    assert summary["errors"] == []
    # Each token lasts 60 s and is replaced at half-life: the shim went through several.
    assert summary["tokens"] >= 4, summary
    calls = summary["calls"]
    assert calls["panel"] >= 300 and calls["magic"] >= 45 and calls["stage"] >= 2, calls
