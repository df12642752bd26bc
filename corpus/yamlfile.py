"""The project's YAML data files, read with libyaml's C parser where PyYAML has it.

The taxonomy, the cause signs, the annotations and the facet vocabulary are read at every
start of the server and of every CLI command; PyYAML's pure-Python parser spent about 0.3 s
of each start on them, libyaml about a tenth of that. Both give the same objects (a test
compares them on every bundled file); errors are ``yaml.YAMLError`` either way.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["load_yaml"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text``, in C when libyaml is there."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
