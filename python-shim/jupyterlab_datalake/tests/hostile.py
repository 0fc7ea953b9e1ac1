"""The hostile matrix: every route of the shim x every field a caller fills x hostile values.

A hostile value is a caller's mistake (or an attack): the answer must be a 4xx with a short
sentence, never a 5xx, a traceback or the value echoed whole, and Rucio's rules must be exactly
as before. The one field that takes free text, a staging's ``comment``, accepts printable text:
there the answer is a staging whose comment is that text, and nothing else changes.
Used by tests/server (against the in-memory Rucio) and tests/integration (the testbed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jupyterlab_datalake.core.did import parse_search
from jupyterlab_datalake.core.staging import TAG
from jupyterlab_datalake.errors import DatalakeError

MB10 = "x" * 10_000_000
# Long enough to overflow every field, short enough for a URL (tornado reads 64 kB of headers).
KB50 = "y" * 50_000
TEXTS = [
    '"',
    "'",
    "\\",
    "a\nb",
    "\r\n",
    "\x00",
    "..",
    "../../etc/passwd",
    "%2e%2e",
    "/",
    "demo:lofar-obs/meta",
    "..:dids/demo/lofar-obs",
    "é",
    "😀",
    "NaN",
    "Infinity",
    "1e999",
    "9" * 400,
    str(2**63),
    "-1",
    "<script>alert(1)</script>",
]
# Metadata filters: JSON objects Rucio cannot take.
FILTERS = [
    '{"run_number": NaN}',
    '{"run_number.gt": Infinity}',
    '{"run_number": 1e999}',
    '{"run_number.lt": ' + "9" * 400 + "}",
    '{"' + "k" * 10_000 + '": 1}',
    '{"datatype": "' + "v" * 10_000 + '"}',
    '{"datatype": ["RAW"]}',
    '{"datatype": {"$ne": 1}}',
    '{"name": "*"}',
    '{"x; DROP TABLE dids": 1}',
    "[" * 15_000,  # 45 kB once percent-encoded
]
# A JSON body may also carry numbers a query string cannot.
NUMBERS = [float("nan"), float("inf"), -float("inf"), 10**400, 2**63, -(2**63), 1.5]
RULE = "{rule}"  # replaced by a rule id the test made


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    base: dict[str, Any]  # valid arguments; one field at a time is made hostile
    fields: tuple[str, ...]

    @property
    def in_body(self) -> bool:
        return self.method in ("POST", "PATCH")


ROUTES = [
    Route("GET", "whoami", {}, ("instance",)),
    Route("GET", "scopes", {}, ("instance",)),
    Route(
        "GET",
        "search",
        {"did": "demo:*"},
        ("did", "type", "filters", "limit", "cursor", "instance"),
    ),
    Route("GET", "did", {"did": "demo:lofar-obs-sb000"}, ("did", "instance")),
    Route(
        "GET",
        "did/children",
        {"did": "demo:lofar-obs"},
        ("did", "limit", "cursor", "sort", "position", "instance"),
    ),
    Route(
        "GET",
        "did/files",
        {"did": "demo:lofar-obs-sb000"},
        ("did", "limit", "cursor", "sort", "position", "instance"),
    ),
    Route("GET", "did/replicas", {"did": "demo:lofar-obs-sb000"}, ("did", "instance")),
    Route("GET", "did/rules", {"did": "demo:lofar-obs-sb000"}, ("did", "instance")),
    Route("GET", "qos", {}, ("instance",)),
    Route("GET", "stagings", {}, ("instance",)),
    Route(
        "POST",
        "stagings",
        {"dids": ["demo:lofar-obs-sb001"], "qos": "FAST", "lifetime": 3600},
        ("dids", "qos", "lifetime", "source_qos", "start_in", "comment", "instance"),
    ),
    Route(
        "GET",
        "stagings/preview",
        {"did": "demo:lofar-obs-sb000"},
        ("did", "qos", "instance"),
    ),
    Route("GET", f"stagings/{RULE}", {}, ("rule_id", "instance")),
    Route("PATCH", f"stagings/{RULE}", {"lifetime": 7200}, ("rule_id", "lifetime", "instance")),
    Route("DELETE", f"stagings/{RULE}", {}, ("rule_id", "instance")),
    Route("GET", "paths", {"did": "demo:lofar-obs-sb000"}, ("did", "qos", "instance")),
    Route(
        "POST", f"stagings/{RULE}/move", {"qos": "CHEAP-ANALYSIS"}, ("rule_id", "qos", "instance")
    ),
    Route("POST", "verify", {"did": "demo:lofar-obs-sb000"}, ("did", "report", "instance")),
    Route(
        "POST",
        "uploads",
        {"paths": ["no-such-output.h5"], "to": "user.alice", "qos": "SAFE"},
        ("paths", "to", "qos", "dataset", "lifetime", "instance"),
    ),
]


def values(route: Route, field: str) -> list[Any]:
    """The hostile values for one field of one route."""
    if route.in_body and field != "rule_id":
        found: list[Any] = [*TEXTS, MB10, *NUMBERS, [], {}]
        if route.method == "PATCH" and field == "lifetime":
            found.append(
                None
            )  # "no lifetime" is no extension (a POST without one takes the default)
        if field == "dids":
            found = [[v] for v in found if isinstance(v, str)] + found
        return found
    found = [*TEXTS, KB50, *(FILTERS if field == "filters" else [])]
    if field in route.base or field == "rule_id":
        return found
    # Tornado reads an optional argument of control characters as absent: no mistake at all.
    return [v for v in found if not blank_in_a_query(v)]


def blank_in_a_query(value: str) -> bool:
    return re.sub(r"[\x00-\x08\x0e-\x1f]", " ", value).strip() == ""


def accepted(route: Route, field: str, value: Any) -> bool:
    """The cases that are no mistake: a search of a valid pattern (a bare scope such as
    ``NaN``), a listing's last row (``position=-1``) and text as a staging's comment."""
    if field == "position" and value == "-1":
        return True
    if route.in_body:
        return field == "comment" and staging_comment(value) is not None
    if route.path == "search" and field == "did":
        try:
            parse_search(value)
        except DatalakeError:
            return False
        return True
    return False


def staging_comment(value: Any, instance: str = "stub") -> str | None:
    """The rule comment a staging asked with this ``comment`` in ``instance`` gets; None if it
    is refused."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text and (not text.isprintable() or len(text) > 200):
        return None
    return f"{TAG}@{instance} FAST {text}".strip()


