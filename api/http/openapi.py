"""The OpenAPI schema states the limits in force (from the settings), not only the defaults.

Pydantic models and route parameters are declared once per process, but the limits are
settings (``KIZUKI_MAX_K`` …); so the generated schema is completed here with the values
of the app's settings: text length and allowed characters, ``k``'s range, the case-id
pattern, page size, offset, graph depth, and the batch size of ``POST /cases``. Requests
are checked against the same values in code.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from kizuki.corpus.schema import (
    CASE_ID_SCHEMA_PATTERN,
    CLEAN_TEXT_SCHEMA_PATTERN,
    MAX_ID_CHARS,
    NONBLANK_TEXT_SCHEMA_PATTERN,
)
from kizuki.corpus.settings import Settings

#: The analyst header's characters (``api.http.routers.feedback``; printable ASCII).
ANALYST_PATTERN = r"^[\x20-\x7e]*$"


def declare_limits(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        _complete(schema, settings)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _tighten(schema: dict, bounds: dict) -> None:
    """Add the server-wide bounds to a parameter's schema, never loosening one its route
    declares itself (``/analytics/paths`` allows 100 paths where a page allows 200)."""
    for key, value in bounds.items():
        if key == "maximum" and "maximum" in schema:
            schema[key] = min(schema[key], value)
        elif key == "minimum" and "minimum" in schema:
            schema[key] = max(schema[key], value)
        else:
            schema[key] = value


def _complete(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.get("components", {}).get("schemas", {})
    search = components.get("SearchRequest", {}).get("properties", {})
    review = components.get("ReviewRequest", {}).get("properties", {})
    for body, text in ((search, "text"), (review, "plan")):
        if text in body:
            body[text].update(
                minLength=1,
                maxLength=settings.max_query_chars,
                pattern=NONBLANK_TEXT_SCHEMA_PATTERN,
            )
        if "k" in body:
            body["k"].update(minimum=1, maximum=settings.max_k)
    for name in ("sectors", "themes"):
        field = search.get(name, {})
        for option in field.get("anyOf", [field]):
            if option.get("type") == "array":
                option.setdefault("items", {}).update(pattern=NONBLANK_TEXT_SCHEMA_PATTERN)

    feedback = components.get("FeedbackRequest", {}).get("properties", {})
    if feedback:
        feedback["query"].update(
            minLength=1, maxLength=settings.max_query_chars, pattern=NONBLANK_TEXT_SCHEMA_PATTERN
        )
        feedback["case_id"].update(maxLength=MAX_ID_CHARS, pattern=CASE_ID_SCHEMA_PATTERN)
        feedback["grade"].update(minimum=0, maximum=2)
        feedback["note"].update(
            maxLength=settings.max_note_chars, pattern=CLEAN_TEXT_SCHEMA_PATTERN
        )

    bounds = {
        "limit": {"minimum": 1, "maximum": settings.max_page_size},
        "offset": {"minimum": 0, "maximum": settings.max_offset},
        "depth": {"minimum": 1, "maximum": settings.max_graph_depth},
        "case_id": {"maxLength": MAX_ID_CHARS, "pattern": CASE_ID_SCHEMA_PATTERN},
        "X-Kizuki-Analyst": {"maxLength": settings.max_analyst_chars, "pattern": ANALYST_PATTERN},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                extra = bounds.get(param.get("name"))
                if extra:
                    _tighten(param.setdefault("schema", {}), extra)
            body = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            for option in body.get("oneOf", []):
                if option.get("type") == "array":
                    option.update(minItems=1, maxItems=settings.max_cases_per_request)
