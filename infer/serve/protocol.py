"""The HTTP connection as `brushwork serve` runs it: uvicorn's h11 protocol with a deadline on the request head.

uvicorn waits for a request's headers without end, so sockets that open and send nothing (or a byte now and then)
stay open for as long as their client likes: 50 such sockets and an idle one were still open after minutes. Here a
connection whose first request head has not arrived within HEADER_S is closed. The body has its own pace rules
(uploads.py); idle keep-alive connections close after uvicorn's --timeout-keep-alive.
"""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_S = 10.0


class Protocol(H11Protocol):
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_deadline = self.loop.call_later(HEADER_S, self._close_if_headless)

    def connection_lost(self, exc) -> None:
        self._head_deadline.cancel()
        super().connection_lost(exc)

    def _close_if_headless(self) -> None:
        if self.cycle is None and not self.transport.is_closing():  # not one whole request head yet
            self.transport.close()
