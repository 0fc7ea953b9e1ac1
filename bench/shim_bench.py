"""Benchmarks of the shim against the real testbed, each measured side by side in one run.

A Jupyter server with the extension is started with its Rucio URL pointed at `rucio_proxy.py`, which
forwards to the testbed's Rucio while counting calls and, for one benchmark, adding latency.
"""

import asyncio
import configparser
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.staging import make_comment

ROOT = Path(__file__).resolve().parent.parent
TESTBED = Path(os.environ.get("TESTBED_DIR", ROOT / ".testbed"))
VENV_BIN = ROOT / ".venv" / "bin"
BIG = "demo:big-100k"
SMALL = "demo:lofar-obs-sb000"
SCHEMES = ["file", "root", "davs", "https"]  # as the shim asks (core/paths.py)
CONTAINER = "demo:lofar-obs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, headers: dict[str, str] | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(
    config: dict, token: str, workdir: Path, name: str, env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen]:
    """A Jupyter server with the extension configured by ``config``; returns (URL, process)."""
    port = free_port()
    config_path = workdir / f"{name}.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [
            str(VENV_BIN / "jupyter"),
            "server",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--config={config_path}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={workdir}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / f"{name}.log", "w"),  # noqa: SIM115
        env={**os.environ, **(env or {})},
    )
    return f"http://127.0.0.1:{port}", process


@contextlib.contextmanager
def servers() -> Iterator[dict[str, object]]:
    """Proxy in front of Rucio and a Jupyter server whose extension talks to Rucio through it;
    a second server talks to Rucio directly, for the overhead comparison."""
    config = json.loads((TESTBED / "jupyter_server_config.json").read_text())
    instance = config["DatalakeApp"]["instances"][0]
    rucio_url = instance["rucio_url"]
    proxy_port = free_port()
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    token = secrets.token_hex(16)
    headers = {"Authorization": f"token {token}"}
    with tempfile.TemporaryDirectory() as tmp:
        proxy = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "rucio_proxy.py"), rucio_url, str(proxy_port)]
        )
        # The direct server also serves floor_extension.py's routes (the small request's floors).
        direct_base, direct_server = start_server(
            {**config, "ServerApp": {"jpserver_extensions": {"floor_extension": True}}},
            token,
            Path(tmp),
            "direct",
            env={"PYTHONPATH": str(ROOT / "bench"), "BENCH_FLOOR_RUCIO_URL": rucio_url},
        )
        instance["rucio_url"] = instance["auth_url"] = proxy_url
        base, server = start_server(config, token, Path(tmp), "proxied")
        try:
            wait_for(f"{proxy_url}/ping")
            wait_for(f"{base}/api/status", headers)
            wait_for(f"{direct_base}/api/status", headers)
            yield {
                "base": base,
                "direct_base": direct_base,
                "headers": headers,
                "proxy": proxy_url,
                "rucio": rucio_url,
                "server_pid": server.pid,
                "direct_server_pid": direct_server.pid,
            }
        finally:
            for process in (server, direct_server, proxy):
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)


def rucio_token(rucio_url: str) -> str:
    parser = configparser.ConfigParser()
    parser.read(TESTBED / "rucio.cfg")
    client = parser["client"]
    # A busy testbed (the benchmark before this one) may take a while to log in.
    response = httpx.get(
        f"{rucio_url}/auth/userpass",
        timeout=60,
        headers={
            "X-Rucio-Account": client["account"],
            "X-Rucio-Username": client["username"],
            "X-Rucio-Password": client["password"],
        },
    )
    response.raise_for_status()
    return response.headers["X-Rucio-Auth-Token"]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_first_page(env: dict, client: httpx.Client) -> dict[str, float]:
    url = f"{env['base']}/datalake/did/children"
    params = {"did": BIG, "limit": 100}
    cold = timed(lambda: client.get(url, params=params).raise_for_status())
    warm = [timed(lambda: client.get(url, params=params).raise_for_status()) for _ in range(10)]
    rows = len(client.get(url, params=params).json()["items"])
    return {
        "first_page_cold_ms": cold * 1000,
        "first_page_median_ms": median_ms(warm),
        "first_page_rows": rows,
    }


