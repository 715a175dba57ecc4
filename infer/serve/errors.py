"""The one error type of `brushwork serve`'s HTTP layer: raised anywhere in the server, turned into a response
with its status and a one-line message by app.py (never a stack trace or a path of the server's)."""

from __future__ import annotations


class ServeError(Exception):
    """An HTTP error with a one-line message for the client (never a stack trace)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


ECHO_CHARS = 40  # at most this much of a client's value goes back into an error message


def echo(value) -> str:
    """A client's value as it may appear in an error: quoted, and cut to ECHO_CHARS (a field can be long)."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "...")
