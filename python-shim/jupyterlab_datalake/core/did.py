"""Rucio DID grammar, the same as ``src/did.ts`` (both tested against ``spec/vectors/did.json``)."""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import DatalakeError, shown

SCOPE_RE = re.compile(r"[a-zA-Z_\-.0-9]+")
NAME_RE = re.compile(r"[/A-Za-z0-9][/A-Za-z0-9\.\-_]*")
# Search patterns may also use Rucio's wildcards.
PATTERN_RE = re.compile(r"[/A-Za-z0-9*%][/A-Za-z0-9\.\-_*%]*")
SCOPE_MAX = 25
NAME_MAX = 250
# Rucio's schema allows '/' in names, but its REST server decodes %2F, so a name ending in one of
# its DID sub-resources (GET /dids/s/x/meta is the metadata of s:x) reaches another endpoint and
# answers for another DID. Such names cannot be addressed through Rucio's REST API: refused.
RUCIO_SUBRESOURCES = frozenset(
    {
        "status",
        "meta",
        "dids",
        "files",
        "rules",
        "parents",
        "associated_rules",
        "follow",
        "guid",
        "sample",
    }
)
RUCIO_SUBRESOURCE_PAIRS = frozenset({("dids", "search"), ("dids", "history")})


class DID(NamedTuple):
    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"


def _bad(text: str, why: str) -> DatalakeError:
    return DatalakeError(
        400,
        f"{shown(text)} is not a valid DID: {why}. Write it as scope:name, e.g. demo:lofar-obs.",
        "BAD_DID",
    )


def parse_did(text: object, *, pattern: bool = False) -> DID:
    """Split ``scope:name`` and check both parts; ``pattern`` allows ``*`` and ``%`` in the name."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), "it is empty")
    text = text.strip()
    scope, sep, name = text.partition(":")
    if not sep:
        raise _bad(text, "the ':' between scope and name is missing")
    if not scope or len(scope) > SCOPE_MAX or not SCOPE_RE.fullmatch(scope):
        raise _bad(text, f"the scope must be 1-{SCOPE_MAX} characters of A-Z a-z 0-9 _ - .")
    if not scope.strip("."):
        # Rucio refuses them too: in a URL they would walk up the path.
        raise _bad(text, "a scope cannot be made of dots only")
    name_re = PATTERN_RE if pattern else NAME_RE
    if not name or len(name) > NAME_MAX or not name_re.fullmatch(name):
        allowed = "A-Z a-z 0-9 / . - _" + (" * %" if pattern else "")
        raise _bad(
            text,
            f"the name must be 1-{NAME_MAX} characters of {allowed}, not starting with . - _",
        )
    if not pattern and _routed_elsewhere(name):
        raise _bad(
            text,
            "Rucio's REST API reads a name ending in /meta, /files, /rules, /dids, /status ... "
            "as another request, so it cannot be used here",
        )
    return DID(scope, name)


def _routed_elsewhere(name: str) -> bool:
    """True when Rucio's server would route ``dids/<scope>/<name>`` to a sub-resource."""
    segments = name.split("/")
    return (
        segments[-1] in RUCIO_SUBRESOURCES
        or (len(segments) > 1 and segments[-2] == "meta")
        or tuple(segments[-2:]) in RUCIO_SUBRESOURCE_PAIRS
    )


def parse_search(text: object) -> DID:
    """A search: ``scope:pattern`` with ``*``/``%`` wildcards; a bare scope means all of it."""
    scope, _, pattern = (text if isinstance(text, str) else "").strip().partition(":")
    return parse_did(f"{scope}:{pattern or '*'}", pattern=True)


def is_valid_did(text: object) -> bool:
    try:
        parse_did(text)
    except DatalakeError:
        return False
    return True
