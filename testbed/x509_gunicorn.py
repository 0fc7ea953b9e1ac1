"""gunicorn settings of the X.509 endpoint (identity.sh passes certificate, key, CA, CERT_OPTIONAL).

Grid users log in with RFC 3820 proxy certificates, which OpenSSL refuses unless asked.
"""

import ssl
from collections.abc import Callable


def ssl_context(
    config: object, default_ssl_context_factory: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    context = default_ssl_context_factory()
    context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return context
