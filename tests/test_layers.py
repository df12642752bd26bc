"""The import structure of Kizuki's own modules (issue 23), read from the code with ``ast``:
every ``import`` counts, those inside functions included.

* The layers import downward only: ``corpus`` ← ``search`` ← ``graph`` ← ``api``.
* Inside ``api`` there is no import circle.
* The runtime (``api.runtime``) imports no web framework: no FastAPI, Starlette or Jinja2.
* Every import of the project's own modules goes through the ``kizuki`` namespace (an
  installed wheel claims no generic top-level name such as ``api`` or ``search``).
* Imports sit at the top of modules, except those of the heavy optional extras (torch and
  sentence-transformers, psycopg), which say so.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from functools import cache
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "kizuki"
#: Bottom layer first: a layer may import the ones before it, never one after it.
LAYERS = ("corpus", "search", "graph", "api")
WEB_FRAMEWORKS = ("fastapi", "starlette", "jinja2")
#: Optional extras imported where they are used (each such import says why).
HEAVY_OPTIONAL = ("torch", "sentence_transformers", "psycopg", "psycopg_pool")


def module_of(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([NAMESPACE, *parts])


@cache
def modules() -> dict[str, Path]:
    """Every module of the four layers, by its dotted name (``kizuki.api.http.errors``)."""
    found = {}
    for layer in LAYERS:
        for path in sorted((REPO / layer).rglob("*.py")):
            found[module_of(path)] = path
    return found


def imported(path: Path) -> list[tuple[str, ast.stmt]]:
    """Every module ``path`` imports (``from m import n`` counts as ``m.n`` when that is a
    module of ours), anywhere in the file, with its statement; outside a package's
    ``__init__`` (whose lazy exports load on use), a string that is the dotted name of a
    module of ours counts too (``api.cli.lazy_group`` imports its commands by name)."""
    ours = modules()
    package = module_of(path) if path.name == "__init__.py" else module_of(path).rsplit(".", 1)[0]
    by_name = path.name != "__init__.py"  # a package's lazy exports load on use, not import
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                child = f"{base}.{alias.name}"
                out.append((child if child in ours else base, node))
        elif isinstance(node, ast.Constant) and node.value in ours and by_name:
            out.append((node.value, node))  # a module imported by name (``lazy_group``)
    return out


@cache
def import_graph() -> nx.DiGraph:
    """Module → the modules of ours it imports."""
    ours = modules()
    G = nx.DiGraph()
    G.add_nodes_from(ours)
    for name, path in ours.items():
        for target, _ in imported(path):
            while target not in ours and "." in target:
                target = target.rsplit(".", 1)[0]  # ``kizuki.graph.build.X`` → its module
            if target in ours and target != name:
                G.add_edge(name, target)
    return G


def layer(module: str) -> str:
    return module.split(".")[1]


def test_the_graph_sees_every_module_and_their_imports():
    G = import_graph()
    assert {"kizuki.api.runtime.actions", "kizuki.api.http.errors", "kizuki.search.engine"} <= set(
        G
    )
    assert G.has_edge("kizuki.api.http.routers.search", "kizuki.api.runtime.actions")
    assert G.has_edge("kizuki.api.cli.lazy_group", "kizuki.api.cli.serve_cmd")  # by name
    assert G.number_of_edges() > 200


def test_layers_import_downward_only():
    upward = [
        (a, b) for a, b in import_graph().edges if LAYERS.index(layer(b)) > LAYERS.index(layer(a))
    ]
    assert not upward, upward


def test_no_import_circle_inside_api():
    api = import_graph().subgraph(m for m in modules() if layer(m) == "api")
    circles = list(nx.simple_cycles(api))
    assert not circles, circles[:5]


@pytest.mark.parametrize("framework", WEB_FRAMEWORKS)
def test_the_runtime_imports_no_web_framework(framework):
    for name, path in modules().items():
        if name.startswith("kizuki.api.runtime"):
            for target, node in imported(path):
                assert target.split(".")[0] != framework, (
                    f"{path.relative_to(REPO)}:{node.lineno} imports {target}"
                )


def test_everything_the_runtime_imports_is_free_of_web_frameworks():
    """Not only its own modules: nothing it imports (transitively) pulls one in."""
    G = import_graph()
    runtime = [m for m in G if m.startswith("kizuki.api.runtime")]
    reached = set(runtime).union(*(nx.descendants(G, m) for m in runtime))
    for name in sorted(reached):
        for target, node in imported(modules()[name]):
            assert target.split(".")[0] not in WEB_FRAMEWORKS, (
                f"{name} (reached from the runtime) imports {target} on line {node.lineno}"
            )


def test_project_imports_go_through_the_kizuki_namespace():
    bare = []
    roots = [*(REPO / layer for layer in LAYERS), REPO / "tests", REPO / "bench", REPO / "scripts"]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                for name in names:
                    if name.split(".")[0] in LAYERS:
                        bare.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
    assert not bare, bare


def test_imports_sit_at_the_top_of_api_modules():
    """A function-level import hides a tie between modules; only the heavy optional extras
    are imported where they are used."""
    inside = []
    for name, path in modules().items():
        if layer(name) != "api":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        target = (
                            inner.module
                            if isinstance(inner, ast.ImportFrom)
                            else inner.names[0].name
                        ) or ""
                        if target.split(".")[0] not in HEAVY_OPTIONAL:
                            inside.append(f"{path.relative_to(REPO)}:{inner.lineno} {target}")
    assert not inside, inside


@pytest.mark.parametrize(
    "package",
    [
        "kizuki.api",
        "kizuki.api.runtime",
        "kizuki.api.http",
        "kizuki.api.web",
        "kizuki.search",
        "kizuki.api.cli",
        "kizuki.graph",
        "kizuki.corpus",
    ],
)
def test_each_package_names_its_public_api(package):
    module = importlib.import_module(package)
    assert module.__all__, package
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def test_every_package_goes_into_the_wheel():
    """Each folder with an ``__init__.py`` in the layers is a package the wheel lists
    (``pyproject.toml``: the layers are mapped into the namespace one by one)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(project["tool"]["setuptools"]["packages"])
    found = {NAMESPACE} | {
        module_of(path) for layer in LAYERS for path in (REPO / layer).rglob("__init__.py")
    }
    assert found == listed
