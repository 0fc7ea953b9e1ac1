"""The Rucio client: URLs, error mapping, retries, deadlines, streaming, 401 handling."""

import asyncio
import json
from urllib.parse import unquote

import httpx
import pytest
from conftest import stub_instance
from fake_rucio import PASSWORD, FakeRucio, error

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.did import DID
from jupyterlab_datalake.core.rucio import RucioClient, rucio_error
from jupyterlab_datalake.errors import DatalakeError


def make_client(transport, **kwargs):
    instance = parse_config([stub_instance(**kwargs)], None).instances["stub"]
    return RucioClient(instance, timeout=kwargs.pop("timeout", 2.0), transport=transport)


def test_url_keeps_prefix_and_quotes():
    client = make_client(httpx.MockTransport(lambda r: httpx.Response(200)))
    assert (
        client.url("dids", "user.alice", "a/b c")
        == "http://rucio.test/rucio/dids/user.alice/a%2Fb%20c"
    )
    assert client.url("rules", collection=True) == "http://rucio.test/rucio/rules/"


@pytest.mark.parametrize(
    ("status", "cls", "code", "reason", "words"),
    [
        (404, "DataIdentifierNotFound", 404, "DID_NOT_FOUND", "check the DID"),
        (409, "InvalidRSEExpression", 409, "NO_ELIGIBLE_RSE", "QOS=FAST&site=HUB"),
        (409, "InsufficientTargetRSEs", 409, "NO_ELIGIBLE_RSE", "another QoS class"),
        (409, "InsufficientAccountLimit", 409, "QUOTA_EXCEEDED", "quota"),
        (409, "DuplicateRule", 409, "DUPLICATE_RULE", "already exists"),
        (401, "AccessDenied", 403, "ACCESS_DENIED", "permission"),
        (401, "CannotAuthenticate", 502, "RUCIO_AUTH_FAILED", "check the credentials"),
        (409, "InvalidReplicationRule", 400, "RUCIO_REFUSED", "fix it"),
        (500, "DatabaseException", 502, "RUCIO_ERROR", "try again later"),
    ],
)
def test_error_mapping(status, cls, code, reason, words):
    err = rucio_error(
        status,
        cls,
        "detail",
        url="http://r",
        context={"did": "demo:x", "expression": "QOS=FAST&site=HUB"},
    )
    assert (err.status, err.reason) == (code, reason)
    assert words in err.message


async def test_401_renews_once_and_retries(fake_rucio):
    client = make_client(fake_rucio.transport())
    await client.scopes()
    fake_rucio.expire_tokens()
    assert await client.scopes() == ["demo", "user.alice"]
    auths = [c for c in fake_rucio.calls if c[1].endswith("/auth/userpass")]
    assert len(auths) == 2
    # A second 401 right after renewal is not retried forever.
    fake_rucio.fail_next.append(("GET", "/scopes", lambda: error(401, "CannotAuthenticate", "x")))
    fake_rucio.fail_next.append(("GET", "/scopes", lambda: error(401, "CannotAuthenticate", "x")))
    with pytest.raises(DatalakeError) as info:
        await client.scopes()
    assert info.value.reason == "RUCIO_AUTH_FAILED"
    await client.close()


async def test_get_retries_on_503_but_post_does_not(fake_rucio):
    client = make_client(fake_rucio.transport())
    fake_rucio.fail_next.append(("GET", "/scopes", lambda: httpx.Response(503)))
    assert await client.scopes() == ["demo", "user.alice"]
    fake_rucio.fail_next.append(("POST", "/rules", lambda: httpx.Response(503)))
    with pytest.raises(DatalakeError) as info:
        await client.request("POST", "rules", collection=True, json_body={})
    assert info.value.status == 502
    await client.close()


TEMPORARY = "ReplicationRuleCreationTemporaryFailed"
RULE_BODY = {
    "dids": [{"scope": "demo", "name": "lofar-obs-sb000"}],
    "copies": 1,
    "rse_expression": "QOS=FAST&site=HUB",
    "account": "alice",
    "lifetime": 3600,
    "grouping": "DATASET",
}


def temporary_failure():
    # What Rucio 41 answers while the reaper still holds the replica rows of a released rule.
    return error(409, TEMPORARY, "(sqlite3.IntegrityError) UNIQUE constraint failed: replicas")


@pytest.fixture
def no_waits(monkeypatch):
    monkeypatch.setattr("jupyterlab_datalake.core.rucio.TRANSIENT_DELAYS", (0.01,) * 4)


