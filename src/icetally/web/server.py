"""Running the app under uvicorn with limits on slow and idle clients (issue #13).

uvicorn closes a keep-alive connection left idle after a response (5 s), but nothing
else: a client that connects and sends nothing, or sends its request line and then a
header byte every few seconds ("slowloris"), holds a connection, and a coroutine, for
as long as it likes, and a few hundred such clients starve the server. Here:

- ``client_timeout`` seconds for a request's headers to arrive in full, counted from
  the connection (or from the previous response): past it the connection gets
  ``408 Request Timeout`` and is closed;
- the same time for a request body to arrive (``POST /api/check``: web/api.py
  ``read_body`` answers a 408 problem);
- ``max_connections`` at once (uvicorn's ``limit_concurrency``): beyond them a new
  request gets ``503`` at once instead of waiting in a queue.

    from icetally.web.server import run
    run(create_app("ice.duckdb"), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from icetally.web.service import CLIENT_TIMEOUT_ENV, DEFAULT_CLIENT_TIMEOUT, client_timeout

DEFAULT_MAX_CONNECTIONS = 256

_BODY = b"the request did not arrive in time\n"
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


def _timed(base: type) -> type:
    """``base`` (a uvicorn HTTP protocol) with a deadline for each request's headers."""

    class Timed(base):  # type: ignore[misc, valid-type]
        _deadline: asyncio.TimerHandle | None = None
        _waiting_since_cycle: Any = None

        def _arm(self) -> None:
            self._disarm()
            # the request whose headers are awaited comes after the current cycle
            self._waiting_since_cycle = self.cycle
            self._deadline = self.loop.call_later(client_timeout(), self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing() or self.cycle is not self._waiting_since_cycle:
                return  # closed, or a request has arrived since (its body has its own limit)
            busy = self.cycle is not None and not self.cycle.response_complete
            if not busy:
                self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._deadline is not None and self.cycle is not self._waiting_since_cycle:
                self._disarm()  # the headers are in: a new request/response cycle began

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request's headers, on this keep-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    Timed.__name__ = Timed.__qualname__ = f"Timed{base.__name__}"
    return Timed


TimedH11Protocol = _timed(H11Protocol)
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    TimedHttpToolsProtocol: type | None = _timed(HttpToolsProtocol)
except ImportError:  # httptools is optional in uvicorn
    TimedHttpToolsProtocol = None

PROTOCOL = (
    "icetally.web.server:TimedHttpToolsProtocol"
    if TimedHttpToolsProtocol is not None
    else "icetally.web.server:TimedH11Protocol"
)


def run(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    client_timeout_s: float = DEFAULT_CLIENT_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    **uvicorn_options: Any,
) -> None:
    """``uvicorn.run`` with the limits above. ``app`` is an app, or with ``workers`` > 1
    an import string (``factory=True`` in ``uvicorn_options`` for a factory)."""
    import uvicorn

    os.environ[CLIENT_TIMEOUT_ENV] = str(client_timeout_s)  # the workers read it too
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        http=PROTOCOL,
        limit_concurrency=max_connections,
        timeout_keep_alive=min(5, max(1, int(client_timeout_s))),
        **uvicorn_options,
    )
