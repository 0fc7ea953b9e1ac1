"""The REST routes through a real Jupyter server (auth on), Rucio in memory."""

import json

import httpx
import pytest
from conftest import body, fetch_error, stub_instance
from fake_hub import API_TOKEN, FakeHub, hub_environ
from fake_rucio import PASSWORD
from tornado.httpclient import HTTPClientError

from jupyterlab_datalake.core.auth import make_token_provider
from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.server.routes import handlers


def hub_instance():
    config = parse_config([stub_instance(auth={"type": "hub"})], None)
    return config.instances["stub"]


GET_ROUTES = [
    ("version", {}),
    ("instances", {}),
    ("whoami", {}),
    ("scopes", {}),
    ("search", {"did": "demo:*"}),
    ("did", {"did": "demo:lofar-obs"}),
    ("did/children", {"did": "demo:lofar-obs"}),
    ("did/files", {"did": "demo:lofar-obs-sb000"}),
    ("did/replicas", {"did": "demo:lofar-obs"}),
    ("did/rules", {"did": "demo:lofar-obs"}),
    ("qos", {}),
    ("stagings", {}),
    ("stagings/preview", {"did": "demo:lofar-obs-sb000", "qos": "FAST"}),
    ("paths", {"did": "demo:lofar-obs-sb000"}),
]
RULE = "0" * 31 + "1"
ALL_ROUTES = [("GET", p, q) for p, q in GET_ROUTES] + [
    ("POST", "stagings", {}),
    ("GET", f"stagings/{RULE}", {}),
    ("PATCH", f"stagings/{RULE}", {}),
    ("DELETE", f"stagings/{RULE}", {}),
]


async def test_version_is_the_package_version(jp_fetch, app_service):
    from jupyterlab_datalake import __version__

    assert body(await jp_fetch("datalake", "version")) == {"version": __version__}


async def test_instances(jp_fetch, app_service):
    # When
    response = await jp_fetch("datalake", "instances")
    # Then
    assert response.code == 200
    assert body(response) == {
        "default": "stub",
        "instances": [
            {
                "name": "stub",
                "display_name": "Stub lake",
                "site_expression": "site=HUB",
                "webui_url": None,
            }
        ],
    }


async def test_whoami(jp_fetch, app_service):
    data = body(await jp_fetch("datalake", "whoami"))
    assert data["account"] == "alice"
    assert data["instance"] == "stub"
    assert data["rucio_version"] == "41.5.1"
    assert data["auth_type"] == "userpass"
    assert data["token_expires_at"].endswith("Z")


async def test_scopes_and_search(jp_fetch, app_service):
    assert body(await jp_fetch("datalake", "scopes")) == {"scopes": ["demo", "user.alice"]}
    data = body(
        await jp_fetch("datalake", "search", params={"did": "demo:lofar*", "type": "dataset"})
    )
    assert [i["did"] for i in data["items"]] == [f"demo:lofar-obs-sb00{i}" for i in range(3)]
    assert data["items"][0]["type"] == "DATASET"  # "DIDType.DATASET" normalised
    assert data["next_cursor"] is None


async def test_search_pages_with_cursor(jp_fetch, app_service):
    params = {"did": "demo:lofar*", "type": "all", "limit": "10"}
    first = body(await jp_fetch("datalake", "search", params=params))
    assert len(first["items"]) == 10 and first["next_cursor"]
    second = body(
        await jp_fetch("datalake", "search", params={**params, "cursor": first["next_cursor"]})
    )
    names = [i["did"] for i in first["items"] + second["items"]]
    assert len(names) == len(set(names)) == 16  # 1 container + 3 datasets + 12 files
    assert second["next_cursor"] is None


async def test_search_metadata_filters(jp_fetch, app_service, fake_rucio):
    params = {"did": "demo:*", "type": "dataset", "filters": json.dumps({"datatype": "RAW"})}
    data = body(await jp_fetch("datalake", "search", params=params))
    assert [i["did"] for i in data["items"]] == ["demo:raw-2024"]


