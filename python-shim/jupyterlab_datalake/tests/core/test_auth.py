"""Token sources: headers sent, background renewal, OIDC file re-reads, nothing secret shown."""

import asyncio
import base64
import json
import logging
import os
import time

import pytest
from conftest import stub_instance
from fake_rucio import PASSWORD, FakeRucio

from jupyterlab_datalake.core.auth import (
    OidcTokenProvider,
    Secret,
    jwt_claims,
    jwt_expiry,
    make_token_provider,
    parse_rucio_date,
    withhold_env,
)
from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.rucio import RucioClient
from jupyterlab_datalake.errors import DatalakeError


def instance(**auth):
    return parse_config([stub_instance(**({"auth": auth} if auth else {}))], None).instances["stub"]


def jwt(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.c2ln"


async def test_userpass_headers_and_expiry(fake_rucio):
    client = RucioClient(instance(), transport=fake_rucio.transport())
    token = await client.auth.token()
    request = fake_rucio.requests[-1]
    assert request.headers["X-Rucio-Username"] == "alice"
    assert request.headers["X-Rucio-Password"] == PASSWORD
    assert request.headers["X-Rucio-Account"] == "alice"
    assert token in fake_rucio.tokens
    assert client.auth.expires_at is not None and client.auth.expires_at.timestamp() > time.time()
    assert await client.auth.token() == token  # cached
    await client.close()


async def test_userpass_from_rucio_cfg(tmp_path, fake_rucio):
    cfg = tmp_path / "rucio.cfg"
    cfg.write_text(f"[client]\nusername = alice\npassword = {PASSWORD}\naccount = alice\n")
    client = RucioClient(
        instance(type="userpass", rucio_cfg=str(cfg)), transport=fake_rucio.transport()
    )
    assert await client.auth.token()
    assert client.auth.account == "alice"
    await client.close()


async def test_background_renewal_before_expiry():
    fake = FakeRucio(token_lifetime=4.0)
    client = RucioClient(instance(), transport=fake.transport())
    first = await client.auth.token()
    await asyncio.sleep(2.6)  # renewal at half of ~4 s here (80 % or 5 min early in real life)
    second = await client.auth.token()
    assert second != first
    assert len([c for c in fake.calls if c[1].endswith("/auth/userpass")]) == 2
    await client.close()


async def test_wrong_password_says_check_credentials(monkeypatch, fake_rucio):
    monkeypatch.setenv("DATALAKE_TEST_PASSWORD", "wrong-password")
    client = RucioClient(instance(), transport=fake_rucio.transport())
    with pytest.raises(DatalakeError) as info:
        await client.auth.token()
    assert info.value.status == 502 and "check the credentials" in info.value.message
    assert "wrong-password" not in info.value.message
    await client.close()


async def test_oidc_file_reread_when_changed(tmp_path):
    path = tmp_path / "token"
    path.write_text(jwt(time.time() + 600))
    provider = OidcTokenProvider(
        instance(type="oidc", token_file=str(path), account="alice"), "alice", str(path), None
    )
    first = await provider.token()
    assert provider.expires_at is not None
    # Rucio may refuse a new token once (its first uses race to record it): one more try...
    assert await provider.renew(first) == first
    with pytest.raises(DatalakeError) as info:
        await provider.renew(first)  # ...then the same token after a 401: tell the user
    assert info.value.reason == "RUCIO_TOKEN_EXPIRED" and str(path) in info.value.message
    path.write_text(jwt(time.time() + 1200))
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert await provider.token() != first


async def test_oidc_env(monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "tok-123456")
    provider = OidcTokenProvider(
        instance(type="oidc", token_env="MY_TOKEN", account="alice"), "alice", None, "MY_TOKEN"
    )
    assert await provider.token() == "tok-123456"
    monkeypatch.delenv("MY_TOKEN")
    with pytest.raises(DatalakeError, match=r"\$MY_TOKEN"):
        await provider.token()


async def test_env_secrets_are_withheld_from_kernels(monkeypatch):
    # Kernels inherit the server's environment: the shim keeps the token, the environment loses it.
    monkeypatch.setenv("HUB_TOKEN", "tok-withheld-42")
    withhold_env(["HUB_TOKEN", "NOT_SET"])
    assert "HUB_TOKEN" not in os.environ
    provider = OidcTokenProvider(
        instance(type="oidc", token_env="HUB_TOKEN", account="alice"), "alice", None, "HUB_TOKEN"
    )
    assert await provider.token() == "tok-withheld-42"


async def test_nothing_secret_in_repr_or_logs(caplog, fake_rucio):
    caplog.set_level(logging.DEBUG)
    client = RucioClient(instance(), transport=fake_rucio.transport())
    token = await client.auth.token()
    texts = [
        repr(client),
        repr(client.auth),
        str(vars(client.auth)),
        caplog.text,
        repr(Secret(PASSWORD)),
        str(Secret(token)),
    ]
    for text in texts:
        assert PASSWORD not in text and token not in text
    await client.close()


def test_dates_and_jwt():
    parsed = parse_rucio_date("Sat, 22 Nov 2025 04:00:00 UTC")
    assert parsed is not None and parsed.isoformat() == "2025-11-22T04:00:00+00:00"
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry(jwt(1700000000)).timestamp() == 1700000000


def _jwt_of(payload: bytes) -> str:
    return f"eyJhbGciOiJub25lIn0.{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.c2ln"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xc3(",
        # Nested too deep for json.loads (RecursionError), yet a few hundred kB.
        b'{"exp": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["not JSON", "not UTF-8", "nested too deep"],
)
async def test_a_token_whose_claims_cannot_be_read_is_used_as_an_opaque_one(tmp_path, payload):
    token = _jwt_of(payload)
    assert jwt_claims(token) == {} and jwt_expiry(token) is None
    # An OIDC token file holding it: sent as it is, with no known expiry, like "not-a-jwt".
    path = tmp_path / "token"
    path.write_text(token)
    provider = OidcTokenProvider(
        instance(type="oidc", token_file=str(path), account="alice"), "alice", str(path), None
    )
    assert await provider.token() == token
    assert provider.expires_at is None


async def test_x509_missing_proxy_is_explained(tmp_path):
    inst = instance(type="x509_proxy", proxy=str(tmp_path / "missing"), account="alice")
    provider = make_token_provider(inst, None)
    with pytest.raises(DatalakeError, match="voms-proxy-init"):
        await provider.token()
    await provider.close()


def test_an_unreadable_ca_cert_names_the_key_to_fix(tmp_path):
    inst = parse_config([stub_instance(ca_cert=str(tmp_path / "nope.pem"))], None).instances["stub"]
    with pytest.raises(DatalakeError) as info:
        RucioClient(inst)
    assert info.value.reason == "CONFIG" and "fix 'ca_cert'" in info.value.message
