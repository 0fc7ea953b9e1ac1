"""Notebook variables for DIDs: the name a DID gets, and which names may be bound at all."""

from __future__ import annotations

import keyword
import re


def is_variable_name(name: object) -> bool:
    """True for a name Python can bind: an identifier that is not a keyword."""
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def variable_for(did: str) -> str:
    """A variable name from a DID's name: ``demo:lofar-obs-sb000`` → ``lofar_obs_sb000``."""
    base = did.partition(":")[2] or did
    base = base.rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"\W", "_", base) or "data"
    if name[0].isdigit():
        name = "_" + name
    return name + "_" if keyword.iskeyword(name) else name
