"""Schemathesis hooks for the fuzzing test: rules JSON Schema cannot state.

``source.lines`` is ``[start, end]`` with ``start <= end``: JSON Schema can bound each item
but cannot compare two of them, so generated "valid" bodies with a reversed range are left
out (the API refuses them with 422, as ``tests/api/test_hostile.py`` checks). Filters
name known values (below).
"""

import json
import re

import schemathesis


def _reversed_lines(case) -> bool:
    source = case.get("source") if isinstance(case, dict) else None
    lines = source.get("lines") if isinstance(source, dict) else None
    return (
        isinstance(lines, list)
        and len(lines) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in lines)
        and lines[0] > lines[1]
    )


@schemathesis.hook("filter_body").apply_to(path="/cases", method="POST")
def ordered_lines(ctx, body) -> bool:
    return not any(_reversed_lines(c) for c in (body if isinstance(body, list) else [body]))


# A sector, theme or year filter must name one the corpus holds: an unknown one is a 422 that lists
# the known ones (``api/runtime/filters.py``, issue 22). Which ones exist is data, not schema
# (imported cases add sectors), so a schema-valid request naming another is refused by design.
# Only that refusal is accepted here; any other refusal of a schema-valid request still fails.
UNKNOWN_FILTER = re.compile(r"^(unknown (sector|theme) |no case of the \d+ edition; )")


@schemathesis.hook
def filter_failure(ctx, failure, case, response) -> bool:
    """Keep every failure but a schema-valid request refused for an unknown filter value,
    and a schema-violating one refused as too large (413: the body limit is checked before
    the schema, and a refusal is what ST201 asks for)."""
    code = getattr(failure, "code", "")
    if code == "ST201" and response.status_code == 413:
        return False
    if code != "ST202" or response.status_code != 422:
        return True
    try:
        message = json.loads(response.content)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return True
    return not UNKNOWN_FILTER.match(message)
