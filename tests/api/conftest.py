"""Real servers for the API tests: ``kizuki serve`` in a subprocess on a free port.

One session server is shared by most tests. Its data directory, once it is up, is cloned
(SQLite backup + the saved index and graph) into a template, so the extra servers that
restart and crash tests need start in seconds instead of rebuilding. All servers share one
embedding cache (``KIZUKI_CACHE_DIR``), so nothing is embedded twice in a session.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from kizuki_http import API_KEY, Server, clone_data_dir


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def server(tmp_path_factory, cache_dir):
    """The shared server: bundled corpus, writes enabled with ``API_KEY``."""
    root = tmp_path_factory.mktemp("session-server")
    srv = Server(root / "data", cache_dir, log=root / "server.log").start()
    # The first search loads lazily initialised parts; pay for it here, not in a test.
    httpx.post(srv.url + "/search", json={"text": "ATMが停止した", "k": 1}, timeout=600)
    srv.template = clone_data_dir(srv.data_dir, root / "template")
    yield srv
    srv.stop()


@pytest.fixture
def spawn(tmp_path, server, cache_dir):
    """Start extra servers on clones of the freshly seeded data dir; all stopped at the end."""
    started: list[Server] = []

    def _spawn(
        data_dir: Path | None = None,
        api_key: str | None = API_KEY,
        env: dict[str, str] | None = None,
        start: bool = True,
    ) -> Server:
        if data_dir is None:
            data_dir = clone_data_dir(server.template, tmp_path / f"data{len(started)}")
        log = tmp_path / f"server{len(started)}.log"
        srv = Server(data_dir, cache_dir, api_key, log=log, env=env)
        started.append(srv)
        return srv.start() if start else srv

    yield _spawn
    for srv in started:
        srv.kill()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture
def writer(server):
    with server.client(headers={"X-API-Key": API_KEY}) as c:
        yield c


EDITIONS = Path(__file__).resolve().parents[1] / "corpus" / "editions"


@pytest.fixture(scope="session")
def editions_server(tmp_path_factory, server, cache_dir):
    """A server over the bundled 2019 cases plus the 2020 and 2024 fixture editions,
    imported as a user does (``kizuki corpus import REPORT.txt``) before it starts."""
    import os
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("editions-server")
    data = clone_data_dir(server.template, root / "data")
    for name in ("fixture_2020.txt", "fixture_2024.txt"):
        subprocess.run(
            [sys.executable, "-c", "from kizuki.api.cli import main; main()", "corpus", "import"]
            + [str(EDITIONS / name), "--data-dir", str(data)],
            env={k: v for k, v in os.environ.items() if not k.startswith("KIZUKI_")},
            check=True,
            capture_output=True,
            timeout=300,
        )
    srv = Server(data, cache_dir, log=root / "server.log").start()
    yield srv
    srv.stop()
