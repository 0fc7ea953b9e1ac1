"""Byte sizes in words: the one rule of the product (SI units, as Rucio counts), shared with
src/format.ts through spec/vectors/byte_sizes.json; the shim's sentences and the kernel's
tables both use it.
"""

from __future__ import annotations

import math

UNKNOWN = "–"
SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(size: object) -> str:
    """A size in SI units as Rucio reports them (kB = 1000 B): ``999 B``, ``1.00 kB``,
    ``3.44 MB``, ``12.3 GB`` (2 decimals below 10, else 1); an en dash (UNKNOWN) when unknown.

    Whole numbers throughout, so every language rounds alike (src/format.ts).
    """
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        return UNKNOWN
    if not math.isfinite(size) or size < 0:
        return UNKNOWN
    whole = round_half_up(size)
    if whole < 1000:
        return f"{whole} B"
    power = 1
    while True:
        # The unit whose rounded value stays below 1000 (999.96 kB is 1.00 MB).
        unit = SIZE_UNITS[power]
        hundredths = _rounded(whole, 1000**power // 100)
        if hundredths < 1000:
            return f"{hundredths // 100}.{hundredths % 100:02d} {unit}"
        tenths = _rounded(whole, 1000**power // 10)
        if tenths < 10000 or power == len(SIZE_UNITS) - 1:
            return f"{tenths // 10}.{tenths % 10} {unit}"
        power += 1


def round_half_up(value: float) -> int:
    """The nearest whole number, halves up (``round()`` would round 2.5 to 2, JavaScript to 3)."""
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def _rounded(value: int, step: int) -> int:
    """``value / step`` rounded half up (``step`` is even)."""
    return (value + step // 2) // step
