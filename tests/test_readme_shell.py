"""The README's shell examples run as written, pasted into a shell by a new user.

Fenced blocks marked ``bash`` are examples that run in the checkout with ``.venv`` active;
``sh`` blocks need something a checkout does not have (a database machine, a model on disk,
the development set) or run for minutes; ``text`` blocks are synopses. Every ``kizuki`` line
of every ``bash`` block runs here through a shell, with ``kizuki`` on the path as the
installed console script is, in a new data directory and an empty home, and must exit 0.
The two set-up commands (the install, and ``bash scripts/test.sh``) are what this suite is
run by, so they are not run again; a ``kizuki serve`` example is started, answers
``/health``, and is stopped with Ctrl-C (SIGINT), as a user stops it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: How long a starting server may show no progress on /health before the test gives up.
STALL_S = 300
#: A command of the line is ``kizuki`` (at its start, or after a pipe or ``&&``).
KIZUKI = re.compile(r"(?:^|[|&;]\s*)kizuki\s")


def shell_examples(readme: str) -> list[str]:
    """The ``kizuki`` lines of the ``bash`` blocks, continuation lines joined."""
    lines: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", readme, re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            if KIZUKI.search(line.split(" # ", 1)[0]):
                lines.append(line.strip())
    return lines


EXAMPLES = shell_examples(README.read_text(encoding="utf-8"))


def test_the_readme_marks_its_runnable_examples():
    """The parse above finds the examples: the synopsis is not among them, and each
    kind of example a user meets first is."""
    assert len(EXAMPLES) >= 8, EXAMPLES
    assert not any("[" in line.split(" # ", 1)[0] for line in EXAMPLES), EXAMPLES
    assert any(line.startswith("kizuki serve") for line in EXAMPLES)
    assert all("../shared" not in line for line in EXAMPLES)
    assert shell_examples(
        "```bash\nkizuki a \\\n  --b\n# kizuki c\n```\n```text\nkizuki d\n```"
    ) == ["kizuki a    --b"]


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory) -> dict[str, str]:
    """A new user's shell: ``kizuki`` on the path, an empty home, a new data directory."""
    root = tmp_path_factory.mktemp("readme-shell")
    bin_dir, home = root / "bin", root / "home"
    bin_dir.mkdir()
    home.mkdir()
    script = bin_dir / "kizuki"  # what the console script does, with this interpreter
    script.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -c "from kizuki.api.cli import main; main()" "$@"\n'
    )
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUKI_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        KIZUKI_DATA_DIR=str(root / "data"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    return env


@pytest.fixture(scope="module")
def shell_cwd(tmp_path_factory) -> Path:
    """Where a user runs the examples: the checkout's folders the examples read (``eval``,
    ``corpus``), linked into a scratch folder, so that files an example writes (a CSV
    working paper) land there and not in the repository."""
    cwd = tmp_path_factory.mktemp("readme-cwd")
    for name in ("eval", "corpus"):
        (cwd / name).symlink_to(ROOT / name, target_is_directory=True)
    return cwd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(line: str, env: dict[str, str], cwd: Path) -> None:
    port = _free_port()  # the README's port may be taken on a shared machine
    line = re.sub(r"--port \d+", f"--port {port}", line)
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {line}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Ready when /health answers 200; while it builds it answers 503 with its progress,
        # and only a start whose progress stands still for STALL_S fails (a slow machine
        # is slow, not broken).
        seen, stalled_at = None, time.monotonic() + STALL_S
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except urllib.error.HTTPError as exc:  # 503 while building: how far it got
                body = json.loads(exc.read() or b"{}").get("progress") or {}
                progress = {k: v for k, v in body.items() if k != "elapsed_s"}
                if progress != seen:
                    seen, stalled_at = progress, time.monotonic() + STALL_S
            except OSError:
                pass
            if time.monotonic() > stalled_at:
                pytest.fail(f"{line!r}: no progress on /health for {STALL_S} s ({seen!r})")
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Ctrl-C ends a program with 130 (128 + SIGINT) in a shell; uvicorn re-raises the signal
    # after its graceful shutdown, so that is a clean stop, and nothing else is.
    assert proc.returncode in (0, 128 + signal.SIGINT, -signal.SIGINT), output
    assert "Application shutdown complete" in output and "Traceback" not in output, output


@pytest.mark.parametrize("line", EXAMPLES)
def test_a_readme_example_runs_as_written(line, shell_env, shell_cwd):
    if line.startswith("kizuki serve"):
        _serve(line, shell_env, shell_cwd)
        return
    ran = subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        cwd=shell_cwd,
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, f"{line}\nexit {ran.returncode}\n{ran.stdout}\n{ran.stderr}"
    # Something is said: the answer on stdout, or, for a command that writes a file, what
    # it wrote (on stderr, so that stdout stays the data).
    assert (ran.stdout.strip() or ran.stderr.strip()) and "Traceback" not in ran.stderr, ran.stderr
