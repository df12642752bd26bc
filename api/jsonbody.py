"""The one way a JSON request body is parsed, for every endpoint.

``parse_json`` decodes strict UTF-8, measures how deeply the body nests *before* parsing
it (so 100,000 nested arrays are refused in a few milliseconds instead of exhausting the
interpreter's recursion limit), parses it, and refuses text that cannot be handled:
lone surrogates (``"\\ud800"`` is valid JSON but not text) anywhere, in keys or values.
Control characters in a field are refused by the models, which name the field.

``JsonRoute`` makes FastAPI's own body parsing (pydantic-typed bodies) and endpoints that
read ``await request.json()`` (``POST /cases``) both go through ``parse_json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.errors import ApiError
from corpus.schema import text_problem

#: Used when no settings are at hand.
DEFAULT_MAX_DEPTH = 32

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets in strings ignored)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """JSON bytes → Python value, or an ``ApiError`` (400 malformed or too deep, 422 text)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not UTF-8 (byte {exc.start}: {exc.reason})"
        ) from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise ApiError(
            400,
            "json_too_deep",
            f"the JSON body nests {depth} levels deep; the limit is {max_depth}",
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"invalid JSON body: {exc}") from None
    except RecursionError:  # not reachable below the depth limit; kept as a backstop
        raise ApiError(400, "json_too_deep", "the JSON body nests too deeply") from None
    problem = _surrogate(value, "")
    if problem:
        raise ApiError(422, "invalid_text", problem)
    return value


def _surrogate(value: Any, where: str) -> str | None:
    """The first string (key or value) holding a lone surrogate, as ``field: problem``."""
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return f"{path or 'body'}: {text_problem(item)}"
        elif isinstance(item, dict):
            for key, child in item.items():
                if _has_surrogate(key):
                    return f"{path or 'body'}: a key {text_problem(key)}"
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def max_depth_of(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "max_json_depth", DEFAULT_MAX_DEPTH)


class CheckedJsonRequest(Request):
    """A request whose ``json()`` is ``parse_json`` (depth limit, clean text)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body(), max_depth_of(self))
        return self._json


class JsonRoute(APIRoute):
    """Every API route: bodies parsed by ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(CheckedJsonRequest(request.scope, request.receive))

        return checked