async def test_a_rule_rucio_could_not_create_yet_is_asked_again(fake_rucio, no_waits):
    client = make_client(fake_rucio.transport())
    for _ in range(2):
        fake_rucio.fail_next.append(("POST", "/rules", temporary_failure))
    rule_id = await client.add_rule(RULE_BODY)
    posts = [c for c in fake_rucio.calls if c[:2] == ("POST", "/rucio/rules/")]
    assert len(posts) == 3
    assert [r["id"] for r in fake_rucio.rules.values()] == [rule_id]
    await client.close()


async def test_a_rule_rucio_keeps_refusing_ends_with_a_sentence_and_no_rule(fake_rucio, no_waits):
    client = make_client(fake_rucio.transport())
    for _ in range(10):
        fake_rucio.fail_next.append(("POST", "/rules", temporary_failure))
    with pytest.raises(DatalakeError) as info:
        await client.add_rule(RULE_BODY)
    assert (info.value.status, info.value.reason) == (502, "RUCIO_ERROR")
    assert info.value.message.startswith(
        "Rucio could not create the rule for demo:lofar-obs-sb000 for several seconds"
    )
    assert "nothing was created: try again in a minute." in info.value.message
    # The first try and one per delay; the rest of the refusals are still queued.
    assert len(fake_rucio.fail_next) == 10 - 5 and not fake_rucio.rules
    await client.close()


async def test_a_temporary_failure_is_asked_again_only_where_the_call_says_so(fake_rucio, no_waits):
    client = make_client(fake_rucio.transport())
    fake_rucio.fail_next.append(("POST", "/rules", temporary_failure))
    with pytest.raises(DatalakeError):
        await client.request("POST", "rules", collection=True, json_body=RULE_BODY)
    assert not fake_rucio.fail_next and not fake_rucio.rules
    await client.close()


async def test_connection_errors_become_502_with_url():
    attempts = []

    def refuse(request):
        attempts.append(request)
        raise httpx.ConnectError("refused", request=request)

    client = make_client(httpx.MockTransport(refuse))
    client.auth._token = None
    with pytest.raises(DatalakeError) as info:
        await client.ping()
    assert (
        info.value.status == 502 and "http://rucio.test/rucio is unreachable" in info.value.message
    )
    await client.close()


async def test_deadline_gives_504(fake_rucio):
    async def slow(request):
        if request.url.path.endswith("/auth/userpass"):
            return fake_rucio.handle(request)
        await asyncio.sleep(5)
        return httpx.Response(200, json=[])

    client = make_client(httpx.MockTransport(slow))
    client.timeout = 0.2
    with pytest.raises(DatalakeError) as info:
        await client.scopes()
    assert info.value.status == 504 and "0.2 s" in info.value.message
    await client.close()


async def test_streams_line_by_line():
    fake = FakeRucio(big_files=3000)
    client = make_client(fake.transport())
    count = 0
    async for item in client.did_files(DID("demo", "big")):
        count += 1
        assert item["scope"] == "demo"
    assert count == 3000
    await client.close()


async def test_lines_cut_anywhere_by_the_network_are_read_whole(fake_rucio):
    """Rucio's lines arrive in chunks that split lines and UTF-8 characters anywhere."""
    lines = [
        {"scope": "demo", "name": f"f-{i}-\u00e9t\u00e9-\u6570", "bytes": i, "length": None}
        for i in range(50)
    ]
    body = "".join(f"{json.dumps(line, ensure_ascii=False)}\r\n" for line in lines).encode()

    async def chunks():
        for start in range(0, len(body), 7):  # 7 bytes: through characters and line ends
            yield body[start : start + 7]

    async def route(request):
        if request.url.path.endswith("/auth/userpass"):
            return fake_rucio.handle(request)
        return httpx.Response(200, content=chunks())

    client = make_client(httpx.MockTransport(route))
    assert [item async for item in client.did_files(DID("demo", "ds"))] == lines
    await client.close()


async def test_a_closed_collection_is_asked_once_an_open_one_is_summed(fake_rucio):
    """Rucio stores a collection's counts when it is closed; summing them again costs it a
    third of a second per million files, so only an open one is summed (dynamic_depth)."""
    fake_rucio.add_collection("demo", "closed-ds", "DATASET", open=False)
    fake_rucio.add_file("demo", "closed-f", ("demo", "closed-ds"), {"LAKE-SAFE": "AVAILABLE"})
    client = make_client(fake_rucio.transport())
    fake_rucio.calls.clear()
    closed = await client.did(DID("demo", "closed-ds"))
    asked = [c for c in fake_rucio.calls if c[0] == "GET" and "/dids/" in c[1]]
    assert closed["length"] == 1 and closed["bytes"] > 0 and len(asked) == 1
    fake_rucio.calls.clear()
    opened = await client.did(DID("demo", "lofar-obs-sb000"))
    asked = [c for c in fake_rucio.calls if c[0] == "GET" and "/dids/" in c[1]]
    assert opened["length"] == 4 and opened["bytes"] > 0 and len(asked) == 2
    await client.close()


