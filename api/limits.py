"""Request-size limit as a small ASGI middleware.

A declared ``Content-Length`` over the limit is answered with 413 before any byte of the
body is read; a body without one (chunked) is counted while it streams in and cut off as
soon as it passes the limit, so a client cannot make the server buffer an unbounded body.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_body


def too_large_message(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


class BodySizeLimitMiddleware:
    """Also bounds how long a client may take to send its *whole* body (``timeout_s`` from
    the end of the headers, however it is split into chunks; 408 after)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "bad_request", "invalid Content-Length header")
                    return
        if declared is not None and declared > self.max_bytes:
            from api.guard import send_error

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


async def _send_json(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
