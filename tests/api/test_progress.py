"""Long waits say what they are for: ``kizuki serve`` while it builds (on its console and
in ``/health``, its port open from the start), and CLI commands that load or build the
index and graph (a spinner on a terminal, nothing in a pipe)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from kizuki.api.runtime.progress import Heartbeat, start_message
from kizuki.corpus.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_serve_prints_what_it_is_building_then_that_it_is_ready(server):
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
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", *args],
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
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", "causes"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert piped.returncode == 0 and piped.stderr == ""


def test_a_long_start_listens_at_once_and_health_says_how_far_it_got(spawn, server, tmp_path):
    """A store with cases to embed: the port answers at once, /health says 503 "building"
    with the phase and counts, then 200 once everything is ready."""
    import threading
    import time
    import uuid

    import httpx
    from kizuki.corpus.schema import Case
    from kizuki.corpus.sqlite_store import SqliteCaseStore
    from kizuki_http import clone_data_dir

    data = clone_data_dir(server.template, tmp_path / "big")
    tag = uuid.uuid4().hex[:8]  # texts no cache has seen: they must be embedded
    SqliteCaseStore(data / "cases.sqlite3").add_cases(
        [
            Case(
                id=f"imp-{tag}-{i:03d}",
                event=f"勘定系システムで障害 {tag}-{i} が発生し、ATM {i} 台が停止した。",
                causes=[f"設定変更 {tag}-{i} の確認漏れ。", f"手順書 {i} 版の不備。"],
                countermeasures=[f"再鑑 {tag}-{i} の徹底。"],
            )
            for i in range(40)
        ]
    )
    srv = spawn(data_dir=data, start=False)
    starter = threading.Thread(target=srv.start)
    starter.start()
    seen: list[dict] = []
    while starter.is_alive():  # bounded by the server's own start (it raises if it dies)
        try:
            r = httpx.get(srv.url + "/health", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        if r.status_code == 200:
            break
        assert r.status_code == 503 and r.headers["Retry-After"]
        seen.append(r.json())
        time.sleep(0.05)
    starter.join()
    assert seen, "the port did not answer before the server was ready"
    assert all(body["status"] == "building" and body["progress"]["phase"] for body in seen)
    embedding = [b["progress"] for b in seen if b["progress"]["phase"] == "embedding passages"]
    assert embedding and embedding[-1]["total"] >= 40
    with srv.client() as c:
        assert c.get("/health").json()["cases"] == 44 + 40


def test_a_start_that_fails_says_why_in_one_error_line_and_exits_1(tmp_path):
    """The port is already open when the build fails: the server must still stop, with
    the reason on one ``error:`` line and a non-zero exit, not keep answering 503."""
    from kizuki_http import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUKI_")}
    env.update(
        HOME=str(tmp_path / "home"),
        HF_HUB_OFFLINE="1",
        KIZUKI_EMBEDDING_BACKEND="sentence-transformers",
        KIZUKI_EMBEDDING_MODEL=str(tmp_path / "no-such-model"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", "serve"]
        + ["--data-dir", str(tmp_path / "data"), "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no-such-model" in errors[0]
    assert "Traceback" not in proc.stderr
