"""Rucio policy package for the local testbed.

Only the permission module is customised; Rucio falls back to the generic schema and
algorithms for everything this package does not define. Importing it also makes the process's
SQLite write transactions begin IMMEDIATE (sqlite_locking.py): every server-side Rucio process
imports this package before it opens the database.
"""

import sqlite_locking  # noqa: F401

SUPPORTED_VERSION = ">=41,<42"


def _identity_pfn2lfn(parsed_pfn: dict[str, str]) -> tuple[str, str]:
    """(name, scope) of a PFN made by the ``identity`` lfn2pfn the testbed's RSEs use, which
    writes ``user.alice:f`` as ``user/alice/f``. Rucio's default reads the first directory as the
    scope (right for its hashed layout, wrong here), so a suspicious replica declared by PFN
    would be "Unknown replica"."""
    parts = parsed_pfn["path"].strip("/").split("/")
    cut = 2 if parts[0] in ("user", "group") and len(parts) >= 2 else 1
    return "/".join([*parts[cut:], parsed_pfn["name"]]), ".".join(parts[:cut])


def get_algorithms() -> dict[str, dict[str, object]]:
    return {"pfn2lfn": {"identity": _identity_pfn2lfn}}
