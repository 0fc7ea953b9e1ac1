"""The token from JupyterHub's auth_state: asked for, renewed before expiry and after a 401,
fallbacks, a hub that is down, slow or malformed, and nothing secret shown anywhere."""

import asyncio
import json
import logging
import os
import time

import httpx
import pytest
from conftest import stub_instance
from fake_hub import API_TOKEN, FakeHub, hub_environ, jwt
from fake_rucio import FakeRucio

from jupyterlab_datalake.core import auth
from jupyterlab_datalake.core.auth import HubTokenProvider, make_token_provider
from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.rucio import RucioClient
from jupyterlab_datalake.errors import DatalakeError


@pytest.fixture(autouse=True)
def under_the_hub(monkeypatch):
    for name, value in hub_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JPY_API_TOKEN", raising=False)
    # Another test's server may have withheld hub variables into the shim's store.
    monkeypatch.setattr(auth, "_withheld", {})


@pytest.fixture
def fake_rucio():
    return FakeRucio()


@pytest.fixture
def hub(fake_rucio):
    return FakeHub(fake_rucio.tokens)


def hub_instance(**auth_options):
    return parse_config([stub_instance(auth={"type": "hub", **auth_options})], None).instances[
        "stub"
    ]


def provider(hub, *, timeout=30.0, **auth_options) -> HubTokenProvider:
    made = make_token_provider(
        hub_instance(**auth_options), None, timeout=timeout, hub_transport=hub.transport()
    )
    assert isinstance(made, HubTokenProvider)
    return made


def client(hub, fake_rucio, *, timeout=30.0, **auth_options) -> RucioClient:
    inst = hub_instance(**auth_options)
    return RucioClient(
        inst,
        timeout=timeout,
        transport=fake_rucio.transport(),
        auth=provider(hub, timeout=timeout, **auth_options),
    )


async def test_the_token_comes_from_the_owners_auth_state(hub, fake_rucio):
    rucio = client(hub, fake_rucio)
    assert await rucio.scopes() == ["demo", "user.alice"]
    (asked,) = hub.requests
    assert str(asked.url) == "http://hub.test:8081/hub/api/users/alice"
    assert asked.headers["Authorization"] == f"token {API_TOKEN}"
    assert fake_rucio.requests[-1].headers["X-Rucio-Auth-Token"] == hub.token
    assert rucio.auth.auth_type == "oidc" and rucio.auth.token_source == "hub"
    assert rucio.auth.renews is True
    assert abs(rucio.auth.expires_at.timestamp() - (time.time() + 600)) < 5
    await rucio.scopes()
    assert len(hub.requests) == 1  # a fresh token is kept, not asked for on every call
    await rucio.close()


async def test_a_configured_auth_state_key(hub, fake_rucio):
    hub.key = "rucio_token"
    hub.rotate()
    rucio = client(hub, fake_rucio, auth_state_key="rucio_token")
    await rucio.scopes()
    assert fake_rucio.requests[-1].headers["X-Rucio-Auth-Token"] == hub.auth_state["rucio_token"]
    await rucio.close()


async def test_renewed_in_the_background_after_half_its_lifetime(hub, fake_rucio):
    hub.rotate(lifetime=4.0)
    source = provider(hub)
    first = await source.token()
    await asyncio.sleep(2.2)  # past half-life: the hub renews its token around then
    second = hub.rotate(lifetime=4.0)
    # The call in hand still gets the current token; a new one is asked for meanwhile.
    assert await source.token() == first
    await asyncio.sleep(0.1)
    assert await source.token() == second
    assert len(hub.requests) == 2
    await source.close()


async def test_the_hub_is_not_asked_on_every_call_while_it_has_nothing_newer(hub, fake_rucio):
    hub.rotate(lifetime=8.0, issued=time.time() - 4.5)  # already past half-life
    source = provider(hub)
    token = await source.token()
    for _ in range(40):
        assert await source.token() == token
        await asyncio.sleep(0.05)
    # 2 s of calls: the first ask, then at most one every second (a quarter of what is left).
    assert 2 <= len(hub.requests) <= 4
    await source.close()


async def test_an_expired_token_is_replaced_before_the_call(hub, fake_rucio):
    hub.rotate(lifetime=1.0)
    rucio = client(hub, fake_rucio)
    await rucio.scopes()
    await asyncio.sleep(1.1)
    fresh = hub.rotate()
    fake_rucio.tokens.clear()
    fake_rucio.tokens.add(fresh)
    assert await rucio.scopes() == ["demo", "user.alice"]
    # No 401 round trip: Rucio never saw the token after it expired.
    assert len(fake_rucio.requests) == 2
    assert fake_rucio.requests[-1].headers["X-Rucio-Auth-Token"] == fresh
    await rucio.close()


