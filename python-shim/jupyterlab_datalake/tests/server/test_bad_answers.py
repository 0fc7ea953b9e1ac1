"""Rucio answering 200 with something the shim cannot read is a 502 with a sentence, never a 500
"Unhandled error" and never a made-up answer (such as a DID called "None:None")."""

import json

import httpx
import pytest
from conftest import fetch_error
from fake_rucio import stream

HTML = "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
FAULTS = {
    "html page": lambda: httpx.Response(200, text=HTML, headers={"Content-Type": "text/html"}),
    "not json": lambda: httpx.Response(200, text="this is not JSON\n"),
    "cut line": lambda: httpx.Response(200, text='{"scope": "demo", "na'),
    "wrong shape": lambda: httpx.Response(200, json=[{"unexpected": True}]),
}
# Route, its query, and the Rucio call that answers badly (method, path prefix).
CALLS = [
    ("whoami", {}, ("GET", "/accounts/whoami")),
    ("whoami", {}, ("GET", "/ping")),
    ("scopes", {}, ("GET", "/scopes/")),
    ("search", {"did": "demo:*"}, ("GET", "/dids/demo/dids/search")),
    ("did", {"did": "demo:lofar-obs"}, ("GET", "/dids/demo/lofar-obs")),
    ("did", {"did": "demo:lofar-obs"}, ("GET", "/dids/demo/lofar-obs/meta")),
    ("did", {"did": "demo:lofar-obs"}, ("GET", "/dids/demo/lofar-obs/rules")),
    ("did/children", {"did": "demo:lofar-obs"}, ("GET", "/dids/demo/lofar-obs/dids")),
    ("did/files", {"did": "demo:lofar-obs-sb000"}, ("GET", "/dids/demo/lofar-obs-sb000/files")),
    ("did/replicas", {"did": "demo:lofar-obs-sb000"}, ("GET", "/replicas/demo")),
    ("did/rules", {"did": "demo:lofar-obs"}, ("GET", "/dids/demo/lofar-obs/rules")),
    ("qos", {}, ("GET", "/rses/")),
    ("stagings", {}, ("GET", "/rules/")),
    ("paths", {"did": "demo:lofar-obs-sb000"}, ("GET", "/dids/demo/lofar-obs-sb000/files")),
    ("paths", {"did": "demo:lofar-obs-sb000"}, ("POST", "/replicas/list")),
]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("route", "query", "call"), CALLS, ids=lambda v: str(v))
async def test_an_unreadable_rucio_answer_is_a_502_sentence(
    jp_fetch, app_service, fake_rucio, route, query, call, fault
):
    # Given: Rucio answers this one call with a 200 the shim cannot read
    fake_rucio.fail_next.append((*call, FAULTS[fault]))
    # When
    error = await fetch_error(jp_fetch, "datalake", *route.split("/"), params=query)
    # Then
    assert error.code == 502, error.response.body
    answer = json.loads(error.response.body)
    assert answer["reason"] == "RUCIO_BAD_ANSWER"
    assert answer["message"].startswith("Rucio at http://rucio.test/rucio sent ")
    assert "try again later" in answer["message"]
    assert fake_rucio.fail_next == []  # the fault was met


async def test_a_did_of_the_wrong_shape_is_never_none_none(jp_fetch, app_service, fake_rucio):
    # Given: Rucio's DID answer lacks scope and name
    fake_rucio.fail_next.append(
        ("GET", "/dids/demo/lofar-obs", lambda: httpx.Response(200, json={"type": "DATASET"}))
    )
    # When
    error = await fetch_error(jp_fetch, "datalake", "did", params={"did": "demo:lofar-obs"})
    # Then
    assert error.code == 502
    assert b"None:None" not in error.response.body


async def test_the_paths_route_ends_a_cut_list_with_the_error_line(
    jp_fetch, app_service, fake_rucio
):
    files = [fake_rucio.dids[f] for f in fake_rucio.files_of(("demo", "lofar-obs-sb000"))]
    fake_rucio.fail_next.append(
        ("GET", "/dids/demo/lofar-obs-sb000/files", lambda: stream(files[:3]))
    )
    response = await jp_fetch("datalake", "paths", params={"did": "demo:lofar-obs-sb000"})
    lines = [json.loads(line) for line in response.body.decode().splitlines()]
    assert response.code == 200 and len(lines) == 4
    assert lines[-1]["error"]["reason"] == "RUCIO_CUT_SHORT"


@pytest.mark.parametrize("prefix", [5, ["/storage/HUB-FAST/"], {"path": "/storage/HUB-FAST/"}])
async def test_an_rse_file_prefix_that_is_not_a_string_is_a_502_sentence(
    jp_fetch, app_service, fake_rucio, prefix
):
    # Given: the files are on the mounted RSE, whose file protocol Rucio answers malformed
    for key in fake_rucio.files_of(("demo", "lofar-obs-sb000")):
        fake_rucio.replicas[key]["HUB-FAST"] = "AVAILABLE"
    protocols = [{"scheme": "file", "hostname": "localhost", "port": 0, "prefix": prefix}]
    fake_rucio.fail_next.append(
        ("GET", "/rses/HUB-FAST/protocols", lambda: httpx.Response(200, json=protocols))
    )
    # When
    error = await fetch_error(jp_fetch, "datalake", "paths", params={"did": "demo:lofar-obs-sb000"})
    # Then: a sentence about Rucio's answer, not a path made up or a 500
    assert error.code == 502, error.response.body
    answer = json.loads(error.response.body)
    assert answer["reason"] == "RUCIO_BAD_ANSWER"
    assert answer["message"].startswith("Rucio at http://rucio.test/rucio sent JSON of an")
    assert fake_rucio.fail_next == []  # the fault was met
