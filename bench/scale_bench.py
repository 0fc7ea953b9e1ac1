"""The 1M-file scenario (issue 15) and the small-request ratios, against the testbed's
`demo:scale-1m` (10 datasets x 100,000 files, catalogue-only on LAKE-SAFE; `make testbed-scale`).

Run by `bench/run.py` inside the same `servers()` as the other benchmarks (`shim_bench.py`): the
Jupyter server whose Rucio URL is the counting proxy is the one measured, its RSS sampled from
/proc while it works. Each rate is compared with the same Rucio requests made straight from this
process in the same run.
"""

import json
import statistics
import threading
import time

import httpx
from shim_bench import SCHEMES, TESTBED, median_ms, rss_kib, rucio_token, timed

SCALE = "demo:scale-1m"
SCALE_FILES = 1_000_000
PAGE = 1000
SMALL_DID = "demo:lofar-obs"
# A search for one container: one Rucio call, nothing the shim keeps between two requests (a
# content listing would be answered from the listing a request before started).
SMALL_SHIM_QUERY = {"did": SMALL_DID, "type": "container"}
SMALL_RUCIO_QUERY = {
    "type": "container",
    "long": "true",
    "recursive": "false",
    "limit": 101,
    "filters": repr([{"name": "lofar-obs"}]),
}


class RssPeak:
    """The peak RSS of a process, sampled every 0.1 s in a thread while a benchmark runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = self.peak = rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __enter__(self) -> "RssPeak":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 1024


def near_expression() -> str:
    config = json.loads((TESTBED / "jupyter_server_config.json").read_text())
    return config["DatalakeApp"]["instances"][0]["site_expression"]


def page_through(client: httpx.Client, base: str, did: str) -> int:
    """Every file of ``did`` through the shim's file pages of 1000; the number of files."""
    url = f"{base}/datalake/did/files"
    cursor, files = None, 0
    while True:
        params = {"did": did, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, params=params, timeout=600)
        page.raise_for_status()
        body = page.json()
        files += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return files


def direct_paths(rucio_url: str, datasets: list[str], near: str) -> int:
    """What the shim asks Rucio for the paths of the container, made straight to Rucio: per
    dataset, whether any file is near the hub (first line of a dataset-wide list_replicas),
    then its file list. Returns the files listed."""
    headers = {"X-Rucio-Auth-Token": rucio_token(rucio_url), "Accept": "application/x-json-stream"}
    files = 0
    with httpx.Client(headers=headers, timeout=600) as rucio:
        for did in datasets:
            scope, name = did.split(":")
            body = {
                "dids": [{"scope": scope, "name": name}],
                "rse_expression": near,
                "schemes": SCHEMES,
                "all_states": True,
            }
            with rucio.stream("POST", f"{rucio_url}/replicas/list", json=body) as response:
                response.raise_for_status()
                near_files = any(True for _ in response.iter_lines())
            if near_files:
                raise RuntimeError(f"{did} has files near the hub: the scenario expects none")
            with rucio.stream("GET", f"{rucio_url}/dids/{scope}/{name}/files") as response:
                # A client that uses the answer reads each file's name from its line.
                files += sum(1 for line in response.iter_lines() if json.loads(line)["name"])
    return files


