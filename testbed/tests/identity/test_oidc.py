"""The testbed issuer's tokens against the real Rucio server: its stock `validate_jwt` decides."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import LocalTestbed
from oidc_issuer import Signer, access_token_claims, ensure_signing_key


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header_of(token: str) -> dict:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


def token_for(testbed: LocalTestbed, user: str, **extra: str) -> str:
    response = testbed.issue_token(user, **extra)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_discovery_names_the_issuer_and_publishes_the_signing_key(testbed: LocalTestbed) -> None:
    tls = testbed.tls()
    discovery = httpx.get(f"{testbed.oidc_url}/.well-known/openid-configuration", verify=tls)
    assert discovery.status_code == 200
    assert discovery.json()["issuer"] == testbed.oidc_url
    assert discovery.json()["token_endpoint"] == f"{testbed.oidc_url}/token"
    keys = httpx.get(discovery.json()["jwks_uri"], verify=tls).json()["keys"]
    token = token_for(testbed, "alice")
    assert header_of(token)["alg"] == "RS256"
    assert header_of(token)["kid"] in {key["kid"] for key in keys}


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_a_users_token_is_that_users_rucio_account(testbed: LocalTestbed, user: str) -> None:
    response = testbed.issue_token(user)
    assert response.status_code == 200
    body = response.json()
    claims = claims_of(body["access_token"])
    assert claims["sub"] == user
    assert claims["iss"] == testbed.oidc_url
    assert claims["aud"] == "rucio"
    assert {"openid", "profile"} <= set(claims["scope"].split())
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["jti"]

    whoami = testbed.whoami(body["access_token"])
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["account"] == user


def test_a_token_for_another_audience_is_refused(testbed: LocalTestbed) -> None:
    token = token_for(testbed, "alice", audience="not-rucio")
    assert claims_of(token)["aud"] == "not-rucio"
    assert testbed.whoami(token).status_code == 401


def test_a_token_without_the_expected_scope_is_refused(testbed: LocalTestbed) -> None:
    token = token_for(testbed, "alice", scope="openid")
    assert testbed.whoami(token).status_code == 401


def test_a_token_signed_by_another_key_is_refused(testbed: LocalTestbed) -> None:
    genuine = token_for(testbed, "alice")
    header_and_claims = genuine.rsplit(".", 1)[0]
    # Same header (kid) and claims, signed by a key the issuer never published.
    stranger = Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    forged_signature = stranger.sign(claims_of(genuine)).rsplit(".", 1)[1]
    forged = f"{header_and_claims}.{forged_signature}"

    assert testbed.whoami(forged).status_code == 401
    assert testbed.whoami(genuine).status_code == 200


def test_an_expired_token_is_refused(testbed: LocalTestbed) -> None:
    issuer_key = Signer(ensure_signing_key(testbed.dir))
    claims = access_token_claims(testbed.oidc_url, "alice", lifetime=600, now=time.time() - 3600)
    assert testbed.whoami(issuer_key.sign(claims)).status_code == 401
    # The same key and claims, only current, are accepted: expiry alone made the difference.
    fresh = access_token_claims(testbed.oidc_url, "alice", lifetime=600)
    assert testbed.whoami(issuer_key.sign(fresh)).status_code == 200


def test_the_issuer_refuses_unknown_clients_and_users(testbed: LocalTestbed) -> None:
    wrong_secret = httpx.post(
        f"{testbed.oidc_url}/token",
        data={"grant_type": "client_credentials", "username": "alice"},
        auth=("jupyterhub", "not-the-secret"),
        verify=testbed.tls(),
    )
    assert wrong_secret.status_code == 401
    assert "access_token" not in wrong_secret.json()
    unknown_user = testbed.issue_token("mallory")
    assert unknown_user.status_code == 400
    assert unknown_user.json()["error"] == "invalid_grant"


def test_keys_and_secrets_are_private(testbed: LocalTestbed) -> None:
    private = [
        "oidc/signing-key.pem",
        "oidc/clients.json",
        "etc/idpsecrets.json",
        "pki/ca-key.pem",
        "pki/server-key.pem",
        "x509/alice-key.pem",
    ]
    for name in private:
        assert (testbed.dir / name).stat().st_mode & 0o777 == 0o600, name
