"""Soak through a real JupyterHub: panel and magic calls while the issuer's tokens last 60 s.

For the whole run, alice's JupyterLab is used as the panel and a notebook use it, through the
hub's proxy: every 2 s the routes the panel reads (whoami, stagings, search, DID details, QoS,
paths), every 10 s three `%datalake` cells in a kernel of her server, every 60 s a staging made,
watched to OK, read from the kernel and released. The shim takes each token from the hub's
auth_state and must renew it many times without one call failing.

    make soak                          # 30 minutes; rewrites the soak table in bench/README.md
    .venv/bin/python bench/hub_soak.py --minutes 3 --no-table

`make test` runs 3 minutes of it with 0 errors required (testbed/tests/test_hub_soak.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "testbed" / "hub"))

from harness import HubProcess, Kernel  # noqa: E402

USER = "alice"
SB000, SB001 = "demo:lofar-obs-sb000", "demo:lofar-obs-sb001"
PANEL_EVERY, MAGIC_EVERY, STAGE_EVERY = 2.0, 10.0, 60.0
LIFETIME = 60
START, END = "<!-- soak:start -->", "<!-- soak:end -->"
PANEL = [
    ("whoami", {}),
    ("stagings", {}),
    ("search", {"did": "demo:lofar*"}),
    ("did", {"did": SB000}),
    ("qos", {}),
    ("paths", {"did": SB000, "qos": "FAST"}),
]
MAGICS = [
    ("%datalake ls demo:lofar-obs*", SB000),
    ("%datalake status", SB000),
    ("p = %datalake paths demo:lofar-obs-sb000 --qos FAST\nprint(len(p), p.did)", f"4 {SB000}"),
]


@dataclass
class Soak:
    """What happened: calls and their times per kind, every failure, the tokens seen."""

    seconds: float = 0.0
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    expiries: set[str] = field(default_factory=set)

    def timed(self, kind: str, call: Callable[[], str | None]) -> None:
        started = time.monotonic()
        try:
            problem = call()
        except Exception as e:  # a soak records every failure and goes on
            problem = f"{type(e).__name__}: {e}"
        self.times.setdefault(kind, []).append(time.monotonic() - started)
        if problem:
            self.errors.append(f"{time.strftime('%H:%M:%S')} {kind}: {problem}")

    def summary(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        return {
            "seconds": round(self.seconds),
            "token_lifetime": LIFETIME,
            "calls": {kind: len(times) for kind, times in self.times.items()},
            "p50_ms": {k: round(statistics.median(t) * 1000) for k, t in self.times.items()},
            "p95_ms": {k: round(pct(t, 0.95)) for k, t in self.times.items()},
            "tokens": len(self.expiries),
            "errors": self.errors,
        }


class Driver:
    """alice's browser session and one kernel of her server, through the hub's proxy."""

    def __init__(self, hub: HubProcess, session: httpx.Client, result: Soak) -> None:
        self.hub, self.session, self.result = hub, session, result
        self.base = f"/user/{USER}/datalake"
        self.xsrf = {"X-XSRFToken": session.cookies.get("_xsrf", path=f"/user/{USER}/") or ""}

    def route(self, method: str, route: str, **kwargs: Any) -> httpx.Response:
        return self.session.request(
            method, f"{self.base}/{route}", headers=self.xsrf, timeout=60, **kwargs
        )

    def panel_round(self) -> None:
        for route, params in PANEL:
            self.result.timed("panel", lambda r=route, p=params: self.panel_call(r, p))

    def panel_call(self, route: str, params: dict[str, str]) -> str | None:
        response = self.route("GET", route, params=params)
        if response.status_code != 200:
            return f"GET {route} → HTTP {response.status_code} {response.text[:200]}"
        if route == "whoami":
            whoami = response.json()
            if (whoami["account"], whoami["token_source"]) != (USER, "hub"):
                return f"whoami says {whoami}"
            self.result.expiries.add(whoami["token_expires_at"])
        if route == "paths":
            lines = [json.loads(line) for line in response.text.splitlines() if line]
            if len(lines) != 4 or any(not line.get("path") for line in lines):
                return f"paths gave {lines}"
        return None

    def magic_round(self, kernel: Kernel) -> None:
        for code, expected in MAGICS:
            self.result.timed("magic", lambda c=code, e=expected: self.magic(kernel, c, e))

    @staticmethod
    def magic(kernel: Kernel, code: str, expected: str) -> str | None:
        run = kernel.run(code)
        if run.error:
            return f"{code!r} → {run.error}"
        if expected not in run.result + run.stdout:
            return f"{code!r} → {(run.result + run.stdout)[:200]!r}"
        return None

    def stage(self, did: str, qos: str, lifetime: int) -> tuple[str, bool]:
        response = self.route(
            "POST", "stagings", json={"dids": [did], "qos": qos, "lifetime": lifetime}
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST stagings → HTTP {response.status_code} {response.text[:200]}")
        return response.json()["stagings"][0]["id"], response.status_code == 201

    def wait_ok(self, rule_id: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            response = self.route("GET", f"stagings/{rule_id}")
            if response.status_code != 200:
                raise RuntimeError(f"GET stagings/{rule_id} → HTTP {response.status_code}")
            if response.json()["state"] == "OK":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"staging {rule_id} not OK within {timeout:.0f} s")
            time.sleep(1)

    def stage_cycle(self, kernel: Kernel) -> str | None:
        """A staging made, watched to OK, its paths read in the kernel, released."""
        rule_id, _ = self.stage(SB001, "CHEAP-ANALYSIS", 600)
        try:
            self.wait_ok(rule_id)
            problem = self.magic(
                kernel,
                f"q = %datalake paths {SB001} --qos CHEAP-ANALYSIS\nprint(len(q))",
                "4",
            )
        finally:
            released = self.route("DELETE", f"stagings/{rule_id}")
        if released.status_code != 204:
            return f"DELETE stagings/{rule_id} → HTTP {released.status_code}"
        return problem


def soak(hub: HubProcess, session: httpx.Client, seconds: float) -> dict[str, Any]:
    """Run the soak for `seconds` with alice's session (her server spawned and opened)."""
    result = Soak()
    driver = Driver(hub, session, result)
    # The panel's paths need demo:lofar-obs-sb000 near the hub, in FAST.
    rule_id, created = driver.stage(SB000, "FAST", 7200)
    driver.wait_ok(rule_id)
    started = time.monotonic()
    try:
        with Kernel(hub, session, USER) as kernel:
            next_magic, next_stage = started, started + STAGE_EVERY / 2
            while (now := time.monotonic()) < started + seconds:
                driver.panel_round()
                if now >= next_magic:
                    driver.magic_round(kernel)
                    next_magic = now + MAGIC_EVERY
                if now >= next_stage:
                    result.timed("stage", lambda: driver.stage_cycle(kernel))
                    next_stage = now + STAGE_EVERY
                time.sleep(max(0.0, PANEL_EVERY - (time.monotonic() - now)))
    finally:
        result.seconds = time.monotonic() - started
        if created:
            driver.route("DELETE", f"stagings/{rule_id}")
    return result.summary()


