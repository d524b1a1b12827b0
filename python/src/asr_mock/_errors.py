"""The package's exceptions."""

from __future__ import annotations

from typing import Optional

__all__ = ["AsrMockError", "AsrMockStartError"]


class AsrMockError(Exception):
    """A control-API call failed.

    Attributes:
        message: the server's own message (its `{"error": "…"}`), or what went wrong on the
            way (the simulator not answering, with its last log lines).
        status: the HTTP status of the refusal (400, 404, 409, …), or None when no answer
            came.
        method, path: the call that failed.
    """

    def __init__(self, message: str, *, status: Optional[int] = None, method: str = "", path: str = "") -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        where = f"{method} {path}".strip()
        prefix = f"{where}: " if where else ""
        shown = f"{prefix}{status} {message}" if status is not None else f"{prefix}{message}"
        super().__init__(shown)


class AsrMockStartError(AsrMockError):
    """The simulator did not start: its exit code and its own message (a bad setting, a
    port in use, an unreadable file) are in `message`."""
