"""Uniform error bodies: every failure is ``{"error": {"code", "message"}}`` with a 4xx/5xx.

Clients (and the web page) can rely on one shape whatever went wrong: a bad field, an
unknown id, a missing key, a body that is too large, or a bug on our side. Validation
errors keep pydantic's per-field details under ``error.details`` but also get one
readable ``message``. Web page routes get the same information as an HTML page.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from corpus.store import StoreFull, StoreUnavailable

log = logging.getLogger("kizuki.api")


class ApiError(StarletteHTTPException):
    """An expected failure with a machine-readable code, raised anywhere in a request."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.details: list[dict[str, Any]] | None = None
        #: What the web page needs to word the error in its language (``api.web_errors``):
        #: the values in the message, and ``kind`` when the code alone is too general.
        #: Never part of the JSON body.
        self.params: dict[str, Any] = dict(params or {})

    def with_details(self, details: list[dict[str, Any]]) -> ApiError:
        """Attach per-field problems (shown under ``error.details``)."""
        self.details = details
        return self


class ErrorJSONResponse(JSONResponse):
    """Error bodies are ASCII JSON: whatever a client sent, the error can be encoded."""

    def render(self, content: Any) -> bytes:
        import json

        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _default_code(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _location(loc: tuple | list) -> str:
    """``("body", "cases", 3, "event")`` → ``cases[3].event`` (what a person would write)."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")] or list(loc)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "request"


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic errors reduced to JSON-safe ``{field, message, type}`` items."""
    details = []
    for err in errors:
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        ctx = err.get("ctx") or {}
        if err.get("type") == "json_invalid" and ctx.get("error"):
            msg = f"invalid JSON: {ctx['error']}"
        details.append(
            {"field": _location(err.get("loc", ())), "message": msg, "type": err.get("type", "")}
        )
    return details


def validation_message(details: list[dict[str, Any]]) -> str:
    shown = [f"{d['field']}: {d['message']}" for d in details[:5]]
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return "; ".join(shown) + more if shown else "invalid request"


def is_web_request(request: Request) -> bool:
    """Requests of the HTML page get HTML errors; everything else gets JSON."""
    path = request.url.path
    return path == "/" or path.startswith("/ui")


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so no request ends in a bare traceback or a non-JSON body."""

    async def render(
        request: Request,
        status: int,
        code: str,
        message: str,
        params: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ):
        if is_web_request(request):
            from api.web import render_error_page

            page = render_error_page(request, status, code, message, params, errors)
            for name, value in (extra.get("headers") or {}).items():
                page.headers[name] = value
            return page
        headers = extra.pop("headers", None)
        return ErrorJSONResponse(
            error_body(code, message, **extra), status_code=status, headers=headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or _default_code(exc.status_code)
        message = exc.detail if isinstance(exc.detail, str) else _default_code(exc.status_code)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint or page: {request.url.path}"
        if exc.status_code == 405 and message == "Method Not Allowed":
            message = f"method {request.method} is not allowed on {request.url.path}"
        extra: dict[str, Any] = {}
        if getattr(exc, "details", None):
            extra["details"] = exc.details
        params = {"path": request.url.path, "method": request.method}
        params.update(getattr(exc, "params", None) or {})
        return await render(
            request,
            exc.status_code,
            code,
            message,
            params,
            headers=getattr(exc, "headers", None),
            **extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(list(exc.errors()))
        if details and all(d["type"] == "json_invalid" for d in details):
            return await render(request, 400, "invalid_json", details[0]["message"])
        return await render(
            request,
            422,
            "validation_error",
            validation_message(details),
            errors=list(exc.errors()),
            details=details,
        )

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> Response:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        service = getattr(request.app.state, "service", None)
        if service is not None:
            service.store_failed(exc)
        if isinstance(exc, StoreFull):
            return await render(
                request,
                507,
                "storage_full",
                "the disk holding the case store is full; nothing was stored. Retry once "
                "the operator has freed space",
                headers={"Retry-After": "60"},
            )
        return await render(
            request,
            503,
            "store_unavailable",
            "the case store cannot be reached right now; nothing was changed, retry later",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its traceback for the operator; the client gets no internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return await render(
            request, 500, "internal_error", "internal server error; the server log has details"
        )
