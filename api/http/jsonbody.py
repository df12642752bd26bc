"""The one way a JSON request body is parsed, for every endpoint.

``parse_json`` decodes strict UTF-8, parses with the standard library's C parser, and then
walks the parsed value once (no recursion) to refuse what it cannot handle: nesting deeper
than the limit (the parser itself stops a body of 100,000 nested arrays at the
interpreter's recursion limit, in microseconds), lone surrogates (``"\\ud800"`` is valid
JSON but not text) in keys or values, and integers too long to convert. Every step is
linear in the body's size; nothing scans the raw text with a regular expression (an
earlier bracket counter did, and an unterminated string of escaped quotes made it
quadratic). Bodies above ``THREAD_BYTES`` are parsed on a worker thread, so a large body
never holds the event loop. Control characters in a field are refused by the models,
which name the field.

``JsonRoute`` makes FastAPI's own body parsing (pydantic-typed bodies) and endpoints that
read ``await request.json()`` (``POST /cases``) both go through ``parse_json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from kizuki.api.http.errors import ApiError
from kizuki.corpus.schema import text_problem
from starlette.concurrency import run_in_threadpool

#: Used when no settings are at hand.
DEFAULT_MAX_DEPTH = 32
#: Bodies larger than this are parsed off the event loop (a 2 MB body takes ~20 ms).
THREAD_BYTES = 32_768


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """JSON bytes → Python value, or an ``ApiError`` (400 malformed or too deep, 422 text)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not UTF-8 (byte {exc.start}: {exc.reason})"
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"invalid JSON body: {exc}") from None
    except RecursionError:
        raise ApiError(
            400, "json_too_deep", f"the JSON body nests deeper than the limit of {max_depth}"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ApiError(400, "invalid_json", f"invalid JSON body: {exc}") from None
    _check_value(value, max_depth)
    return value


def _check_value(value: Any, max_depth: int) -> None:
    """One pass over the parsed value: its depth, and the first string (key or value)
    holding a lone surrogate (``field: problem``)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                raise ApiError(422, "invalid_text", f"{path or 'body'}: {text_problem(item)}")
        elif isinstance(item, dict | list):
            depth += 1
            if depth > max_depth:
                raise ApiError(
                    400,
                    "json_too_deep",
                    f"the JSON body nests more than {max_depth} levels deep; "
                    f"the limit is {max_depth}",
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if _has_surrogate(key):
                        raise ApiError(
                            422, "invalid_text", f"{path or 'body'}: a key {text_problem(key)}"
                        )
                    stack.append((child, f"{path}.{key}" if path else key, depth))
            else:
                stack.extend((child, f"{path}[{i}]", depth) for i, child in enumerate(item))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def max_depth_of(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "max_json_depth", DEFAULT_MAX_DEPTH)


async def parse_body(raw: bytes, max_depth: int) -> Any:
    """``parse_json``, on a worker thread when the body is large."""
    if len(raw) > THREAD_BYTES:
        return await run_in_threadpool(parse_json, raw, max_depth)
    return parse_json(raw, max_depth)


class CheckedJsonRequest(Request):
    """A request whose ``json()`` is ``parse_json`` (depth limit, clean text)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = await parse_body(await self.body(), max_depth_of(self))
        return self._json


class JsonRoute(APIRoute):
    """Every API route: bodies parsed by ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(CheckedJsonRequest(request.scope, request.receive))

        return checked
