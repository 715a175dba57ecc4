"""Who may talk to `brushwork serve`: a Host check, and an optional token.

Host check: a server bound to a loopback address answers only requests whose Host header names this machine
(localhost, 127.0.0.1, ::1), so a web page elsewhere cannot reach it through DNS rebinding; bound to another
address it answers the names in --allowed-host (every name when none is given).

Token (--token): every request must carry it, as `Authorization: Bearer TOKEN` (API clients) or in the cookie that
opening `/?token=TOKEN` once sets (the page). Without a token, anyone who can reach the port can use the server:
with --host 0.0.0.0 that is the whole network. Behind a reverse proxy, let the proxy do TLS and access control.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from urllib.parse import parse_qs

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
COOKIE = "brushwork_token"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Access:
    """ASGI middleware: 400 for a Host the server does not answer, 401 without the token (when one is set)."""

    def __init__(self, app, *, bound: str, allowed_hosts: list[str] | None = None, token: str | None = None):
        self.app, self.token = app, token
        self.state = app.state  # the Starlette app's (app.state.server), reachable through the wrapper
        names = allowed_hosts or (list(LOOPBACK_NAMES) if is_loopback(bound) else None)
        self.allowed = None if names is None else {n.lower().strip("[]") for n in names}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.allowed is not None and host_name(headers.get("host", "")) not in self.allowed:
            return await _answer(send, 400, "this server does not answer for that Host; use http://localhost:PORT/")
        if self.token and not self._authorized(scope, headers):
            return await _answer(send, 401, "this server needs its token: open /?token=TOKEN once, or send "
                                            "'Authorization: Bearer TOKEN'", {"WWW-Authenticate": "Bearer"})
        cookie = self._token_in_query(scope)
        if cookie is None:
            return await self.app(scope, receive, send)

        async def send_with_cookie(message):  # /?token=...: remember it for the page's own requests
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"set-cookie", f"{COOKIE}={cookie}; HttpOnly; "
                                                                           "SameSite=Strict; Path=/".encode())]
            await send(message)

        return await self.app(scope, receive, send_with_cookie)

    def _authorized(self, scope, headers: dict[str, str]) -> bool:
        given = [headers.get("authorization", "").removeprefix("Bearer ").strip(), _cookie(headers, COOKIE),
                 self._token_in_query(scope) or ""]
        return any(g and hmac.compare_digest(g.encode(), self.token.encode()) for g in given)

    def _token_in_query(self, scope) -> str | None:
        if not self.token:
            return None
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return values[0] if values and hmac.compare_digest(values[0].encode(), self.token.encode()) else None


def host_name(header: str) -> str:
    """'localhost:8000' -> 'localhost', '[::1]:8000' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def _cookie(headers: dict[str, str], name: str) -> str:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


async def _answer(send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