async def test_did_children_files(jp_fetch, app_service):
    info = body(await jp_fetch("datalake", "did", params={"did": "demo:lofar-obs"}))
    assert info["type"] == "CONTAINER"
    assert info["near_hub"] == {"state": "NONE", "rses": []}
    assert info["metadata"]["run_number"] == 7
    children = body(await jp_fetch("datalake", "did/children", params={"did": "demo:lofar-obs"}))
    assert [c["type"] for c in children["items"]] == ["DATASET"] * 3
    files = body(
        await jp_fetch(
            "datalake", "did/files", params={"did": "demo:lofar-obs-sb000", "limit": "3"}
        )
    )
    assert len(files["items"]) == 3 and files["next_cursor"]
    assert files["items"][0]["adler32"] and files["items"][0]["type"] == "FILE"


async def test_replicas_and_qos(jp_fetch, app_service):
    data = body(await jp_fetch("datalake", "did/replicas", params={"did": "demo:lofar-obs"}))
    assert data == {
        "rses": [
            {
                "rse": "LAKE-SAFE",
                "qos": "SAFE",
                "site": "LAKE",
                "near_hub": False,
                "files": 12,
                "bytes": data["rses"][0]["bytes"],
            }
        ]
    }
    qos = body(await jp_fetch("datalake", "qos"))
    assert [(c["name"], c["expression"], c["rses"]) for c in qos["classes"]] == [
        ("FAST", "QOS=FAST&site=HUB", ["HUB-FAST"]),
        ("CHEAP-ANALYSIS", "QOS=CHEAP-ANALYSIS&site=HUB", ["HUB-CHEAP"]),
        ("SAFE", "QOS=SAFE", ["LAKE-SAFE"]),
    ]


async def test_errors_are_json_sentences(jp_fetch, app_service):
    error = await fetch_error(jp_fetch, "datalake", "did", params={"did": "demo:nope"})
    assert error.code == 404
    data = body(error.response)
    assert data["reason"] == "DID_NOT_FOUND" and "check the DID" in data["message"]
    error = await fetch_error(jp_fetch, "datalake", "did", params={"did": "not a did"})
    assert error.code == 400 and body(error.response)["reason"] == "BAD_DID"
    error = await fetch_error(jp_fetch, "datalake", "did")
    assert error.code == 400 and body(error.response)["reason"] == "MISSING_ARGUMENT"
    error = await fetch_error(jp_fetch, "datalake", "whoami", params={"instance": "nope"})
    assert error.code == 400 and "stub" in body(error.response)["message"]


async def test_stage_route_201_then_200(jp_fetch, app_service, fake_rucio):
    request = {"dids": ["demo:lofar-obs-sb000"], "qos": "FAST", "lifetime": 3600}
    first = await jp_fetch("datalake", "stagings", method="POST", body=json.dumps(request))
    assert first.code == 201
    staging = body(first)["stagings"][0]
    assert staging["rse_expression"] == "QOS=FAST&site=HUB" and staging["qos"] == "FAST"
    again = await jp_fetch("datalake", "stagings", method="POST", body=json.dumps(request))
    assert again.code == 200 and body(again)["stagings"][0]["id"] == staging["id"]
    assert len(fake_rucio.rules) == 1
    listed = body(await jp_fetch("datalake", "stagings"))["stagings"]
    assert [s["id"] for s in listed] == [staging["id"]]
    one = body(await jp_fetch("datalake", "stagings", staging["id"]))
    assert one["files_total"] == 4
    patched = await jp_fetch(
        "datalake", "stagings", staging["id"], method="PATCH", body=json.dumps({"lifetime": 7200})
    )
    assert body(patched)["expires_at"] > staging["expires_at"]
    deleted = await jp_fetch("datalake", "stagings", staging["id"], method="DELETE")
    assert deleted.code == 204 and not fake_rucio.live_rules()
    assert body(await jp_fetch("datalake", "stagings"))["stagings"] == []


