"""ASGI middlewares that keep one request from hurting the others.

* ``CatchAllMiddleware``: an unexpected exception becomes the usual JSON error body (or
  the HTML error page) with status 500, and is *not* re-raised. Starlette's own
  last-resort handler answers and then re-raises, and uvicorn closes the connection when
  an application raises: the client's next request on that keep-alive connection got no
  answer at all. Here the connection stays usable.
* ``MethodsMiddleware``: ``OPTIONS`` answers 204 with the path's real ``Allow`` header,
  and a 405 lists every method the path has (Starlette names only the first route's).
* ``RateLimitMiddleware``: a token bucket per client address for clients that do not
  send the API key (429 with ``Retry-After`` when empty).
* ``BodySizeLimitMiddleware``: a declared ``Content-Length`` over the limit is answered
  with 413 before any byte of the body is read; a body without one (chunked) is counted
  while it streams in and cut off as soon as it passes the limit, so a client cannot make
  the server buffer an unbounded body; and the whole body must arrive in time (408).

Their errors are answered like every other (``api.http.errors.error_response``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any

from kizuki.api.http.errors import ApiError, error_body, error_response
from kizuki.corpus.settings import Settings
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:  # recent FastAPI nests included routers: its own walk gives the plain routes
    from fastapi.routing import _iter_included_route_candidates
except ImportError:  # older FastAPI: routes are already flat
    _iter_included_route_candidates = None

__all__ = [
    "BodySizeLimitMiddleware",
    "CatchAllMiddleware",
    "HttpMiddleware",
    "MethodsMiddleware",
    "RateLimitMiddleware",
    "TokenBuckets",
    "send_error",
    "send_json",
]

log = logging.getLogger("kizuki.api")

#: Paths that are never rate limited: liveness, static files, the docs' assets.
UNLIMITED_PREFIXES = ("/health", "/static/", "/favicon")


async def send_json(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """The JSON error body, whatever the path (for answers that are never a page's)."""
    body = json.dumps(error_body(code, message), ensure_ascii=True).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """An error answered by a middleware, as every error is (``error_response``): the web
    page's error page for its paths, the JSON error body for everything else."""
    response = error_response(Request(scope, receive), status, code, message, params, None, headers)
    await response(scope, receive, send)


class HttpMiddleware(ABC):
    """An ASGI middleware for HTTP requests (``handle``); anything else (the lifespan)
    passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The middleware's work on one HTTP request."""


class CatchAllMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return  # nothing sensible can follow a started response
            await send_error(
                scope,
                receive,
                send,
                500,
                "internal_error",
                "internal server error; the server log has details",
            )


def _flat_routes(routes: list[Any]) -> list[Any]:
    """The app's routes as plain Starlette routes (recent FastAPI nests included routers)."""
    if _iter_included_route_candidates is None:
        return list(routes)
    return list(_iter_included_route_candidates(routes))


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """Every method some route accepts at this path (HEAD with GET; OPTIONS always)."""
    methods: set[str] = set()
    for route in _flat_routes(app.router.routes):
        match, _ = route.matches(scope)  # PARTIAL: the path matches, the method does not
        if match == Match.NONE:
            continue
        route_methods = getattr(route, "methods", None)
        methods |= set(route_methods) if route_methods else {"GET", "HEAD"}
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


class MethodsMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        fastapi_app = scope["app"]
        if scope["method"] == "OPTIONS":
            allowed = allowed_methods(fastapi_app, scope)
            if not allowed:
                await send_json(send, 404, "not_found", f"no such endpoint: {scope['path']}")
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"allow", ", ".join(allowed).encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_allow(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                allowed = ", ".join(allowed_methods(fastapi_app, scope)).encode()
                message = {**message, "headers": [*headers, (b"allow", allowed)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)


class TokenBuckets:
    """Per-client token buckets (``rate`` tokens a second, up to ``burst``), bounded in
    number: the least recently seen clients are forgotten first."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when a request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            self._buckets.move_to_end(client)
            while len(self._buckets) > self.MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app)
        self.settings = settings
        per_minute = int(settings.rate_limit_per_minute)
        self.buckets = TokenBuckets(per_minute, settings.rate_limit_burst) if per_minute else None

    def _has_key(self, scope: Scope) -> bool:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        if not key:
            return False
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-api-key":
                given = value.decode("latin-1")
            elif name == b"authorization" and not given:
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    given = token.strip()
        return bool(given) and secrets.compare_digest(
            given.encode("utf-8", "surrogateescape"), key.encode("utf-8")
        )

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.buckets is None
            or scope.get("path", "").startswith(UNLIMITED_PREFIXES)
            or self._has_key(scope)
        ):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.buckets.take(client)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            await send_error(
                scope,
                receive,
                send,
                429,
                "rate_limited",
                f"too many requests from {client}: at most "
                f"{self.settings.rate_limit_per_minute} a minute without the API key; "
                f"retry in {retry} s",
                headers={"Retry-After": str(retry)},
                params={"retry": retry},
            )
            return
        await self.app(scope, receive, send)


# -- request size and time ------------------------------------------------------------


def too_large_message(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


class BodySizeLimitMiddleware(HttpMiddleware):
    """Also bounds how long a client may take to send its *whole* body (``timeout_s`` from
    the end of the headers, however it is split into chunks; 408 after)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(
                        send,
                        400,
                        "bad_request",
                        "invalid Content-Length header",
                        headers={"connection": "close"},
                    )
                    return
        if declared is not None and declared > self.max_bytes:
            await send_error(
                scope,
                receive,
                send,
                413,
                "payload_too_large",
                too_large_message(self.max_bytes),
                params={"limit": f"{self.max_bytes:,} バイト"},
            )
            return

        received = 0
        complete = False
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()  # after the body: waiting for a disconnect is fine
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(receive(), remaining)
            except TimeoutError:
                raise ApiError(
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {self.timeout_s:g} s",
                ) from None
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the route's body read: FastAPI passes HTTP errors through
                    # to our handlers, which answer with the usual JSON error body.
                    raise ApiError(
                        413,
                        "payload_too_large",
                        too_large_message(self.max_bytes),
                        params={"limit": f"{self.max_bytes:,} バイト"},
                    )
            return message

        await self.app(scope, limited_receive, send)
