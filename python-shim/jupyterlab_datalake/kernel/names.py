"""Notebook variables for DIDs: the name a DID gets, and which names may be bound at all.

The same rules as ``src/names.ts``, both tested against ``spec/vectors/variable_names.json`` and
``spec/vectors/bindable_names.json``.
"""

from __future__ import annotations

import builtins
import keyword
import re

from ..errors import shown

NAMINGS = ("short", "name", "scope_name")
DEFAULT_NAMING = "name"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Dunder names, and IPython's output and input history (_, __, ___, _7, _i, _ii, _iii, _i7 ...).
_INTERNAL = re.compile(r"__\w*__|_{1,3}|_\d+|_i{1,3}|_i\d+|_[iod]h")
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "display"})
# A file extension the short naming drops (``.h5``, ``.fits``).
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,5}\Z")


def is_bindable(name: object) -> bool:
    """True for a name a kernel may bind without breaking Python or IPython: an ASCII
    identifier, not a keyword, not a name of ``builtins``, not IPython's own."""
    return (
        isinstance(name, str)
        and _IDENTIFIER.fullmatch(name) is not None
        and not keyword.iskeyword(name)
        and _INTERNAL.fullmatch(name) is None
        and name not in _IPYTHON_NAMES
        and not hasattr(builtins, name)
    )


def not_bindable(name: object) -> str:
    """The sentence for a name ``is_bindable`` refuses."""
    return (
        f"{shown(name)} is not a valid Python variable name to bind: use letters, digits and _ "
        "(not starting with a digit), and not a keyword or a name Python or IPython needs "
        "(such as list, print, In, Out, _1 or __builtins__)."
    )


def _identifier(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "data"
    if name[0].isdigit():
        name = "d_" + name  # never "_2020": that is IPython's output history
    return name if is_bindable(name) else name + "_"


def variable_name(did: str, naming: str = DEFAULT_NAMING) -> str:
    """A bindable variable name for a DID: with ``demo:lofar-obs-sb001``, ``name`` (the last path
    segment of the name) gives ``lofar_obs_sb001``, ``scope_name`` ``demo_lofar_obs_sb001`` and
    ``short`` (its last word) ``sb001``."""
    scope, sep, name = did.partition(":")
    if not sep:
        scope, name = "", did
    segments = [part for part in name.split("/") if part]
    last = segments[-1] if segments else ""
    if naming == "name":
        return _identifier(last)
    if naming == "scope_name":
        return _identifier(f"{scope}_{last}")
    if naming != "short":
        raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, not {naming!r}")
    # The last word without a file extension; a number keeps the word before it (run-2 → run_2).
    words = [w for w in re.split(r"[-./]+", _EXTENSION.sub("", "/".join(segments))) if w]
    if not words:
        return _identifier(last)
    short = words[-1]
    if re.fullmatch(r"[0-9]+", short) and len(words) > 1:
        short = f"{words[-2]}_{short}"
    return _identifier(short)