async def test_unknown_qos_is_400_listing_classes(jp_fetch, app_service):
    request = {"dids": ["demo:lofar-obs-sb000"], "qos": "GOLD"}
    error = await fetch_error(
        jp_fetch, "datalake", "stagings", method="POST", body=json.dumps(request)
    )
    assert error.code == 400
    message = body(error.response)["message"]
    assert "GOLD" in message and "FAST, CHEAP-ANALYSIS, SAFE" in message


async def test_paths_stream_ndjson(jp_fetch, app_service, fake_rucio):
    response = await jp_fetch("datalake", "paths", params={"did": "demo:lofar-obs-sb000"})
    assert response.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.body.decode().splitlines()]
    assert len(lines) == 4 and {line["state"] for line in lines} == {"MISSING"}
    assert all(line["path"] is None for line in lines)
    for key in fake_rucio.files_of(("demo", "lofar-obs-sb000")):
        fake_rucio.replicas[key]["HUB-FAST"] = "AVAILABLE"
    response = await jp_fetch(
        "datalake", "paths", params={"did": "demo:lofar-obs-sb000", "qos": "FAST"}
    )
    lines = [json.loads(line) for line in response.body.decode().splitlines()]
    assert lines[0]["path"] == "/mnt/hub-fast/demo/lofar-obs-sb000.f0"
    assert lines[0]["rse"] == "HUB-FAST" and lines[0]["state"] == "AVAILABLE"


@pytest.mark.parametrize(("method", "path", "params"), ALL_ROUTES)
async def test_every_route_refuses_anonymous(jp_fetch, app_service, method, path, params):
    kwargs = {"body": "{}"} if method in ("POST", "PATCH") else {}
    error = await fetch_error(
        jp_fetch,
        "datalake",
        *path.split("/"),
        method=method,
        params=params,
        headers={"Authorization": "token wrong"},
        **kwargs,
    )
    assert error.code == 403


async def test_kernel_secret_opens_shim_routes_only(
    jp_fetch, jp_serverapp, app_service, fake_rucio
):
    secret = jp_serverapp.web_app.settings["datalake_kernel_secret"]
    headers = {"Authorization": "token wrong", "X-Datalake-Secret": secret}
    assert (await jp_fetch("datalake", "whoami", headers=headers)).code == 200
    # A POST without cookie or XSRF token: the secret is the proof.
    request = json.dumps({"dids": ["demo:lofar-obs-sb001"], "qos": "FAST"})
    response = await jp_fetch("datalake", "stagings", method="POST", body=request, headers=headers)
    assert response.code == 201
    bad = await fetch_error(
        jp_fetch,
        "datalake",
        "whoami",
        headers={"Authorization": "token wrong", "X-Datalake-Secret": "guess"},
    )
    assert bad.code == 403 and body(bad.response)["reason"] == "BAD_SECRET"
    # The secret is no key to the rest of the server.
    other = await fetch_error(jp_fetch, "api", "contents", headers=headers)
    assert other.code == 403


async def test_kernel_environment(jp_serverapp):
    import os

    assert (
        os.environ["DATALAKE_SHIM_SECRET"]
        == jp_serverapp.web_app.settings["datalake_kernel_secret"]
    )
    url = os.environ["DATALAKE_SHIM_URL"]
    assert url.startswith("http://127.0.0.1:") and url.endswith(jp_serverapp.base_url + "datalake/")
    # The magics load by the kernel configuration in <prefix>/etc/ipython, not PYTHONSTARTUP.
    assert "startup.py" not in os.environ.get("PYTHONSTARTUP", "")