async def test_errors_never_echo_the_token(fake_rucio):
    client = make_client(fake_rucio.transport())
    token = await client.auth.token()
    response = error(400, "InvalidObject", f"bad token {token} and {PASSWORD}")
    fake_rucio.fail_next.append(("GET", "/scopes", lambda: response))
    with pytest.raises(DatalakeError) as info:
        await client.scopes()
    for text in (info.value.message, repr(info.value), repr(client), repr(client.auth)):
        assert token not in text and PASSWORD not in text
    await client.close()


# Error bodies Rucio (or a proxy in front of it) may send that cannot be read as JSON.
UNREADABLE_ERROR_BODIES = {
    "not JSON": b"<html><body>Internal Server Error</body></html>",
    # Nested too deep for json.loads (RecursionError), yet small.
    "nested too deep": b'{"ExceptionClass": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize(
    "body", UNREADABLE_ERROR_BODIES.values(), ids=list(UNREADABLE_ERROR_BODIES)
)
@pytest.mark.parametrize(
    ("status", "headers", "reason", "words"),
    [
        (
            409,
            {"ExceptionClass": "InsufficientAccountLimit", "ExceptionMessage": "quota is 0"},
            "QUOTA_EXCEEDED",
            "(Rucio: quota is 0)",
        ),
        (500, {}, "RUCIO_ERROR", "failed with HTTP 500: try again later"),
    ],
    ids=["class in headers", "no class"],
)
async def test_an_unreadable_error_body_is_the_sentence_of_its_status_and_headers(
    fake_rucio, body, status, headers, reason, words
):
    # Given: Rucio refuses with a body that is not readable JSON
    answer = httpx.Response(status, content=body, headers=headers)
    fake_rucio.fail_next.append(("GET", "/scopes", lambda: answer))
    client = make_client(fake_rucio.transport())
    # When
    with pytest.raises(DatalakeError) as info:
        await client.scopes()
    # Then: the sentence its status and headers give, whatever the body
    expected = rucio_error(
        status,
        headers.get("ExceptionClass"),
        headers.get("ExceptionMessage", ""),
        url="http://rucio.test/rucio",
    )
    assert (info.value.status, info.value.message, info.value.reason) == (
        expected.status,
        expected.message,
        expected.reason,
    )
    assert info.value.reason == reason and words in info.value.message
    await client.close()


HOSTILE = [
    "..",
    ".",
    "...",
    "/",
    "a/../b",
    "%2e%2e",
    "%2F",
    "?x=1",
    "#top",
    "données✓",
    "a b",
    "\\",
]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_segments_never_change_the_endpoint(value):
    seen = []

    def record(request):
        seen.append(request)
        if request.url.path.endswith("/auth/userpass"):
            return httpx.Response(200, headers={"X-Rucio-Auth-Token": "t" * 32})
        # An answer of the shape every call below expects.
        return httpx.Response(200, json={"id": "i", "scope": "s", "name": "n", "type": "FILE"})

    client = make_client(httpx.MockTransport(record))
    await client.did(DID(value, value))
    await client.rule(value)
    await client.rse_attributes(value)
    calls = [r for r in seen if not r.url.path.endswith("/auth/userpass")]
    expected = [
        ["dids", value, value],
        ["rules", value],
        ["rses", value, "attr", ""],
    ]
    for request, segments in zip(calls, expected, strict=True):
        raw = request.url.raw_path.decode()
        path, _, query = raw.partition("?")
        prefix, *sent = path.split("/")[1:]
        # The path has exactly the segments asked for, each the value itself, and nothing
        # of the value leaked into the query.
        assert prefix == "rucio" and [unquote(s) for s in sent] == segments, raw
        assert all(s not in (".", "..") for s in sent), raw
        assert "x=1" not in query
        assert request.url.fragment == ""
    await client.close()


async def test_an_empty_segment_is_refused():
    client = make_client(httpx.MockTransport(lambda r: httpx.Response(200)))
    with pytest.raises(ValueError):
        client.url("dids", "", "x")
    await client.close()
