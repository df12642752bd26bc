"""The ``kizuki`` command group, whose commands are imported only when they run.

Why: the command modules import the runtime (pandas, the models' code) and ``serve`` the
FastAPI app; imported up front, every ``kizuki`` call (``--help`` and a mistyped option
included) paid for all of them before doing anything. This is Click's documented
*LazyGroup* pattern: ``COMMANDS`` names, per command, the module whose ``register``
adds it, and its one-line help, which is all ``kizuki --help`` shows, so listing the
commands imports none of them (``tests/api/test_cli_lazy.py`` checks that each line
is the command's own help, and ``tests/test_layers.py`` reads these module names as
imports).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["COMMANDS", "LazyGroup"]

#: Command → (the module whose ``register(app)`` adds it, its help line), in help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "search": (
        "kizuki.api.cli.search_cmd",
        "Find past incidents analogous to TEXT, best first, with why each matched.",
    ),
    "eval": (
        "kizuki.api.cli.search_cmd",
        "Score the search on graded queries: nDCG@10, Recall@5, MRR, no-match accuracy.",
    ),
    "train": (
        "kizuki.api.cli.search_cmd",
        "Learn the default ranking's weights and the no-match model from graded queries.",
    ),
    "review": (
        "kizuki.api.cli.review_cmd",
        "Review a planned change: the past failures it risks repeating, its risks (root "
        "causes its statements point to) and a checklist of the countermeasures that worked.",
    ),
    "causes": (
        "kizuki.api.cli.graph_cmd",
        "Every root-cause concept (groups and their leaves) with its number of cases.",
    ),
    "cause": (
        "kizuki.api.cli.graph_cmd",
        "A root cause: its cases (with sentences) and the countermeasures that address it.",
    ),
    "countermeasures": (
        "kizuki.api.cli.graph_cmd",
        "Every countermeasure concept (groups and their leaves) with its number of cases.",
    ),
    "countermeasure": (
        "kizuki.api.cli.graph_cmd",
        "A countermeasure: the causes it addresses (by support) and the cases that adopted it.",
    ),
    "recurring": (
        "kizuki.api.cli.graph_cmd",
        "Recurring root causes: by cases, sectors and themes (or per sector / theme).",
    ),
    "cooccurrence": (
        "kizuki.api.cli.graph_cmd",
        "Pairs of root causes found in the same cases, with lift and Jaccard.",
    ),
    "coverage": (
        "kizuki.api.cli.graph_cmd",
        "Coverage gaps: how often each cause's cases record a countermeasure against it.",
    ),
    "trends": (
        "kizuki.api.cli.graph_cmd",
        "Recurring causes by report edition: those in every edition, those rising.",
    ),
    "chain": (
        "kizuki.api.cli.chain_cmd",
        "How a case's failure unfolded: its steps in order, typed, with their evidence.",
    ),
    "paths": (
        "kizuki.api.cli.chain_cmd",
        "Common failure paths: the most frequent cause sequences of the chains, with where "
        "an adopted countermeasure would have cut them earliest.",
    ),
    "controls": (
        "kizuki.api.cli.controls_cmd",
        "Failures by control framework: CSF functions, controls implemented, gaps.",
    ),
    "serve": (
        "kizuki.api.cli.serve_cmd",
        "Start the web page and HTTP API (OpenAPI docs at /docs) on the bundled corpus.",
    ),
    "corpus": (
        "kizuki.api.cli.corpus_cmd",
        "The case corpus: build it from the FSA report, import more cases, list them, show one.",
    ),
    "graph": (
        "kizuki.api.cli.graph_cmd",
        "The cause–countermeasure knowledge graph: export it, walk it, ask it.",
    ),
    "store": ("kizuki.api.cli.store_cmd", "The case store: back it up, check it."),
}


@cache
def _commands_of(module: str) -> TyperGroup:
    """The commands ``module`` registers, built once per process."""
    area = typer.Typer()
    importlib.import_module(module).register(area)
    group = typer.main.get_group(area)
    assert isinstance(group, TyperGroup)
    return group


class LazyGroup(TyperGroup):
    """A Typer group that imports a command's module when the command is looked up to run,
    and answers the group's own ``--help`` from ``COMMANDS`` alone."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        module, help_line = COMMANDS[cmd_name]
        if self._listing:  # the group's help: the name and its line are all it shows
            return TyperCommand(cmd_name, short_help=help_line)
        return _commands_of(module).get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