async def every_answer(jp_fetch, fake_rucio) -> str:
    """Bodies and headers of every route, the last ones after Rucio dropped the tokens."""
    request = {"dids": ["demo:lofar-obs-sb002"], "qos": "FAST"}
    staged = body(await jp_fetch("datalake", "stagings", method="POST", body=json.dumps(request)))
    rule = staged["stagings"][0]["id"]
    fake_rucio.expire_tokens()  # the next call gets a 401 whose message echoes the token
    texts = [json.dumps(staged)]
    for method, path, params in ALL_ROUTES:
        path = path.replace(RULE, rule)
        kwargs = (
            {"body": json.dumps({"lifetime": 7200, "dids": ["demo:nope"]})}
            if method in ("POST", "PATCH")
            else {}
        )
        if method == "DELETE":
            continue
        try:
            response = await jp_fetch(
                "datalake", *path.split("/"), method=method, params=params, **kwargs
            )
            texts.append(response.body.decode() + json.dumps(dict(response.headers)))
        except HTTPClientError as e:
            texts.append(e.response.body.decode() + json.dumps(dict(e.response.headers)))
    return "\n".join(texts)


def tokens_sent(fake_rucio) -> list[str]:
    return [
        r.headers["X-Rucio-Auth-Token"]
        for r in fake_rucio.requests
        if r.headers.get("X-Rucio-Auth-Token")
    ]


async def test_no_secret_in_any_response(jp_fetch, jp_serverapp, app_service, fake_rucio):
    everything = await every_answer(jp_fetch, fake_rucio)
    secrets = [PASSWORD, jp_serverapp.web_app.settings["datalake_kernel_secret"]]
    secrets += tokens_sent(fake_rucio)
    assert len(secrets) > 3
    for secret in secrets:
        assert secret not in everything


async def test_no_secret_in_any_response_under_a_hub(
    jp_fetch, jp_serverapp, app_service, fake_rucio, monkeypatch, caplog
):
    # The token comes from the hub's auth_state; the hub's error bodies echo both tokens.
    for name, value in hub_environ().items():
        monkeypatch.setenv(name, value)
    hub = FakeHub(fake_rucio.tokens)
    inst = app_service.instance()
    inst.client.auth = make_token_provider(
        hub_instance(), inst.client.http, hub_transport=hub.transport()
    )
    first = hub.token
    everything = await every_answer(jp_fetch, fake_rucio)
    hub.rotate()  # after the 401s, the hub renews: the next calls go through again
    fresh = body(await jp_fetch("datalake", "whoami"))
    assert fresh["token_source"] == "hub" and fresh["auth_type"] == "oidc"
    hub.mode = httpx.Response(403, text=f"Forbidden {hub.token} {API_TOKEN}")
    fake_rucio.expire_tokens()
    refused = await fetch_error(jp_fetch, "datalake", "stagings")
    everything += json.dumps(fresh) + refused.response.body.decode() + caplog.text
    secrets = [API_TOKEN, first, hub.token, *tokens_sent(fake_rucio)]
    assert len(set(secrets)) >= 3
    for secret in secrets:
        assert secret not in everything
    await inst.client.auth.close()


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("rule", ["xyz", "0" * 31, "0" * 33, "g" * 32, "%2e%2e"])
async def test_a_route_with_a_bad_rule_id_says_what_a_rule_id_is(
    jp_fetch, app_service, method, rule
):
    kwargs = {"body": json.dumps({"lifetime": 600})} if method == "PATCH" else {}
    error = await fetch_error(jp_fetch, "datalake", "stagings", rule, method=method, **kwargs)
    assert error.code == 400 and body(error.response)["reason"] == "BAD_RULE_ID"
    assert "32 hexadecimal digits" in body(error.response)["message"]


async def test_rule_ids_are_read_in_any_case(jp_fetch, app_service):
    request = {"dids": ["demo:lofar-obs-sb000"], "qos": "FAST"}
    staged = body(await jp_fetch("datalake", "stagings", method="POST", body=json.dumps(request)))
    rule = staged["stagings"][0]["id"]
    assert staged["created"] is True
    assert body(await jp_fetch("datalake", "stagings", rule.upper()))["id"] == rule


def test_every_method_of_every_route_is_authenticated(jp_serverapp):
    # What jupyter_server checks at start when unauthenticated access is off.
    missing = [
        line
        for pattern, handler, _ in handlers()
        for line in jp_serverapp.web_app._check_handler_auth(pattern, handler)
    ]
    assert missing == []
