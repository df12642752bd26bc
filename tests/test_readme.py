"""The README's "From Python" example runs as written (its data dir aside), so the imports
and calls it shows are the package's real public API."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> str:
    section = README.read_text(encoding="utf-8").split("### From Python\n", 1)[1]
    section = section.split("\n### ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "no python block under From Python"
    return found.group(1)


def test_the_from_python_example_runs(seed_index, seed_settings):
    code = python_example()
    assert '"/tmp/kizuki"' in code
    code = code.replace('"/tmp/kizuki"', repr(str(seed_settings.data_dir)))
    names: dict = {}
    exec(compile(code, "README.md (From Python)", "exec"), names)  # noqa: S102 - our own README
    result, review = names["result"], names["review"]
    assert len(result.results) == 5 and result.likely_causes
    assert review.similar_failures and review.checklist
