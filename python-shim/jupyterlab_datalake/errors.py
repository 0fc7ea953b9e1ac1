"""The one exception type the shim raises for anything a user or operator must act on."""

from __future__ import annotations

from typing import Any


class DatalakeError(Exception):
    """An error with an HTTP status, a sentence that says what to do, and a stable reason code.

    Routes turn it into ``{"message", "reason"}``; the kernel client raises it unchanged.
    ``message`` never holds a token, a password or a raw upstream body.
    """

    def __init__(self, status: int, message: str, reason: str = "ERROR") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "reason": self.reason}

    def __repr__(self) -> str:
        return f"DatalakeError({self.status}, {self.message!r}, {self.reason!r})"

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the cell still fails (a batch run stops
        # there), but the user reads only the sentence that says what to do.
        return [f"DatalakeError: {self.message}"]


class ConfigError(ValueError):
    """The extension configuration is invalid; the message names the key to fix."""


SHOWN_MAX = 60


def shown(value: object) -> str:
    """``repr(value)`` cut to a length a sentence can carry: a caller's 10 MB string is never
    sent back in an error message."""
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"
