"""How results look: plain-text and HTML tables, sizes, and a progress line updated in place.

Rich results carry both ``_repr_html_`` (notebooks) and ``_repr_pretty_`` (terminals, logs), so a
verb's return value is the table: no separate print step, and ``-o NAME`` simply skips the display.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.sizes import format_bytes

_CSS_TABLE = "jp-datalake-table"


def progress_percent(files_ok: int, files_total: int, state: str) -> int:
    """Whole per cent of the files near the hub: rounded down, at most 99 until the state is
    OK, then 100; with no files, 100 if OK else 0."""
    if state == "OK":
        return 100
    if files_total <= 0:
        return 0
    return max(0, min(99, files_ok * 100 // files_total))


def cell(value: Any) -> str:
    """The text shown for one table cell."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A left-aligned fixed-width table."""
    body = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in body
    ]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """An HTML table styled by JupyterLab's own table CSS (plus a class for our stylesheet)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="{_CSS_TABLE}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


class TableResult:
    """Mixin for results shown as a table; subclasses provide ``_table()``."""

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        caption, headers, rows = self._table()
        return html_table(headers, rows, caption)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        caption, headers, rows = self._table()
        printer.text((caption + "\n" if caption else "") + text_table(headers, rows))


@dataclass(frozen=True)
class Progress:
    """How far a staging is: files and bytes near the hub out of the total."""

    files_ok: int
    files_total: int
    bytes_ok: int
    bytes_total: int
    state: str
    label: str = ""
    #: said after the numbers, e.g. " — no file arrived for 13m 20s"
    note: str = ""

    @property
    def percent(self) -> int:
        """Whole per cent done; 100 only when the staging is OK."""
        return progress_percent(self.files_ok, self.files_total, self.state)

    @property
    def done(self) -> bool:
        return self.state == "OK"

    def __str__(self) -> str:
        return (
            f"{self.label + ': ' if self.label else ''}{self.state} {self.percent}% — "
            f"{self.files_ok}/{self.files_total} files, "
            f"{format_bytes(self.bytes_ok)}/{format_bytes(self.bytes_total)}{self.note}"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        label = html.escape(self.label)
        return (
            f'<div class="jp-datalake-progress"><progress max="100" value="{self.percent}">'
            f"</progress> <code>{label}</code> {html.escape(self.state)} {self.percent}% — "
            f"{self.files_ok}/{self.files_total} files, "
            f"{format_bytes(self.bytes_ok)}/{format_bytes(self.bytes_total)}"
            f"{html.escape(self.note)}</div>"
        )


class ProgressView:
    """Shows a ``Progress`` and updates it in place.

    In a kernel (JupyterLab, nbclient, papermill) it uses one display with ``update_display``;
    elsewhere (terminal IPython, scripts) a single line rewritten with a carriage return.
    """

    def __init__(self) -> None:
        self._handle: Any = None
        self._in_kernel = _in_kernel()
        self._last = ""

    def update(self, progress: Progress) -> None:
        if self._in_kernel:
            from IPython.display import display

            if self._handle is None:
                self._handle = display(progress, display_id=True)
            else:
                self._handle.update(progress)
            return
        line = str(progress)
        if line != self._last:
            pad = " " * max(0, len(self._last) - len(line))
            sys.stdout.write("\r" + line + pad)
            sys.stdout.flush()
            self._last = line

    def close(self) -> None:
        if not self._in_kernel and self._last:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._last = ""


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
