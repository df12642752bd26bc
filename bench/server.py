"""A real ``kizuki serve`` for the benchmark: fresh data dir, empty home, a free port.

Readiness follows progress: the wait ends when ``/health`` answers ok, or when the process
dies; it never gives up on a slow machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

API_KEY = "bench-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``with Server(data_dir) as s:`` starts ``kizuki serve``; ``s.ready_s`` is the time
    from the process start to the first ok ``/health``."""

    def __init__(self, data_dir: Path, home: Path | None = None, env: dict | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.home = home
        self.extra_env = env or {}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.ready_s = 0.0
        self._home_dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Server:
        if self.home is None:
            self._home_dir = tempfile.TemporaryDirectory(prefix="kizuki-bench-home-")
            self.home = Path(self._home_dir.name)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("KIZUKI_", "OMP_NUM_THREADS"))
        }
        env.update(
            HOME=str(self.home),
            HF_HUB_OFFLINE="1",
            KIZUKI_API_KEY=API_KEY,
            KIZUKI_RATE_LIMIT_PER_MINUTE="0",
            **self.extra_env,
        )
        cmd = [
            sys.executable,
            "-c",
            "from kizuki.api.cli import main; main()",
            "serve",
            "--data-dir",
            str(self.data_dir),
        ]
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [*cmd, "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with httpx.Client(timeout=5) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"kizuki serve exited with {self.process.returncode}")
                try:
                    r = client.get(self.url + "/health")
                    if r.status_code == 200 and r.json().get("status") in ("ok", "degraded"):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.ready_s = time.perf_counter() - started
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
        if self._home_dir is not None:
            self._home_dir.cleanup()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid
