"""Rucio policy package for the local testbed.

Only the permission module is customised; Rucio falls back to the generic schema and
algorithms for everything this package does not define. Importing it also makes the process's
SQLite write transactions begin IMMEDIATE (sqlite_locking.py): every server-side Rucio process
imports this package before it opens the database.
"""

import sqlite_locking  # noqa: F401

SUPPORTED_VERSION = ">=41,<42"
