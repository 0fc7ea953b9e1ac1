"""The TLS-serving Rucio endpoint: alice logs in with an RFC 3820 proxy made from the testbed CA."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import LocalTestbed


def x509_login(testbed: LocalTestbed, tls: ssl.SSLContext) -> httpx.Response:
    return httpx.get(f"{testbed.x509_url}/auth/x509_proxy", verify=tls, timeout=30)


def test_alices_proxy_gets_a_token_that_rucio_maps_to_alice(testbed: LocalTestbed) -> None:
    assert testbed.x509_proxy.stat().st_mode & 0o777 == 0o600
    response = x509_login(testbed, testbed.tls(client_cert=testbed.x509_proxy))
    assert response.status_code == 200, response.text
    assert response.headers["X-Rucio-Auth-Account"] == "alice"
    token = response.headers["X-Rucio-Auth-Token"]

    whoami = testbed.whoami(token)
    assert whoami.status_code == 200
    assert whoami.json()["account"] == "alice"


def test_without_a_client_certificate_there_is_no_token(testbed: LocalTestbed) -> None:
    response = x509_login(testbed, testbed.tls())
    assert response.status_code == 401
    assert "X-Rucio-Auth-Token" not in response.headers


def test_a_certificate_from_another_ca_gets_no_connection(
    testbed: LocalTestbed, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Same subject as alice's certificate, but self-signed.
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jupyterlab-datalake testbed"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Users"),
            x509.NameAttribute(NameOID.COMMON_NAME, "alice"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "impostor.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(httpx.HTTPError):
        x509_login(testbed, testbed.tls(client_cert=pem))
