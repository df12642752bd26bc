"""Connection-level limits for ``kizuki serve``: what uvicorn does not bound by itself.

uvicorn accepts every connection and waits forever for a request's headers, so a client
that opens thousands of connections and sends nothing (or one byte now and then) holds a
file descriptor each until the process runs out and every other client is refused. Here:

* **A connection cap** (``max_connections``): a connection beyond it is answered at once
  with 503 and ``Connection: close`` and closed, before anything is read.
* **A header deadline** (``header_timeout_s``): a connection whose request line and headers
  are not complete within the deadline gets 408 and is closed, whether it is new or a
  kept-alive one starting its next request. (The body has its own deadline, for the whole
  body: ``api.http.middlewares.BodySizeLimitMiddleware``.)
* **Quiet under attack**: refusals and the event loop's own accept errors ("too many open
  files") are logged once per ``LOG_INTERVAL_S`` with a count, never once per connection.
* **Malformed requests** (a raw Japanese query string, say) get the uniform JSON 400 body
  and are closed, like every other refusal here.
* **Descriptors**: the soft limit on open files is raised to the hard limit at start, so the
  cap, not the operating system, is what refuses connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("kizuki.connections")

#: Refusals and accept errors are summarised at most this often (seconds).
LOG_INTERVAL_S = 10.0


class RateLimitedLog:
    """Counts events of one kind and logs them at most once per interval."""

    def __init__(self, what: str, interval: float = LOG_INTERVAL_S) -> None:
        self.what = what
        self.interval = interval
        self._count = 0
        self._last = -interval

    def hit(self, detail: str = "") -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            log.warning(
                "%s: %d since the last report%s",
                self.what,
                self._count,
                f" ({detail})" if detail else "",
            )
            self._count = 0
            self._last = now


def _response(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response with the uniform JSON error body; the connection closes."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode("ascii")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    )
    if status == 503:
        head += "retry-after: 1\r\n"
    return head.encode("ascii") + b"\r\n" + body


def guarded_protocol(max_connections: int, header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the cap and the header deadline (``Config(http=...)``)."""
    refused = RateLimitedLog(f"connections refused over the cap of {max_connections}")
    timed_out = RateLimitedLog(
        f"connections closed: headers not complete within {header_timeout_s:g} s"
    )
    busy = _response(
        503, "Service Unavailable", "server_busy", "too many open connections; retry shortly"
    )
    late = _response(
        408,
        "Request Timeout",
        "request_timeout",
        f"the request headers did not arrive within {header_timeout_s:g} s",
    )

    malformed = _response(
        400,
        "Bad Request",
        "invalid_http",
        "the request line or headers are not valid HTTP/1.1; a URL must be ASCII, with any "
        "other character (Japanese text in a query string, say) percent-encoded as UTF-8",
    )

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def send_400_response(self, msg: str) -> None:
            """A request h11 cannot parse gets the uniform JSON error body, not uvicorn's
            plain text; the commonest is a URL with raw (not percent-encoded) non-ASCII
            characters, such as a Japanese query string pasted as it is."""
            self.transport.write(malformed)
            self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                refused.hit()
                transport.write(busy)
                transport.close()
                return
            self._await_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.transport.is_closing():
                self._stop_header_timer()
            elif self.conn.their_state is h11.IDLE:
                self._await_headers()  # still waiting for (the rest of) the headers
            else:
                self._stop_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # A pipelined next request that is still incomplete: the deadline applies to
            # it now (an idle kept-alive connection is closed by the keep-alive timeout).
            if (
                not self.transport.is_closing()
                and self.conn.their_state is h11.IDLE
                and self.conn.trailing_data[0]
            ):
                self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            timed_out.hit()
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(late)
            self.transport.close()

    return GuardedH11Protocol


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log the loop's accept errors (e.g. EMFILE) once per interval, not per connection."""
    accept = RateLimitedLog("socket.accept() failed")
    default = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if "accept" in message or isinstance(context.get("exception"), OSError):
            accept.hit(f"{message}: {context.get('exception')}")
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit; the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