def request(route: Route, field: str, value: Any, rule_id: str) -> tuple[list[str], dict]:
    """The path parts and the jp_fetch keyword arguments of one case."""
    path = route.path.replace(RULE, rule_id)
    if field == "rule_id":
        # One path segment, encoded as a client encodes it (api.ts: encodeURIComponent).
        path = route.path.replace(RULE, quote(value, safe=""))
        arguments = dict(route.base)
    else:
        arguments = {**route.base, field: value}
    kwargs: dict[str, Any] = {"method": route.method}
    if route.in_body:
        kwargs["body"] = json.dumps(arguments)
    else:
        kwargs["params"] = arguments
    return path.split("/"), kwargs


def problem(code: int, text: str, route: Route, field: str, value: Any) -> str | None:
    """What is wrong with one answer, or None."""
    if accepted(route, field, value):
        return None if code in (200, 201) else f"{code}: {text[:200]}"
    if not 400 <= code < 500:
        return f"{code} (not 4xx): {text[:200]}"
    try:
        answer = json.loads(text)
    except ValueError:
        return f"{code} without a JSON body: {text[:200]}"
    message = answer.get("message") or ""
    if not message or not answer.get("reason"):
        return f"{code} without message and reason: {text[:200]}"
    if len(message) > 400 or "Traceback" in text or answer.get("traceback"):
        return f"{code} with a message of {len(message)} characters or a traceback"
    return None


def label(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."
