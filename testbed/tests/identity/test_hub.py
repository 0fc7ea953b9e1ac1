"""A real JupyterHub, proxy, issuer and Rucio: log in, spawn, read the token as the server would.

One hub for all hub tests (conftest.py), with the issuer's tokens made short-lived (60 s) so that
a refresh happens within the tests. Port: HUB_PORT (default 8000; HUB_PORT+1 and +2 are used too).
"""

from __future__ import annotations

import json
import time
from contextlib import closing
from pathlib import Path

import httpx

from conftest import LocalTestbed, token_lifetime
from harness import HubProcess


def server_token_request(hub: HubProcess, path: str) -> httpx.Response:
    """A hub API request made with alice's single-user server's own credentials."""
    environ = hub.server_environ("alice")
    return httpx.get(
        f"{environ['JUPYTERHUB_API_URL']}{path}",
        headers={"Authorization": f"token {environ['JUPYTERHUB_API_TOKEN']}"},
        timeout=30,
    )


def test_a_wrong_password_is_refused(hub: HubProcess) -> None:
    session = httpx.Client(base_url=hub.url)
    session.get("/hub/login")
    response = session.post(
        "/hub/login",
        data={
            "username": "alice",
            "password": "not-her-password",
            "_xsrf": session.cookies["_xsrf"],
        },
    )
    assert response.status_code == 403
    assert "jupyterhub-hub-login" not in session.cookies


def test_passwords_are_generated_and_private(hub: HubProcess) -> None:
    users_file = hub.testbed_dir / "hub-users.json"
    assert users_file.stat().st_mode & 0o777 == 0o600
    passwords = json.loads(users_file.read_text())
    assert set(passwords) == {"alice", "bob"}
    assert len(set(passwords.values())) == 2
    assert (hub.testbed_dir / "hub" / "crypt-key").stat().st_mode & 0o777 == 0o600


def test_the_server_gets_site_mounts_and_rucio_but_no_token(
    hub: HubProcess, alice: httpx.Client, testbed: LocalTestbed
) -> None:
    environ = hub.server_environ("alice")
    assert environ["DATALAKE_AUTH"] == "hub"
    assert environ["DATALAKE_ACCOUNT"] == "alice"
    assert environ["DATALAKE_SITE"] == "HUB"
    assert environ["DATALAKE_RUCIO_URL"] == testbed.rucio_url
    mounts = json.loads(environ["DATALAKE_MOUNTS"])
    assert Path(mounts["HUB-FAST"]) == testbed.dir / "storage" / "HUB-FAST"
    # The token is fetched from the hub when needed: none goes stale in the environment.
    auth_state = server_token_request(hub, "/users/alice").json()["auth_state"]
    assert "RUCIO_ACCESS_TOKEN" not in environ
    assert auth_state["access_token"] not in "\0".join(environ.values())


def test_the_server_runs_jupyterlab_with_the_extension(
    hub: HubProcess, alice: httpx.Client
) -> None:
    # As a browser that just logged in: JupyterLab's page through the proxy, authorised by the
    # hub's OAuth.
    with closing(hub.login("alice")) as browser:
        lab = browser.get("/user/alice/lab", follow_redirects=True)
        assert lab.status_code == 200
        assert "/hub/api/oauth2/authorize" in [r.url.path for r in lab.history]
        assert "jupyterlab-datalake" in lab.text
        response = browser.get("/user/alice/datalake/instances")
        assert response.status_code == 200, response.text
        instance = response.json()["instances"][0]
        assert instance["name"] == "testbed"
        assert instance["site_expression"] == "site=HUB"


def test_the_servers_own_token_reads_alices_access_token(
    hub: HubProcess, alice: httpx.Client, testbed: LocalTestbed
) -> None:
    response = server_token_request(hub, "/users/alice")
    assert response.status_code == 200
    auth_state = response.json()["auth_state"]
    whoami = testbed.whoami(auth_state["access_token"])
    assert whoami.status_code == 200
    assert whoami.json()["account"] == "alice"
    # Its owner's only: bob's auth_state is not there for alice's server.
    assert server_token_request(hub, "/users/bob").status_code in (403, 404)


def test_the_hub_refreshes_the_token_before_it_expires(
    hub: HubProcess, alice: httpx.Client, testbed: LocalTestbed
) -> None:
    lifetime = token_lifetime(testbed)
    first = server_token_request(hub, "/users/alice").json()["auth_state"]
    deadline = time.monotonic() + lifetime + 15
    while True:
        later = server_token_request(hub, "/users/alice").json()["auth_state"]
        if later["access_token"] != first["access_token"]:
            break
        assert time.monotonic() < deadline, "the hub never handed out a new token"
        time.sleep(1)
    assert later["expires_at"] > first["expires_at"]
    # A refreshed token still has at least 30 % of its lifetime left (jupyterhub_config.py).
    assert later["expires_at"] - time.time() >= 0.3 * lifetime - 2
    whoami = testbed.whoami(later["access_token"])
    assert whoami.status_code == 200
    assert whoami.json()["account"] == "alice"


def test_bobs_token_is_bobs(hub: HubProcess, testbed: LocalTestbed) -> None:
    with closing(hub.login("bob")) as bob:
        response = bob.get("/hub/api/users/bob")
        assert response.status_code == 200
        whoami = testbed.whoami(response.json()["auth_state"]["access_token"])
        assert whoami.status_code == 200
        assert whoami.json()["account"] == "bob"
        assert bob.get("/hub/api/users/alice").status_code in (403, 404)