def shim_paths(client: httpx.Client, base: str) -> int:
    """The lines of the shim's paths stream for the whole container."""
    lines = 0
    with client.stream(
        "GET", f"{base}/datalake/paths", params={"did": SCALE}, timeout=600
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line:
                lines += 1
    return lines


def bench_scale(env: dict, client: httpx.Client) -> dict[str, float]:
    base, pid = env["base"], int(env["server_pid"])
    if client.get(f"{base}/datalake/did", params={"did": SCALE}).status_code != 200:
        raise RuntimeError(f"{SCALE} is missing: run `make testbed-scale` first")
    result: dict[str, float] = {}
    children = client.get(f"{base}/datalake/did/children", params={"did": SCALE, "limit": 100})
    datasets = [item["did"] for item in children.json()["items"]]

    # Alone: before the first pages below start the shim's background reads of the container.
    details = [
        timed(lambda: client.get(f"{base}/datalake/did", params={"did": SCALE}).raise_for_status())
        for _ in range(5)
    ]
    result["scale_details_ms"] = median_ms(details)
    result["scale_first_page_ms"] = 1000 * timed(
        lambda: client.get(
            f"{base}/datalake/did/files", params={"did": SCALE, "limit": 100}
        ).raise_for_status()
    )
    result["scale_dataset_first_page_ms"] = 1000 * timed(
        lambda: client.get(
            f"{base}/datalake/did/files", params={"did": datasets[0], "limit": 100}
        ).raise_for_status()
    )
    httpx.post(f"{env['proxy']}/_proxy/reset")
    client.get(f"{base}/datalake/did", params={"did": SCALE}).raise_for_status()
    result["scale_details_rucio_calls"] = httpx.get(f"{env['proxy']}/_proxy/stats").json()["total"]

    # Paging through all files, with the details asked for meanwhile (as a second tab would).
    paged: dict[str, float] = {}

    def page_all() -> None:
        start = time.perf_counter()
        with httpx.Client(headers=env["headers"]) as second_client:
            paged["files"] = page_through(second_client, base, SCALE)
        paged["seconds"] = time.perf_counter() - start

    with RssPeak(pid) as rss:
        pager = threading.Thread(target=page_all)
        pager.start()
        time.sleep(2)
        beside = []
        while pager.is_alive() and len(beside) < 5:
            beside.append(
                timed(
                    lambda: client.get(
                        f"{base}/datalake/did", params={"did": SCALE}
                    ).raise_for_status()
                )
            )
            time.sleep(1)
        pager.join()
    result["scale_details_beside_listing_ms"] = median_ms(beside)
    result["scale_paging_files"] = paged["files"]
    result["scale_paging_s"] = paged["seconds"]
    result["scale_paging_per_s"] = paged["files"] / paged["seconds"]
    result["scale_paging_rss_growth_mib"] = rss.growth_mib

    # Paths of all files: the shim's stream vs the same requests made directly, two rounds
    # interleaved (the machine's load drifts). Neither side goes through the counting proxy
    # (the shim is the server configured with Rucio's own URL); a third stream through the
    # proxied server counts the Rucio calls.
    near = near_expression()
    direct_files = direct_s = shim_files = shim_s = 0.0
    growth = 0.0
    for _ in range(2):
        start = time.perf_counter()
        direct_files += direct_paths(env["rucio"], datasets, near)
        direct_s += time.perf_counter() - start
        with RssPeak(int(env["direct_server_pid"])) as rss:
            start = time.perf_counter()
            shim_files += shim_paths(client, env["direct_base"])
            shim_s += time.perf_counter() - start
        growth = max(growth, rss.growth_mib)
    httpx.post(f"{env['proxy']}/_proxy/reset")
    with RssPeak(pid) as rss:
        counted = shim_paths(client, base)
    growth = max(growth, rss.growth_mib)
    stats = httpx.get(f"{env['proxy']}/_proxy/stats").json()
    if counted != shim_files / 2:
        raise RuntimeError(f"the proxied server gave {counted} paths, the other {shim_files / 2}")
    result.update(
        {
            "scale_paths_files": counted,
            "scale_paths_s": shim_s / 2,
            "scale_paths_per_s": shim_files / shim_s,
            "scale_paths_direct_per_s": direct_files / direct_s,
            "scale_paths_ratio": (shim_files / shim_s) / (direct_files / direct_s),
            "scale_paths_rss_growth_mib": growth,
            "scale_paths_rucio_calls": stats["total"],
            "scale_paths_rucio_lookups": stats["calls"].get("POST /replicas/list", 0),
        }
    )
    return result


def bench_small_ratios(env: dict, client: httpx.Client) -> dict[str, float]:
    """A one-call route (a search) through the shim vs the same Rucio call made directly, both
    through the proxy (so both pay its hop), on loopback and with 20 ms added to every Rucio
    answer. Interleaved, 40 each, kept-alive connections."""
    token = rucio_token(env["rucio"])
    scope = SMALL_DID.split(":")[0]
    direct_url = f"{env['proxy']}/dids/{scope}/dids/search"
    shim_url = f"{env['base']}/datalake/search"
    result: dict[str, float] = {}
    client.get(shim_url, params=SMALL_SHIM_QUERY).raise_for_status()  # logs in
    for label, delay in (("loopback", 0.0), ("20ms", 0.02)):
        httpx.post(f"{env['proxy']}/_proxy/delay", params={"seconds": delay})
        direct, shim = [], []
        try:
            with httpx.Client(headers={"X-Rucio-Auth-Token": token}) as rucio:
                for _ in range(40):
                    direct.append(
                        timed(
                            lambda: rucio.get(
                                direct_url, params=SMALL_RUCIO_QUERY
                            ).raise_for_status()
                        )
                    )
                    shim.append(
                        timed(
                            lambda: client.get(shim_url, params=SMALL_SHIM_QUERY).raise_for_status()
                        )
                    )
        finally:
            httpx.post(f"{env['proxy']}/_proxy/delay", params={"seconds": 0})
        result[f"small_{label}_direct_ms"] = median_ms(direct)
        result[f"small_{label}_shim_ms"] = median_ms(shim)
        result[f"small_{label}_ratio"] = statistics.median(shim) / statistics.median(direct)
    return result