def table(summary: dict[str, Any]) -> str:
    calls, p50, p95 = summary["calls"], summary["p50_ms"], summary["p95_ms"]

    def cell(kind: str) -> str:
        return f"{calls.get(kind, 0)} (p50 {p50.get(kind, 0)} ms, p95 {p95.get(kind, 0)} ms)"

    ok = "✅" if not summary["errors"] else "❌"
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')}: `make soak`, one run, 2 cores, testbed and hub "
            f"on 127.0.0.1 (raw numbers in `bench/soak.json`).",
            "",
            "| Duration | Token lifetime | Tokens the shim used | Panel calls | Magic cells "
            "| Stage → OK → paths → release | Errors | 0 errors |",
            "|---|---|---|---|---|---|---|---|",
            f"| {summary['seconds'] / 60:.0f} min | {summary['token_lifetime']} s "
            f"| {summary['tokens']} | {cell('panel')} | {cell('magic')} | {cell('stage')} "
            f"| {len(summary['errors'])} | {ok} |",
        ]
    )


def write_table(summary: dict[str, Any]) -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table(summary)}\n{END}{tail}")
    (HERE / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--no-table", action="store_true", help="do not touch bench/README.md")
    args = parser.parse_args()
    testbed_dir = Path(os.environ.get("TESTBED_DIR", ROOT / ".testbed"))
    up = ["bash", str(ROOT / "testbed" / "up.sh")]
    # The issuer restarts with 60 s tokens for the soak, and with the usual lifetime after it.
    short = {**os.environ, "TESTBED_TOKEN_LIFETIME": str(LIFETIME)}
    subprocess.run(up, env=short, check=True, capture_output=True)
    log_path = testbed_dir / "log" / "soak-hub.log"
    hub = HubProcess(int(os.environ.get("HUB_PORT", "8000")), log_path, testbed_dir)
    try:
        with hub:
            session = hub.login(USER)
            hub.spawn(session, USER)
            hub.open_server(session, USER)
            summary = soak(hub, session, args.minutes * 60)
            hub.stop_server(session, USER)
    finally:
        subprocess.run(up, env=dict(os.environ), check=True, capture_output=True)
    print(json.dumps(summary, indent=2))
    if not args.no_table:
        write_table(summary)
    sys.exit(1 if summary["errors"] else 0)


if __name__ == "__main__":
    main()
