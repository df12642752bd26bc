"""Long waits say what they are for: ``kizuki serve`` before its port opens, and CLI
commands that load or build the index and graph (a spinner on a terminal, nothing in a
pipe)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from api.progress import Heartbeat, start_message
from corpus.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_serve_printed_what_it_was_building_before_the_port_opened(server):
    log = server.log_path.read_text(encoding="utf-8")
    first_start = log.index("Kizuki: first start in ")
    assert "building the search index and the knowledge graph" in log
    ready = log.index(" cases ready in ")
    assert first_start < ready < log.index("Kizuki is ready: ")


def test_the_start_message_follows_what_is_on_disk(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert start_message(settings).startswith("Kizuki: first start in ")
    settings.store_path.write_bytes(b"")
    assert "building the search index and the knowledge graph from" in start_message(settings)
    settings.index_dir.mkdir()
    assert "loading the saved search index" in start_message(settings)


def test_the_heartbeat_prints_until_the_work_is_done():
    lines: list[str] = []
    with Heartbeat("still preparing", every=0.01, out=lines.append) as beat:
        while len(lines) < 3:
            beat._stop.wait(0.01)
    count = len(lines)
    beat._stop.wait(0.05)
    assert len(lines) == count, "nothing is printed after the block"
    assert all(
        line.startswith("  ... still preparing (") and line.endswith(" s)") for line in lines
    )


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stderr on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    received = b""
    while True:
        ready, _, _ = select.select([master], [], [], 600)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    proc.communicate(timeout=600)
    os.close(master)
    assert proc.returncode == 0
    return received.decode("utf-8", errors="replace")


def test_cli_shows_a_spinner_on_a_terminal_and_nothing_in_a_pipe(server, cache_dir, tmp_path):
    from kizuki_http import clone_data_dir

    data_dir = clone_data_dir(server.template, tmp_path / "data")
    env = {
        **os.environ,
        "KIZUKI_DATA_DIR": str(data_dir),
        "KIZUKI_CACHE_DIR": str(cache_dir),
        "HF_HUB_OFFLINE": "1",
        "TERM": "xterm",
        "COLUMNS": "120",
    }
    env.pop("NO_COLOR", None)
    shown = run_on_a_terminal(["causes"], env)
    assert "loading the search index and the knowledge graph" in shown
    piped = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "causes"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert piped.returncode == 0 and piped.stderr == ""
