"""``pip install '.[bench]'`` then ``python -m bench`` must not stop on a missing module: every
third-party module the benchmark imports comes with the core dependencies or the ``bench``
extra (directly or as one of their dependencies), never only with the ``test`` extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"kizuki", "bench", "tests", "corpus", "search", "graph", "api"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _closure(names: set[str]) -> set[str]:
    """``names`` and every distribution they require (extras' requirements left out)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [_name(r) for r in reqs if "extra ==" not in r]
    return seen


def _imported(module_file: Path) -> set[str]:
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - OWN


def test_the_bench_extra_brings_every_module_the_benchmark_imports():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    given = {_name(r) for r in project["dependencies"]}
    given |= {_name(r) for r in project["optional-dependencies"]["bench"]}
    installed = _closure(given)
    dists = packages_distributions()
    modules = set().union(*(_imported(f) for f in (ROOT / "bench").glob("*.py")))
    assert "httpx" in modules  # the check below has something to check
    missing = {
        module: dists.get(module)
        for module in modules
        if not {_name(d) for d in dists.get(module, [module])} & installed
    }
    assert not missing, f"imported by bench/ but not in its extra: {missing}"
