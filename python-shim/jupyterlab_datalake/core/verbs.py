"""The service's verbs as the shim serves them: the one list the routes and every channel read.

A verb is a ``DatalakeService`` method of the same name. Its ``params`` are the method's arguments
in order; a parameter named in the route (``{rule_id}``) travels in the path, the others in the
query string (GET, DELETE) or a JSON body (POST, PATCH). Every verb but ``instances`` also takes
``instance``. Adding a verb: a service method, a line here, then ``src/api.ts`` (CONTRIBUTING.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .staging import RULE_ID_PATTERN, parse_rule_id

# Path parameters, the pattern of the routes and the check of the HTTP channel.
PATH_PARAMS = {"rule_id": (RULE_ID_PATTERN, parse_rule_id)}


@dataclass(frozen=True)
class Verb:
    name: str
    method: str
    route: str
    params: tuple[str, ...] = ()
    #: query arguments a route refuses to go without (400 ``MISSING_ARGUMENT``)
    required: tuple[str, ...] = ()
    #: answered as NDJSON, one line per item
    stream: bool = False
    per_instance: bool = True

    @property
    def in_body(self) -> bool:
        return self.method in ("POST", "PATCH")

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if "{" + p + "}" in self.route)

    @property
    def data_params(self) -> tuple[str, ...]:
        """The parameters sent in the query string or the body."""
        return tuple(p for p in self.params if p not in self.path_params)

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments of a call by name, as the service method would bind them."""
        if len(args) > len(self.params):
            raise TypeError(f"{self.name}() takes at most {len(self.params)} arguments")
        unknown = set(kwargs) - set(self.params)
        if unknown:
            raise TypeError(f"{self.name}() got unexpected arguments {sorted(unknown)}")
        bound = dict(zip(self.params, args, strict=False))
        twice = set(bound) & set(kwargs)
        if twice:
            raise TypeError(f"{self.name}() got {sorted(twice)} twice")
        return {**bound, **kwargs}

    def path(self, arguments: Mapping[str, Any]) -> str:
        """The route with its path parameters filled in, each checked by its own rule."""
        path = self.route
        for name in self.path_params:
            path = path.replace("{" + name + "}", PATH_PARAMS[name][1](arguments.get(name)))
        return path

    def pattern(self) -> str:
        """The route as a tornado pattern, path parameters as named groups."""
        return re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>{PATH_PARAMS[m[1]][0]})", self.route)


_DID = ("did",)
_PAGE = ("did", "limit", "cursor")
_LISTING = (*_PAGE, "sort", "position")
_SEARCH = ("did", "type", "filters", "limit", "cursor")
_STAGE = ("dids", "qos", "lifetime", "source_qos", "start_in", "comment")

VERBS: dict[str, Verb] = {
    verb.name: verb
    for verb in (
        Verb("version", "GET", "version", per_instance=False),
        Verb("instances", "GET", "instances", per_instance=False),
        Verb("whoami", "GET", "whoami"),
        Verb("scopes", "GET", "scopes"),
        Verb("search", "GET", "search", _SEARCH, required=_DID),
        Verb("did_info", "GET", "did", _DID, required=_DID),
        Verb("children", "GET", "did/children", _LISTING, required=_DID),
        Verb("files", "GET", "did/files", _LISTING, required=_DID),
        Verb("replicas", "GET", "did/replicas", _DID, required=_DID),
        Verb("did_rules", "GET", "did/rules", _DID, required=_DID),
        Verb("qos", "GET", "qos"),
        Verb("list_stagings", "GET", "stagings", ("fresh",)),
        Verb("stage", "POST", "stagings", _STAGE),
        Verb("preview", "GET", "stagings/preview", ("did", "qos"), required=_DID),
        Verb("wait_stagings", "GET", "stagings/wait", ("rule_ids", "after", "timeout")),
        Verb("get_staging", "GET", "stagings/{rule_id}", ("rule_id",)),
        Verb("extend", "PATCH", "stagings/{rule_id}", ("rule_id", "lifetime")),
        Verb("release", "DELETE", "stagings/{rule_id}", ("rule_id",)),
        Verb("move", "POST", "stagings/{rule_id}/move", ("rule_id", "qos")),
        Verb("paths", "GET", "paths", ("did", "qos"), required=_DID, stream=True),
        Verb("verify", "POST", "verify", ("did", "report"), required=_DID, stream=True),
        Verb(
            "upload", "POST", "uploads", ("paths", "to", "qos", "dataset", "lifetime"), stream=True
        ),
    )
}