def bench_small_request(env: dict, client: httpx.Client) -> dict[str, float]:
    """A search for one container via the shim vs the same Rucio call made directly.

    `search` is a route that costs exactly one Rucio call (checked through the proxy) and keeps
    nothing between requests, so the ratio is the shim's own overhead. Neither side goes through
    the counting proxy: the shim is the server configured with Rucio's own URL. Interleaved, 200
    each, kept-alive connections. Beside them, the floors: the same search through the least a
    Jupyter Server route can do (floor_extension.py, with the shim's HTTP client and with
    aiohttp), Jupyter Server's own answer to an authenticated request and Rucio's /ping.
    """
    from scale_bench import SMALL_RUCIO_QUERY, SMALL_SHIM_QUERY

    token = rucio_token(env["rucio"])
    scope = CONTAINER.split(":")[0]
    direct_url = f"{env['rucio']}/dids/{scope}/dids/search"
    shim_url = f"{env['direct_base']}/datalake/search"
    floor_headers = {"X-Rucio-Auth-Token": token}
    with httpx.Client(headers={"X-Rucio-Auth-Token": token}) as rucio:
        calls: dict[str, Callable[[], httpx.Response]] = {
            "direct": lambda: rucio.get(direct_url, params=SMALL_RUCIO_QUERY),
            "shim": lambda: client.get(shim_url, params=SMALL_SHIM_QUERY),
            "floor_httpx": lambda: client.get(
                f"{env['direct_base']}/bench-floor/httpx/{scope}",
                params=SMALL_RUCIO_QUERY,
                headers=floor_headers,
            ),
            "floor_aiohttp": lambda: client.get(
                f"{env['direct_base']}/bench-floor/aiohttp/{scope}",
                params=SMALL_RUCIO_QUERY,
                headers=floor_headers,
            ),
            "jupyter_status": lambda: client.get(f"{env['direct_base']}/api/status"),
            "rucio_ping": lambda: rucio.get(f"{env['rucio']}/ping"),
        }
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():  # each client's connection and first call out of the way
            call().raise_for_status()
        for _ in range(200):
            for name, call in calls.items():
                samples[name].append(timed(lambda call=call: call().raise_for_status()))
    # The same route on the proxied server, to count its Rucio calls (after a first call, which
    # also logs in).
    proxied = f"{env['base']}/datalake/search"
    client.get(proxied, params=SMALL_SHIM_QUERY).raise_for_status()
    httpx.post(f"{env['proxy']}/_proxy/reset")
    client.get(proxied, params=SMALL_SHIM_QUERY).raise_for_status()
    rucio_calls = httpx.get(f"{env['proxy']}/_proxy/stats").json()["total"]
    direct = statistics.median(samples["direct"])
    result = {f"small_{name}_ms": median_ms(values) for name, values in samples.items()}
    result.update(
        {
            "small_ratio": statistics.median(samples["shim"]) / direct,
            "small_floor_httpx_ratio": statistics.median(samples["floor_httpx"]) / direct,
            "small_floor_aiohttp_ratio": statistics.median(samples["floor_aiohttp"]) / direct,
            "small_rucio_calls_per_request": rucio_calls,
        }
    )
    return result


