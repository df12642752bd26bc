"""Uniform error bodies: every failure is ``{"error": {"code", "message"}}`` with a 4xx/5xx.

Clients (and the web page) can rely on one shape whatever went wrong: a bad field, an
unknown id, a missing key, a body that is too large, or a bug on our side. Validation
errors keep pydantic's per-field details under ``error.details`` but also get one
readable ``message``.

The runtime's errors are mapped to their status here, in one place: ``InvalidInput`` 422,
``NotFound`` (a ``LookupError``) 404, ``ServiceNotReady`` 503, ``StoreUnavailable`` 503
(507 for a full disk). Every error response, those of the middlewares included, is made by
``error_response``: the JSON body, unless the app has a page error renderer
(``set_page_errors``; the web page registers one for its own paths), which then answers
with an HTML page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from kizuki.api.exceptions import InvalidInput, NotFound, ServiceNotReady
from kizuki.corpus.store import StoreFull, StoreUnavailable
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "ApiError",
    "ErrorJSONResponse",
    "PageErrors",
    "error_body",
    "error_response",
    "install_error_handlers",
    "set_page_errors",
    "validation_details",
    "validation_message",
]

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
        #: What the web page needs to word the error in its language (``api.web.errors``):
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


#: A page's error renderer: ``(request, status, code, message, params, errors)`` → the
#: page's error response, or None when the request is not one of the page's.
PageErrors = Callable[
    [Request, int, str, str, "dict[str, Any] | None", "list[dict[str, Any]] | None"],
    "Response | None",
]


def set_page_errors(app: FastAPI, renderer: PageErrors) -> None:
    """Have ``renderer`` answer the errors of the requests it claims (the web page's)."""
    app.state.page_errors = renderer


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    params: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The answer to a failed request: the page's error page for the page's requests
    (``set_page_errors``), else the JSON error body (``extra`` goes into it)."""
    renderer: PageErrors | None = getattr(request.app.state, "page_errors", None)
    page = renderer(request, status, code, message, params, errors) if renderer else None
    if page is not None:
        for name, value in (headers or {}).items():
            page.headers[name] = value
        return page
    return ErrorJSONResponse(
        error_body(code, message, **extra), status_code=status, headers=headers
    )


#: Where an HTTP client finds the ids of each kind, named when an id is unknown (the CLI
#: names its own commands instead: ``api.cli.graph_cmd``).
_LISTED_AT = {
    "case_not_found": "see GET /cases",
    "cause_not_found": "see GET /causes",
    "countermeasure_not_found": "see GET /countermeasures",
}


def _from_runtime(exc: Exception) -> ApiError:
    """The HTTP form of the runtime's expected failures."""
    if isinstance(exc, InvalidInput):
        return ApiError(422, exc.code, str(exc), params=exc.params)
    if isinstance(exc, NotFound):
        hint = _LISTED_AT.get(exc.code)
        message = f"{exc}; {hint}" if hint else str(exc)
        return ApiError(404, exc.code, message, params={"id": exc.id} if exc.id else None)
    if isinstance(exc, ServiceNotReady):
        return ApiError(503, "starting", "the service is still starting; retry shortly")
    raise TypeError(f"no HTTP form for {type(exc).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so no request ends in a bare traceback or a non-JSON body."""

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
        headers = getattr(exc, "headers", None)
        return error_response(
            request, exc.status_code, code, message, params, None, headers, **extra
        )

    @app.exception_handler(InvalidInput)
    @app.exception_handler(NotFound)
    @app.exception_handler(ServiceNotReady)
    async def _runtime(request: Request, exc: Exception) -> Response:
        return await _http(request, _from_runtime(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(list(exc.errors()))
        if details and all(d["type"] == "json_invalid" for d in details):
            return error_response(request, 400, "invalid_json", details[0]["message"])
        return error_response(
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
            return error_response(
                request,
                507,
                "storage_full",
                "the disk holding the case store is full; nothing was stored. Retry once "
                "the operator has freed space",
                headers={"Retry-After": "60"},
            )
        return error_response(
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
        return error_response(
            request, 500, "internal_error", "internal server error; the server log has details"
        )
