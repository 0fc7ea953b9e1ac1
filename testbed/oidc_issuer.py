"""The testbed's OpenID Connect issuer: RS256 access tokens that Rucio validates itself.

A stand-in for an IdP such as INDIGO IAM, as small as Rucio's stock `validate_jwt` path allows:
https on 127.0.0.1 with a certificate from the testbed CA (pki.sh), discovery
(`/.well-known/openid-configuration`), the signing key as JWKS (`/jwks`), and a token endpoint.
Rucio fetches discovery and JWKS (through pyoidc, which insists on https) and checks the signature,
`exp`, `aud` and `scope` of each token; the identity `SUB=<user>, ISS=<issuer URL>` maps it to an
account (seed_identities.py).

There is no interactive login: the hub checks the user's password and then, as the trusted client
`jupyterhub`, asks `POST /token` (HTTP Basic client credentials, `grant_type=client_credentials`,
`username=<user>`, optional `audience` and `scope` as IAM accepts them) for that user's token.
Refreshing is asking again. Tokens live `TESTBED_TOKEN_LIFETIME` seconds (default 600).

Files (created on first start, mode 0600): `<testbed>/oidc/signing-key.pem` (RSA key) and
`<testbed>/oidc/clients.json` (`{"jupyterhub": secret, "rucio": secret}`).
Usage: `oidc_issuer.py TESTBED_DIR PORT` (the testbed venv's Python; stops on SIGTERM/SIGINT).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from users import USERS

HUB_CLIENT = "jupyterhub"
RUCIO_CLIENT = "rucio"
DEFAULT_AUDIENCE = "rucio"
DEFAULT_SCOPE = "openid profile"
DEFAULT_LIFETIME = 600
# A token request is a few hundred bytes; refuse anything that is not.
MAX_BODY = 8192


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def issuer_url(port: int) -> str:
    return f"https://127.0.0.1:{port}"


def token_lifetime() -> int:
    raw = os.environ.get("TESTBED_TOKEN_LIFETIME", str(DEFAULT_LIFETIME))
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"TESTBED_TOKEN_LIFETIME must be a positive number of seconds, not {raw!r}")
    return int(raw)


def ensure_clients(tb: Path) -> dict[str, str]:
    """Client id -> secret, generated on first use (the hub's and Rucio's registrations)."""
    path = tb / "oidc" / "clients.json"
    if not path.exists():
        clients = {HUB_CLIENT: secrets.token_urlsafe(24), RUCIO_CLIENT: secrets.token_urlsafe(24)}
        write_private(path, json.dumps(clients, indent=2).encode() + b"\n")
    return json.loads(path.read_text())


def ensure_signing_key(tb: Path) -> rsa.RSAPrivateKey:
    path = tb / "oidc" / "signing-key.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        sys.exit(f"{path} is not an RSA key; delete it to make a new one")
    return key


@dataclass(frozen=True)
class Signer:
    """RS256 signing with one key, published as a JWK whose kid is its RFC 7638 thumbprint."""

    key: rsa.RSAPrivateKey

    @property
    def public_jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        # RFC 7638: the required members, sorted, no whitespace.
        essential = {"e": b64url_uint(numbers.e), "kty": "RSA", "n": b64url_uint(numbers.n)}
        thumbprint = hashlib.sha256(json.dumps(essential, separators=(",", ":")).encode())
        return {**essential, "use": "sig", "alg": "RS256", "kid": b64url(thumbprint.digest())}

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.public_jwk["kid"]}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


def access_token_claims(
    issuer: str,
    subject: str,
    lifetime: int,
    audience: str = DEFAULT_AUDIENCE,
    scope: str = DEFAULT_SCOPE,
    now: float | None = None,
) -> dict[str, Any]:
    issued = int(time.time() if now is None else now)
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "scope": scope,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "jti": str(uuid.uuid4()),
        "client_id": HUB_CLIENT,
    }


@dataclass(frozen=True)
class Issuer:
    url: str
    signer: Signer
    clients: dict[str, str]
    lifetime: int

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            # Required by OpenID discovery; there is no interactive login here (see /authorize).
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["iss", "sub", "aud", "scope", "exp", "iat", "nbf", "jti"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.signer.public_jwk]}

    def client_id(self, authorization: str | None) -> str | None:
        """The client that HTTP Basic `authorization` proves to be, or None."""
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
        except ValueError:
            return None
        client, _, secret = decoded.partition(":")
        expected = self.clients.get(client)
        if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            return None
        return client

    def token_response(self, client: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """(status, body) for a token request by an authenticated client."""
        if form.get("grant_type") != "client_credentials":
            return 400, oauth_error("unsupported_grant_type", "Use grant_type=client_credentials.")
        if client != HUB_CLIENT:
            return 400, oauth_error(
                "unauthorized_client", f"Only the {HUB_CLIENT} client may ask for user tokens."
            )
        user = form.get("username", "")
        if user not in USERS:
            return 400, oauth_error(
                "invalid_grant", f"Unknown user {user!r}; known: {', '.join(USERS)}."
            )
        audience = form.get("audience") or DEFAULT_AUDIENCE
        scope = form.get("scope") or DEFAULT_SCOPE
        claims = access_token_claims(self.url, user, self.lifetime, audience, scope)
        return 200, {
            "access_token": self.signer.sign(claims),
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": scope,
        }


def oauth_error(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description}


def load_issuer(tb: Path, port: int) -> Issuer:
    return Issuer(
        url=issuer_url(port),
        signer=Signer(ensure_signing_key(tb)),
        clients=ensure_clients(tb),
        lifetime=token_lifetime(),
    )


def make_handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Socket timeout for the TLS handshake and the request: a stalled client costs one
        # thread for at most this long.
        timeout = 10
        server_version = "testbed-oidc"

        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self.reply(200, issuer.discovery())
            elif self.path == "/jwks":
                self.reply(200, issuer.jwks())
            elif self.path.startswith("/authorize"):
                self.reply(
                    400,
                    oauth_error(
                        "unsupported_response_type",
                        "The testbed issuer has no interactive login: log in to the hub.",
                    ),
                )
            else:
                self.reply(404, oauth_error("not_found", f"No such endpoint: {self.path}"))

        def do_POST(self) -> None:
            if self.path != "/token":
                self.reply(404, oauth_error("not_found", f"No such endpoint: {self.path}"))
                return
            length = self.headers.get("Content-Length", "")
            if not length.isdigit() or int(length) > MAX_BODY:
                self.reply(400, oauth_error("invalid_request", "Send a short form body."))
                return
            body = self.rfile.read(int(length)).decode(errors="replace")
            form = {k: v[0] for k, v in parse_qs(body).items()}
            client = issuer.client_id(self.headers.get("Authorization"))
            if client is None:
                self.reply(
                    401,
                    oauth_error(
                        "invalid_client", "Authenticate with HTTP Basic client credentials."
                    ),
                    {"WWW-Authenticate": 'Basic realm="testbed-oidc"'},
                )
                return
            self.reply(*issuer.token_response(client, form))

        def reply(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def serve(tb: Path, port: int) -> None:
    issuer = load_issuer(tb, port)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tb / "pki" / "server.pem", tb / "pki" / "server-key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(issuer))
    server.daemon_threads = True
    # The handshake happens on the first read, in the request's thread, under its timeout:
    # a client that never speaks TLS cannot block the accept loop.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"testbed-oidc: {issuer.url} (tokens live {issuer.lifetime} s)", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]).resolve(), int(sys.argv[2]))