def big_staging(env: dict) -> str:
    """The rule the shim would make for a staging of demo:big-100k (CHEAP-ANALYSIS, starting
    in a day), made with Rucio itself: its nominal 20 TiB exceed alice's quota, so the shim
    refuses the request before it reaches Rucio, while Rucio takes a delayed rule and checks
    the quota only when it injects it."""
    config = json.loads((TESTBED / "jupyter_server_config.json").read_text())
    parsed = parse_config(config["DatalakeApp"]["instances"], None)
    instance = parsed.instances[parsed.default_instance]
    scope, name = BIG.split(":")
    body = {
        "dids": [{"scope": scope, "name": name}],
        "account": "alice",
        "copies": 1,
        "rse_expression": instance.qos_classes["CHEAP-ANALYSIS"].expression,
        "grouping": "DATASET",
        "lifetime": 3600,
        "delay_injection": 86400,
        "comment": make_comment(instance.name, "CHEAP-ANALYSIS", None),
    }
    rucio = httpx.Client(
        base_url=env["rucio"],
        headers={"X-Rucio-Auth-Token": rucio_token(env["rucio"])},
        timeout=120,
    )
    with rucio:
        response = rucio.post("/rules/", json=body)
        if response.status_code != 409:
            response.raise_for_status()
            return response.json()[0]
        # The same rule from an earlier run, released (Rucio keeps it an hour): staged again.
        rules = rucio.get(f"/dids/{scope}/{name}/rules").raise_for_status()
        (rule_id,) = [
            rule["id"]
            for rule in map(json.loads, rules.text.splitlines())
            if rule["account"] == "alice" and rule["rse_expression"] == body["rse_expression"]
        ]
        options = {"comment": body["comment"], "lifetime": body["lifetime"]}
        rucio.put(f"/rules/{rule_id}", json={"options": options}).raise_for_status()
        return rule_id


def bench_progress(env: dict, client: httpx.Client) -> dict[str, float]:
    """Bytes the browser reads per progress update, for a 4-file and a 100k-file staging.

    Both start in a day (delay_injection), so the testbed is not asked to create 100k locks; the
    100k one is made with Rucio itself (big_staging). Their progress documents are what a browser
    polls. bench_paths measures the per-file
    replica list of the same dataset, which is what a per-file poller (rucio-jupyterlab) resends.
    """
    result: dict[str, float] = {}
    created: list[str] = []
    try:
        response = client.post(
            f"{env['base']}/datalake/stagings",
            json={"dids": [SMALL], "qos": "CHEAP-ANALYSIS", "lifetime": 3600, "start_in": 86400},
        )
        response.raise_for_status()
        created.append(response.json()["stagings"][0]["id"])
        created.append(big_staging(env))
        for label, rule_id in zip(("small", "big"), created, strict=True):
            one = client.get(f"{env['base']}/datalake/stagings/{rule_id}")
            one.raise_for_status()
            result[f"update_bytes_{label}"] = len(one.content)
            result[f"files_{label}"] = one.json()["files_total"] or 0
        # Calls per poll: five tabs poll the aggregated list for 12 s.
        httpx.post(f"{env['proxy']}/_proxy/reset")
        polls = 0
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            for _ in range(5):
                client.get(f"{env['base']}/datalake/stagings").raise_for_status()
                polls += 1
            time.sleep(1)
        stats = httpx.get(f"{env['proxy']}/_proxy/stats").json()
        rule_polls = sum(
            n for key, n in stats["calls"].items() if key.startswith("GET /rules/{id}")
        )
        result["browser_polls"] = polls
        result["rucio_calls_during_polls"] = stats["total"]
        result["rucio_rule_gets"] = rule_polls
        result["rucio_calls_per_browser_poll"] = stats["total"] / polls
        result["list_bytes"] = len(client.get(f"{env['base']}/datalake/stagings").content)
    finally:
        for rule_id in created:
            client.delete(f"{env['base']}/datalake/stagings/{rule_id}").raise_for_status()
    return result


def direct_replica_stream(
    rucio_url: str, did: str, near: str | None = None, chunk: int = 500
) -> tuple[int, int]:
    """What a plain Rucio client does to list every file's replicas: stream the files, then
    `POST /replicas/list` per chunk. (One list_replicas call on the whole 100k dataset is not a
    usable baseline: on the testbed's SQLite it ran for more than 10 minutes.)
    Returns (files, bytes read)."""
    headers = {"X-Rucio-Auth-Token": rucio_token(rucio_url), "Accept": "application/x-json-stream"}
    scope, name = did.split(":")
    lines = received = 0

    rucio = httpx.Client(headers=headers, timeout=300)

    def resolve(names: list[dict[str, str]]) -> None:
        nonlocal lines, received
        body: dict[str, object] = {
            "dids": names,
            "schemes": SCHEMES,
            "all_states": True,
            "sort": "random",
        }
        if near:
            body["rse_expression"] = near
        with rucio.stream("POST", f"{rucio_url}/replicas/list", json=body) as response:
            for line in response.iter_lines():
                lines += 1
                received += len(line) + 1

    batch: list[dict[str, str]] = []
    with rucio, rucio.stream("GET", f"{rucio_url}/dids/{scope}/{name}/files") as files:
        for line in files.iter_lines():
            item = json.loads(line)
            batch.append({"scope": item["scope"], "name": item["name"]})
            if len(batch) == chunk:
                resolve(batch)
                batch = []
    if batch:
        resolve(batch)
    return lines, received


