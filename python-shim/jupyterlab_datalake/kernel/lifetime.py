"""Durations as people type them: ``3600`` (seconds), ``7d``, ``1d12h``, ``2d 3h``, ``1.5h``.

The same rules as ``parseDuration``/``formatDuration`` in ``src/format.ts``, both tested against
``spec/vectors/durations.json``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

from ..core.sizes import round_half_up
from ..errors import DatalakeError, shown

UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# The largest whole number both Python and JavaScript hold exactly.
MAX_SECONDS = 2**53 - 1
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_PART = re.compile(rf"({_NUMBER})([wdhms])")
_PARTS = re.compile(rf"{_NUMBER}[wdhms](?: *{_NUMBER}[wdhms])*")


def _seconds(value: str | float | timedelta) -> float:
    """The seconds ``value`` names, NaN when it names none."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int):
        return float(value) if abs(value) <= MAX_SECONDS else math.inf
    if isinstance(value, float):
        return value
    text = str(value).strip().lower()
    if re.fullmatch(_NUMBER, text):
        return float(text)
    if _PARTS.fullmatch(text):
        return sum(float(n) * UNITS[u] for n, u in _PART.findall(text))
    return math.nan


def parse_duration(value: str | float | timedelta, what: str = "lifetime") -> int:
    """Whole seconds in ``value``: seconds, a ``timedelta`` or text like ``7d``, ``2d 3h``.

    Raises ``DatalakeError`` (400, ``BAD_DURATION``) for anything else, and for what rounds to
    zero, is negative, or is too large to hold.
    """
    seconds = _seconds(value)
    whole = round_half_up(seconds) if math.isfinite(seconds) else 0
    if not 1 <= whole <= MAX_SECONDS:
        raise DatalakeError(
            400,
            f"The {what} {shown(value)} is not understood: give seconds or a duration such as "
            "7d, 12h, 2d 3h or 30m.",
            "BAD_DURATION",
        )
    return whole


def parse_timeout(value: str | float | timedelta) -> float:
    """Seconds to wait: any positive number (``0.5``), or a duration as ``parse_duration``
    reads it; ``DatalakeError`` (400, ``BAD_DURATION``) for NaN, infinity, zero or less."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Compared before any float(): an int of 400 digits does not fit in one.
        if 0 < value <= MAX_SECONDS and math.isfinite(value):
            return float(value)
        raise DatalakeError(
            400,
            f"The timeout {shown(value)} is not understood: give a number of seconds above 0 "
            "or a duration such as 30m or 2h.",
            "BAD_DURATION",
        )
    return parse_duration(value, "timeout")


def format_duration(seconds: float) -> str:
    """The two largest units from the first one not zero, zeros dropped: ``93600`` → ``1d 2h``,
    ``172800`` → ``2d``, ``45`` → ``45s``. ``parse_duration`` reads it back."""
    left = max(0, round_half_up(seconds)) if math.isfinite(seconds) else 0
    counts = []
    for unit in "dhms":
        count, left = divmod(left, UNITS[unit])
        counts.append((count, unit))
    first = next((i for i, (count, _) in enumerate(counts) if count), None)
    if first is None:
        return "0s"
    return " ".join(f"{count}{unit}" for count, unit in counts[first : first + 2] if count)
