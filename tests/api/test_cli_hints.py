"""Every ``kizuki …`` command that a message tells the user to run exists.

Messages are the string constants of the code (docstrings left out: they describe, they do
not tell). A hint names a command path (``kizuki corpus list``) and maybe options
(``--seed PATH``): the path must be a command of the CLI and each option one of its
options. The hints printed by real failures are run in ``tests/api/test_cli_graph.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import typer
from kizuki.api.cli import app

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("api", "corpus", "search", "graph")
HINT = re.compile(r"\bkizuki((?: [a-z][a-z-]*)+)((?: (?:--?[a-z][a-z-]*|[A-Z][A-Z_.]*|\S+))*)")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def message_strings() -> list[tuple[str, str]]:
    """(where, text) of every string constant in the layers' code, docstrings excepted.
    Pieces of f-strings count as strings too."""
    out = []
    for layer in LAYERS:
        for path in sorted((REPO / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _docstrings(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if id(node) not in skip:
                        out.append((f"{path.relative_to(REPO)}:{node.lineno}", node.value))
    return out


def is_group(command) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def resolve(words: list[str]):
    """The command a path of words names, and the words left over. (Typer brings its own
    click, so groups are told by their ``commands``, not by class; the top group loads a
    command when asked for it by name, ``api.cli.lazy_group``.)"""
    command = typer.main.get_command(app)
    rest = list(words)
    while rest and is_group(command):
        sub = command.get_command(None, rest[0])
        if sub is None:
            break
        command, rest = sub, rest[1:]
    return command, rest


def hints() -> list[tuple[str, str]]:
    found = []
    for where, text in message_strings():
        for match in HINT.finditer(text):
            found.append((where, match.group(0)))
    return found


def test_messages_hint_at_commands():
    found = {h for _, h in hints()}
    # The hints this test is known to guard (it must find them to mean anything).
    assert any(h.startswith("kizuki corpus list") for h in found), found
    assert any(h.startswith("kizuki causes") for h in found), found
    assert any(h.startswith("kizuki store backup") for h in found), found


def test_every_hinted_command_and_option_exists():
    problems = []
    for where, hint in hints():
        words = hint.split()[1:]
        command, rest = resolve(words)
        if is_group(command):
            problems.append(f"{where}: {hint!r}: no command {' '.join(words)!r}")
            continue
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for word in rest:
            flag = word.split("=")[0].rstrip(",.;:)`'\"")
            if flag.startswith("-") and flag not in options:
                problems.append(f"{where}: {hint!r}: {command.name} has no option {flag}")
    assert not problems, "\n".join(problems)


def test_a_missing_command_is_caught():
    """The check itself: a hint at a command that does not exist is reported."""
    command, rest = resolve(["corpus", "nope"])
    assert is_group(command) and command.name == "corpus" and rest == ["nope"]
    command, rest = resolve(["corpus", "list", "--json"])
    assert not is_group(command) and command.name == "list" and rest == ["--json"]
    assert "--json" in {o for p in command.params for o in p.opts}
