"""Helpers for the HTTP tests: ``kizuki serve`` in a subprocess, error-body checks, cases."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

API_KEY = "test-key-0123456789abcdef"
START_TIMEOUT_S = float(os.environ.get("KIZUKI_TEST_START_TIMEOUT", "600"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerExited(RuntimeError):
    def __init__(self, returncode: int, log: str) -> None:
        super().__init__(f"server exited with {returncode}:\n{log}")
        self.returncode = returncode
        self.output = log


class Server:
    """One ``kizuki serve`` process; ``url`` is set once it answers ``/health``."""

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        api_key: str | None = API_KEY,
        log: Path = None,
        env: dict[str, str] | None = None,
    ):
        self.data_dir = data_dir
        # Every test client comes from 127.0.0.1: the per-address rate limit is off unless
        # a test turns it on (tests/api/test_reliability.py checks it).
        self.env = {"KIZUKI_RATE_LIMIT_PER_MINUTE": "0", **(env or {})}
        self.cache_dir = cache_dir
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log or data_dir.with_suffix(".log")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = START_TIMEOUT_S) -> Server:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KIZUKI_") or k == "KIZUKI_TEST_START_TIMEOUT"
        }
        env.update(
            KIZUKI_CACHE_DIR=str(self.cache_dir),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env)
        if self.api_key is not None:
            env["KIZUKI_API_KEY"] = self.api_key
        cmd = [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "warning",
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerExited(self.proc.returncode, self.log())
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"server did not start in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as an operator would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        log = getattr(self, "_log", None)
        if log and not log.closed:
            log.close()

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120), **kwargs)


def clone_data_dir(src: Path, dst: Path) -> Path:
    """A consistent copy of a (possibly running) server's data dir."""
    dst.mkdir(parents=True)
    with (
        sqlite3.connect(src / "cases.sqlite3") as source,
        sqlite3.connect(dst / "cases.sqlite3") as target,
    ):
        source.backup(target)
    for name in ("index", "graph"):
        if (src / name).is_dir():  # index: a link to its current version; copied as files
            shutil.copytree(src / name, dst / name)
    return dst


def error_of(response: httpx.Response) -> dict:
    """The uniform error body; fails the test if the body has another shape."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def make_case(case_id: str, marker: str, **fields) -> dict:
    """A new case whose text carries a distinctive marker word, so a search can find it."""
    body = {
        "id": case_id,
        "title": f"{marker}の更新作業ミスによる勘定系システム停止",
        "sectors": ["地域銀行"],
        "event": f"{marker}の定例更新作業で設定ファイルを誤って配置し、勘定系システムが停止して"
        "ATM と窓口の取引が約2時間できなくなった。",
        "causes": [f"{marker}の更新手順書に確認項目がなく、作業者の思い込みで設定を誤った。"],
        "countermeasures": ["更新作業の手順書を見直し、再鑑者による確認を必須とした。"],
    }
    body.update(fields)
    return body
