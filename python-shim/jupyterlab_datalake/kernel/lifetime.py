"""Durations as people type them: ``7d``, ``2h``, ``1d12h``, ``90m``, ``3600`` (seconds)."""

from __future__ import annotations

import re
from datetime import timedelta

from ..errors import DatalakeError

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+")


def parse_duration(value: str | float | timedelta, what: str = "lifetime") -> int:
    """Seconds in ``value``: a number of seconds, a ``timedelta`` or text like ``7d``, ``1d12h``.

    Raises ``DatalakeError`` (400, ``BAD_DURATION``) for anything else, zero or negative.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        seconds = -1.0
    elif isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _WHOLE.fullmatch(text):
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
        else:
            seconds = -1.0
    if seconds < 1:
        raise DatalakeError(
            400,
            f"The {what} {value!r} is not understood: give seconds or a duration such as "
            "7d, 12h, 1d12h or 30m.",
            "BAD_DURATION",
        )
    return round(seconds)


def format_duration(seconds: float) -> str:
    """``seconds`` in at most two units, as ``parse_duration`` reads them (``93600`` → ``1d2h``)."""
    left = max(0, round(seconds))
    if left == 0:
        return "0s"
    parts = []
    for unit in "dhms":
        count, left = divmod(left, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])
