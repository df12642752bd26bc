"""``kizuki`` imports a command's module only when that command runs (``api.cli.lazy_group``):
the group's help and a mistyped command import neither the runtime nor the web app, and the
help lines the group shows are the commands' own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from kizuki.api.cli.lazy_group import COMMANDS

#: What only some commands need: the runtime's data frames and the HTTP app.
HEAVY = ("pandas", "fastapi", "kizuki.api.runtime.local", "kizuki.api.app")

PROBE = """
import json, sys
from kizuki.api.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules]}), file=sys.stderr)
"""


def imports_of(*args: str) -> tuple[int, list[str]]:
    """The exit status of ``kizuki ARGS`` in a fresh interpreter, and which HEAVY modules it
    imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    return probe["code"], probe["heavy"]


def first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n")[0].split())


def registered() -> dict[str, typer.core.click.Command]:
    """Every top-level command the command modules register, by name."""
    commands = {}
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        area = typer.Typer()
        __import__(module, fromlist=["register"]).register(area)
        commands.update(typer.main.get_group(area).commands)
    return commands


def test_the_table_names_every_command_with_its_own_help_line():
    commands = registered()
    assert set(COMMANDS) == set(commands)
    for name, (_, line) in COMMANDS.items():
        assert line == first_paragraph(commands[name].help or ""), name


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--help"], 0), (["nosuchcommand"], 2), (["store", "--help"], 0)],
)
def test_commands_that_need_neither_runtime_nor_app_import_neither(args, code):
    assert imports_of(*args) == (code, [])


def test_serve_still_brings_the_app_when_it_is_asked_for():
    """The probe sees an import when there is one (else the tests above could not fail)."""
    code, heavy = imports_of("serve", "--help")
    assert code == 0
    assert "kizuki.api.app" in heavy and "fastapi" in heavy