def bench_paths(env: dict, client: httpx.Client) -> dict[str, float]:
    """All 100k entries through the shim's paths stream vs the same Rucio requests made directly
    (files listing, then list_replicas near the hub per chunk of 500). Also measures the full
    per-file replica list (all RSEs), which is what a per-file poller resends."""
    # The shim asks Rucio for the replicas near the hub (the instance's site expression).
    near = json.loads((TESTBED / "jupyter_server_config.json").read_text())["DatalakeApp"][
        "instances"
    ][0]["site_expression"]
    start = time.perf_counter()
    direct_lines, _ = direct_replica_stream(env["rucio"], BIG, near)
    direct_s = time.perf_counter() - start
    _, all_replicas_bytes = direct_replica_stream(env["rucio"], BIG)
    pid = int(env["server_pid"])
    rss_before = rss_kib(pid)
    rss_peak = rss_before
    start = time.perf_counter()
    shim_lines = 0
    with client.stream(
        "GET", f"{env['base']}/datalake/paths", params={"did": BIG}, timeout=600
    ) as response:
        response.raise_for_status()
        for _ in response.iter_lines():
            shim_lines += 1
            if shim_lines % 5000 == 0:
                rss_peak = max(rss_peak, rss_kib(pid))
    shim_s = time.perf_counter() - start
    return {
        "paths_direct_lines": direct_lines,
        "paths_direct_per_s": direct_lines / direct_s,
        "paths_shim_lines": shim_lines,
        "paths_shim_per_s": shim_lines / shim_s,
        "paths_rate_ratio": (shim_lines / shim_s) / (direct_lines / direct_s),
        "paths_rss_growth_mib": (rss_peak - rss_before) / 1024,
        "per_file_list_bytes_big": all_replicas_bytes,
    }


async def bench_event_loop(env: dict) -> dict[str, float]:
    """/api/status latency while 10 shim calls wait on a Rucio slowed to 5 s."""
    async with httpx.AsyncClient(headers=env["headers"], timeout=60) as client:
        await client.post(f"{env['proxy']}/_proxy/delay", params={"seconds": 5})
        try:
            slow = [
                asyncio.create_task(
                    client.get(
                        f"{env['base']}/datalake/did", params={"did": f"demo:lofar-obs-sb00{i % 3}"}
                    )
                )
                for i in range(10)
            ]
            await asyncio.sleep(0.3)
            samples = []
            for _ in range(100):
                start = time.perf_counter()
                (await client.get(f"{env['base']}/api/status")).raise_for_status()
                samples.append(time.perf_counter() - start)
                await asyncio.sleep(0.02)
            pending_while_measuring = sum(not task.done() for task in slow)
            await asyncio.gather(*slow, return_exceptions=True)
        finally:
            await client.post(f"{env['proxy']}/_proxy/delay", params={"seconds": 0})
    samples.sort()
    return {
        "status_p50_ms": samples[49] * 1000,
        "status_p99_ms": samples[98] * 1000,
        "slow_calls_pending": pending_while_measuring,
    }


def measure() -> dict[str, float]:
    results: dict[str, float] = {}
    with servers() as env, httpx.Client(headers=env["headers"], timeout=120) as client:
        results.update(bench_first_page(env, client))
        results.update(bench_small_request(env, client))
        results.update(bench_progress(env, client))
        results.update(bench_paths(env, client))
        results.update(asyncio.run(bench_event_loop(env)))
        # The 1M-file scenario and the small-request ratios (scale_bench.py), in the same run.
        import scale_bench

        results.update(scale_bench.bench_small_ratios(env, client))
        results.update(scale_bench.bench_scale(env, client))
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
