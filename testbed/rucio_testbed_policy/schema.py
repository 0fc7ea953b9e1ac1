"""The generic schema, re-exported so Rucio does not warn about a missing module."""

from rucio.common.schema.generic import *  # noqa: F403
