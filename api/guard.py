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
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body

log = logging.getLogger("kizuki.api")

#: Paths that are never rate limited: liveness, static files, the docs' assets.
UNLIMITED_PREFIXES = ("/health", "/static/", "/favicon")


async def send_json(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
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
    """An error answered by a middleware: the HTML error page (in the page's language) for
    the web page's paths, the JSON error body for everything else."""
    from starlette.requests import Request

    from api.errors import is_web_request

    request = Request(scope, receive)
    if is_web_request(request):
        from api.web import render_error_page

        page = render_error_page(request, status, code, message, params)
        for name, value in (headers or {}).items():
            page.headers[name] = value
        await page(scope, receive, send)
        return
    await send_json(send, status, code, message, headers)


class CatchAllMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
            path = scope.get("path", "")
            if path == "/" or path.startswith("/ui"):
                from starlette.requests import Request

                from api.web import render_error_page

                response = render_error_page(
                    Request(scope, receive),
                    500,
                    "internal_error",
                    "internal server error; the server log has details",
                )
                await response(scope, receive, send)
                return
            await send_json(
                send, 500, "internal_error", "internal server error; the server log has details"
            )


def _flat_routes(routes: list[Any]) -> list[Any]:
    """The app's routes as plain Starlette routes (recent FastAPI nests included routers)."""
    try:
        from fastapi.routing import _iter_included_route_candidates
    except ImportError:  # older FastAPI: routes are already flat
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


class MethodsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.buckets is None
            or scope["type"] != "http"
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
