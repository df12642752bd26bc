"""``kizuki`` run in-process, exactly as the console script runs it (``api.cli.main``), for
tests that check a command's message and exit status rather than the process boundary:
no interpreter start-up and no model load per call (the runtime stays loaded between
calls, as in ``kizuki serve``)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kizuki.api.cli import main
from kizuki.corpus.settings import get_settings
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]


def kizuki_process(
    *args: str, data_dir: Path, cwd: Path = REPO, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """``kizuki ARGS`` as a user runs it: a process of its own on ``data_dir``, output
    captured (for tests about the process boundary: exit status, bytes, no traceback)."""
    env = {**os.environ, "KIZUKI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass(frozen=True)
class Ran:
    """What a ``kizuki`` call left: its exit status and its two streams."""

    returncode: int
    stdout: str
    stderr: str


def kizuki_here(
    *args: str, env: dict[str, str | None] | None = None, input: str | None = None
) -> Ran:
    """``kizuki ARGS`` through ``main`` with ``env`` added to the environment (None: removed
    from it) and ``input`` on standard input. Settings are read afresh from that
    environment (and forgotten after). Anything ``main`` lets escape other than its
    ``sys.exit`` (a traceback, for a user) propagates and fails the test."""
    get_settings.cache_clear()
    code: int | str | None = 0
    try:
        with CliRunner().isolation(input=input, env=env) as (out, err, _):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        get_settings.cache_clear()
    status = code if isinstance(code, int) else 1
    return Ran(status, stdout.decode("utf-8"), stderr.decode("utf-8"))
