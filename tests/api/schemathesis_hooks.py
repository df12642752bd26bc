"""Schemathesis hooks for the fuzzing test: rules JSON Schema cannot state.

``source.lines`` is ``[start, end]`` with ``start <= end``: JSON Schema can bound each item
but cannot compare two of them, so generated "valid" bodies with a reversed range are left
out (the API refuses them with 422, as ``tests/api/test_hostile.py`` checks).
"""

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
