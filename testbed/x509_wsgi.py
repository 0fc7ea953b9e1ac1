"""Rucio's REST application behind TLS client certificates (the X.509 endpoint).

Rucio's x509 login reads the client's DN from the WSGI environ (`SSL_CLIENT_S_DN`, as Apache's
mod_ssl sets it); gunicorn does not set it, so this wrapper takes it from the verified peer
certificate of the connection. The DN is written in the legacy `/C=../O=../CN=..` form
(mod_ssl's LegacyDNStringFormat), the form Rucio's X509 identities use; for an RFC 3820 proxy the
leaf is the proxy, whose extra `/CN=<number>` Rucio strips itself.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any

from rucio.web.rest.flaskapi.v1.main import application as rucio_application

# OpenSSL's short names, as mod_ssl writes them.
SHORT_NAMES = {
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "commonName": "CN",
    "domainComponent": "DC",
    "emailAddress": "emailAddress",
}


def legacy_dn(subject: Iterable[Iterable[tuple[str, str]]]) -> str:
    """`/C=XX/O=.../CN=alice` from the `subject` of `SSLSocket.getpeercert()`."""
    return "".join(f"/{SHORT_NAMES.get(key, key)}={value}" for rdn in subject for key, value in rdn)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    # Only the TLS layer may say who the client is.
    environ.pop("SSL_CLIENT_S_DN", None)
    sock = environ.get("gunicorn.socket")
    # CERT_OPTIONAL: {} when the client sent no certificate; a bad one fails the handshake.
    cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
    if cert:
        environ["SSL_CLIENT_S_DN"] = legacy_dn(cert["subject"])
    return rucio_application(environ, start_response)