async def test_a_new_token_rucio_refused_once_is_tried_once_more(hub, fake_rucio):
    # Rucio records a new OIDC token at its first use; first uses arriving together race, and
    # the loser is answered 401 although the token is good.
    rucio = client(hub, fake_rucio)
    token = await rucio.auth.token()
    fake_rucio.fail_next.append(
        (
            "GET",
            "/scopes",
            lambda: httpx.Response(401, json={"ExceptionClass": "CannotAuthenticate"}),
        )
    )
    assert await rucio.scopes() == ["demo", "user.alice"]
    assert [r.headers["X-Rucio-Auth-Token"] for r in fake_rucio.requests] == [token, token]
    await rucio.close()


async def test_a_401_from_rucio_asks_the_hub_again_and_retries_once(hub, fake_rucio):
    rucio = client(hub, fake_rucio)
    rejected = await rucio.auth.token()
    fake_rucio.tokens.discard(rejected)  # revoked, or Rucio's clock says it expired
    renewed = hub.rotate()
    assert await rucio.scopes() == ["demo", "user.alice"]
    sent = [r.headers["X-Rucio-Auth-Token"] for r in fake_rucio.requests]
    assert sent == [rejected, renewed]
    assert len(hub.requests) == 2
    await rucio.close()


async def test_a_token_rucio_refused_and_the_hub_still_holds_says_log_in_again(hub, fake_rucio):
    rucio = client(hub, fake_rucio)
    fake_rucio.tokens.clear()
    with pytest.raises(DatalakeError) as info:
        await rucio.scopes()
    assert info.value.status == 502 and info.value.reason == "RUCIO_TOKEN_EXPIRED"
    assert "log in to the hub again" in info.value.message
    # The hub was asked again and had nothing else: one more try with it, then no loop.
    assert len(hub.requests) == 2 and len(fake_rucio.requests) == 2
    await rucio.close()


async def test_the_token_file_is_the_fallback_when_rucio_refuses_the_hubs(
    hub, fake_rucio, tmp_path
):
    path = tmp_path / "token"
    path.write_text(jwt(600, serial=99))
    fake_rucio.tokens.add(path.read_text())
    rucio = client(hub, fake_rucio, token_file=str(path))
    fake_rucio.tokens.discard(await rucio.auth.token())
    assert await rucio.scopes() == ["demo", "user.alice"]
    assert rucio.auth.token_source == "file"
    await rucio.close()


@pytest.mark.parametrize("mode", ["down", "malformed", "no auth_state", "not started by a hub"])
async def test_fallbacks_when_the_hub_cannot_say(hub, fake_rucio, tmp_path, monkeypatch, mode):
    monkeypatch.setenv("MY_TOKEN", jwt(600, serial=7))
    fake_rucio.tokens.add(os.environ["MY_TOKEN"])
    if mode == "down":
        hub.mode = "down"
    elif mode == "malformed":
        hub.mode = httpx.Response(200, text="<html>Service Unavailable</html>")
    elif mode == "no auth_state":
        hub.auth_state = None
    else:
        monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    rucio = client(hub, fake_rucio, token_env="MY_TOKEN")
    assert await rucio.scopes() == ["demo", "user.alice"]
    assert rucio.auth.token_source == "env"
    assert fake_rucio.requests[-1].headers["X-Rucio-Auth-Token"] == os.environ["MY_TOKEN"]
    await rucio.close()


async def test_an_expired_fallback_is_not_used(hub, fake_rucio, tmp_path):
    path = tmp_path / "token"
    path.write_text(jwt(-10))
    hub.mode = "down"
    source = provider(hub, token_file=str(path))
    with pytest.raises(DatalakeError, match="unreachable"):
        await source.token()
    await source.close()


async def test_a_valid_token_is_kept_while_the_hub_is_down(hub, fake_rucio, caplog):
    hub.rotate(lifetime=4.0)
    source = provider(hub)
    token = await source.token()
    hub.mode = "down"
    await asyncio.sleep(2.2)
    assert await source.token() == token  # the renewal fails in the background
    await asyncio.sleep(0.1)
    assert await source.token() == token
    assert "could not renew the OIDC token" in caplog.text
    await source.close()


async def test_the_hubs_valid_token_is_kept_over_the_fallback_while_the_hub_is_down(
    hub, fake_rucio, monkeypatch
):
    monkeypatch.setenv("MY_TOKEN", jwt(600, serial=7))
    hub.rotate(lifetime=4.0)
    source = provider(hub, token_env="MY_TOKEN")
    token = await source.token()
    hub.mode = "down"
    await asyncio.sleep(2.2)
    assert await source.token() == token
    await asyncio.sleep(0.1)
    assert await source.token() == token and source.token_source == "hub"
    await asyncio.sleep(2.0)  # expired now: the fallback takes over
    assert await source.token() == os.environ["MY_TOKEN"] and source.token_source == "env"
    await source.close()


