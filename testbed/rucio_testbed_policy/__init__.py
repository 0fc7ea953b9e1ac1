"""Rucio policy package for the local testbed.

Only the permission module is customised; Rucio falls back to the generic schema and
algorithms for everything this package does not define.
"""

SUPPORTED_VERSION = ">=41,<42"
