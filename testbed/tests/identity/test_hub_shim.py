"""The extension under the real hub: the shim takes each user's OIDC token from the hub's
auth_state (DATALAKE_AUTH=hub), Rucio validates it, and neither the hub's API token nor the
access token reaches the browser, a kernel or a log.

One hub for all hub tests (conftest.py), tokens of 60 s.
"""

from __future__ import annotations

import json
import re
from contextlib import closing

import httpx

from harness import HubProcess, Kernel

SB000 = "demo:lofar-obs-sb000"


def shim(session: httpx.Client, user: str, route: str, **params: str) -> httpx.Response:
    """A route of the user's shim through the proxy, as the panel calls it."""
    return session.get(f"/user/{user}/datalake/{route}", params=params)


def secrets_of(hub: HubProcess, user: str) -> list[str]:
    """The server's hub API token and the user's current access token (read as the server)."""
    environ = hub.server_environ(user)
    api_token = environ["JUPYTERHUB_API_TOKEN"]
    model = httpx.get(
        f"{environ['JUPYTERHUB_API_URL']}/users/{user}",
        headers={"Authorization": f"token {api_token}"},
        timeout=30,
    ).json()
    return [api_token, model["auth_state"]["access_token"]]


def test_the_panel_is_alice_at_testbed_with_the_hubs_oidc_token(alice: httpx.Client) -> None:
    response = shim(alice, "alice", "whoami")
    assert response.status_code == 200, response.text
    whoami = response.json()
    assert (whoami["account"], whoami["instance"]) == ("alice", "testbed")
    assert whoami["auth_type"] == "oidc" and whoami["token_source"] == "hub"
    assert whoami["token_auto_renew"] is True
    instances = shim(alice, "alice", "instances").json()
    assert instances["default"] == "testbed"
    assert [i["display_name"] for i in instances["instances"]] == ["Local testbed"]
    search = shim(alice, "alice", "search", did="demo:lofar-obs*").json()
    assert SB000 in [item["did"] for item in search["items"]]


def test_bob_is_bob(hub: HubProcess) -> None:
    with closing(hub.login("bob")) as bob:
        hub.spawn(bob, "bob")
        try:
            hub.open_server(bob, "bob")
            whoami = shim(bob, "bob", "whoami").json()
            assert (whoami["account"], whoami["token_source"]) == ("bob", "hub")
            # His session opens his server only.
            assert shim(bob, "alice", "whoami").status_code in (302, 403, 404)
        finally:
            hub.stop_server(bob, "bob")


def test_a_kernel_gets_no_hub_token_and_cannot_read_auth_state(
    hub: HubProcess, alice: httpx.Client
) -> None:
    secrets = secrets_of(hub, "alice")
    with Kernel(hub, alice, "alice") as kernel:
        seen = kernel.run(
            "import os, json\nprint(json.dumps(dict(os.environ)))",
        )
        assert seen.error is None, seen
        environ = json.loads(seen.stdout)
        for name in ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "DATALAKE_SHIM_SECRET"):
            assert name not in environ
        for secret in secrets:
            assert secret not in seen.stdout
        # What the kernel could try with what it has: the hub refuses to show auth_state.
        tried = kernel.run(
            "import os, urllib.request, urllib.error\n"
            "url = os.environ['JUPYTERHUB_API_URL'] + '/users/alice'\n"
            "tokens = [v for k, v in os.environ.items() if 'TOKEN' in k]\n"
            "codes = []\n"
            "for token in tokens or ['']:\n"
            "    auth = {'Authorization': 'token ' + token}\n"
            "    request = urllib.request.Request(url, headers=auth)\n"
            "    try:\n"
            "        body = urllib.request.urlopen(request).read().decode()\n"
            "        codes.append(200 if 'access_token' not in body else 'LEAK')\n"
            "    except urllib.error.HTTPError as e:\n"
            "        codes.append(e.code)\n"
            "print(codes)"
        )
        assert tried.error is None, tried
        assert "LEAK" not in tried.stdout and "403" in tried.stdout
        # The magics work through the shim all the same, and show no token.
        listed = kernel.run("%datalake ls demo:lofar-obs*")
        assert listed.error is None and SB000 in listed.result
        for secret in secrets:
            assert secret not in listed.result + listed.stdout + listed.stderr


def test_the_hub_still_hears_from_the_server(hub: HubProcess, alice: httpx.Client) -> None:
    # The server keeps its own copy of the API token it took out of the environment: its
    # activity reports (and OAuth with the hub) go on working.
    log = hub.log_path.read_text()
    assert re.search(r"200 POST /hub/api/users/alice/activity", log)
    assert "Error notifying Hub of activity" not in log


# An access token from the issuer (RS256 JWT): header and payload are base64url JSON objects.
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")


def test_no_token_in_any_answer_or_log(hub: HubProcess, alice: httpx.Client) -> None:
    user = "alice"
    texts = []
    for route, params in [
        ("instances", {}),
        ("whoami", {}),
        ("scopes", {}),
        ("search", {"did": "demo:lofar*"}),
        ("did", {"did": SB000}),
        ("did/files", {"did": SB000}),
        ("did/replicas", {"did": SB000}),
        ("did/rules", {"did": SB000}),
        ("qos", {}),
        ("stagings", {}),
        ("paths", {"did": SB000}),
        ("did", {"did": "demo:no-such-did"}),
    ]:
        response = shim(alice, user, route, **params)
        texts.append(response.text + json.dumps(dict(response.headers)))
    texts.append(alice.get(f"/user/{user}/lab").text)
    texts.append(hub.log_path.read_text())
    everything = "\n".join(texts)
    for secret in secrets_of(hub, user):
        assert secret not in everything
    # Nor any earlier access token (they change every 30 s here).
    assert JWT.findall(everything) == []