BAD_ANSWERS = [
    (httpx.Response(403, json={"message": "Forbidden"}), "restart your server"),
    (httpx.Response(404, json={"message": "Not found"}), "admin:auth_state!user"),
    (httpx.Response(500, text="Internal Server Error"), "HTTP 500"),
    (httpx.Response(200, text="not json"), "not JSON"),
    # Nested too deep for json.loads (RecursionError), yet well under the size limit.
    (
        httpx.Response(200, content=b'{"auth_state": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "not JSON",
    ),
    (httpx.Response(200, json=["a", "list"]), "not a user model"),
    (httpx.Response(200, json={"name": "alice", "auth_state": None}), "enable_auth_state"),
    (httpx.Response(200, json={"name": "alice", "auth_state": {"other": 1}}), "'access_token'"),
    (httpx.Response(200, json={"name": "alice", "auth_state": {"access_token": 42}}), "log in"),
    (httpx.Response(200, content=b"{" + b" " * (1 << 21) + b"}"), "too large"),
]


@pytest.mark.parametrize(("answer", "words"), BAD_ANSWERS)
async def test_a_malformed_hub_answer_is_a_sentence(hub, fake_rucio, answer, words):
    hub.mode = answer
    rucio = client(hub, fake_rucio)
    with pytest.raises(DatalakeError) as info:
        await rucio.scopes()
    assert info.value.status == 502 and info.value.reason == "HUB_TOKEN_UNAVAILABLE"
    assert words in info.value.message
    assert "JupyterHub at http://hub.test:8081/hub/api" in info.value.message
    assert fake_rucio.requests == []  # nothing reached Rucio without a token
    await rucio.close()


async def test_a_hub_that_is_down_is_said_so(hub, fake_rucio):
    hub.mode = "down"
    with pytest.raises(DatalakeError, match=r"is unreachable \(ConnectError\); check that the hub"):
        await provider(hub).token()


async def test_a_slow_hub_fails_within_the_deadline(hub, fake_rucio):
    hub.mode = "slow"
    rucio = client(hub, fake_rucio, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(DatalakeError) as info:
        await rucio.scopes()
    # A 502 about the hub (a third of the call's deadline), not a 504 about Rucio.
    assert time.monotonic() - started < 1.0
    assert info.value.status == 502
    assert "did not answer within 0.5 s" in info.value.message
    await rucio.close()


async def test_outside_a_hub_without_fallback_says_what_is_missing(hub, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_URL")
    with pytest.raises(DatalakeError) as info:
        await provider(hub).token()
    assert info.value.reason == "CONFIG"
    assert "not started by JupyterHub (JUPYTERHUB_API_URL not set)" in info.value.message


async def test_the_withheld_api_token_is_still_the_shims(hub, fake_rucio, monkeypatch):
    # The server takes the hub's API token out of the environment kernels inherit.
    auth.withhold_env(["JUPYTERHUB_API_TOKEN"])
    assert "JUPYTERHUB_API_TOKEN" not in os.environ
    assert await provider(hub).token() == hub.token


async def test_concurrent_calls_share_one_ask(hub, fake_rucio):
    source = provider(hub)
    tokens = await asyncio.gather(*(source.token() for _ in range(20)))
    assert set(tokens) == {hub.token} and len(hub.requests) == 1


async def test_nothing_secret_in_errors_repr_or_logs(hub, fake_rucio, caplog):
    caplog.set_level(logging.DEBUG)
    rucio = client(hub, fake_rucio)
    token = await rucio.auth.token()
    fake_rucio.tokens.clear()  # Rucio's 401 echoes the token
    hub.mode = httpx.Response(403, json={"message": f"Forbidden {token} {API_TOKEN}"})
    with pytest.raises(DatalakeError) as info:
        await rucio.scopes()
    texts = [
        info.value.message,
        repr(info.value),
        repr(rucio),
        repr(rucio.auth),
        str(vars(rucio.auth)),
        repr(rucio.auth._hub),
        caplog.text,
        json.dumps(info.value.to_json()),
    ]
    assert API_TOKEN in rucio.auth.secrets() and token in rucio.auth.secrets()
    for text in texts:
        assert token not in text and API_TOKEN not in text
    await rucio.close()


async def test_a_new_tokens_first_uses_never_race(hub, fake_rucio):
    """Rucio records a new OIDC token at its first use; uses arriving while it records it are
    answered 401 (seen in the hub soak as details, which ask three calls at once, failing
    with 'log in to the hub again'). The first use goes alone, the others follow."""
    rucio = client(hub, fake_rucio)
    route, recording, recorded = fake_rucio.route, set(), set()

    async def racing(request, parts):
        token = request.headers.get("X-Rucio-Auth-Token")
        if token in recording:
            return httpx.Response(401, json={"ExceptionClass": "CannotAuthenticate"})
        if token not in recorded:
            recording.add(token)
            await asyncio.sleep(0.05)  # recording the token
            recording.discard(token)
            recorded.add(token)
        return route(request, parts)

    fake_rucio.route = racing
    answers = await asyncio.gather(*(rucio.scopes() for _ in range(3)))
    assert answers == [["demo", "user.alice"]] * 3
    await rucio.close()
