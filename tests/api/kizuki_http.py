"""Helpers for the HTTP tests: ``kizuki serve`` in a subprocess, error-body checks, cases."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from kizuki_cli import kizuki_process

API_KEY = "test-key-0123456789abcdef"
START_TIMEOUT_S = float(os.environ.get("KIZUKI_TEST_START_TIMEOUT", "600"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kizuki(*args: str, data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``kizuki ARGS`` as a user runs it: a subprocess on ``data_dir``, output captured."""
    return kizuki_process(*args, data_dir=data_dir, stdin=stdin)


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
        args: list[str] | None = None,
    ):
        self.data_dir = data_dir
        #: More ``kizuki serve`` options (e.g. ``--ranker-file F``).
        self.args = list(args or [])
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
            "from kizuki.api.cli import main; main()",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "warning",
            *self.args,
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        # Readiness follows progress: the bound is on a start that stops moving (the same
        # /health "building" progress, or no answer, for ``timeout`` seconds), not on a
        # slow one.
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerExited(self.proc.returncode, self.log())
            try:
                r = httpx.get(self.url + "/health", timeout=2)
                if r.status_code == 200:
                    return self
                progress = r.json().get("progress")
                if progress and {**progress, "elapsed_s": 0} != last:
                    last = {**progress, "elapsed_s": 0}
                    deadline = time.monotonic() + timeout
            except (httpx.HTTPError, ValueError, AttributeError):
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"server start stalled for {timeout:.0f} s:\n{self.log()}")

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


KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノ"


def marker_for(n: int) -> str:
    """A made-up katakana word per case, so each case can be found by a search."""
    word = "ゾ"
    for digit in f"{n:03d}":
        word += KANA[int(digit) * 2] + KANA[int(digit) * 2 + 1]
    return word


def query_for(marker: str) -> str:
    return f"{marker}の更新作業で設定を誤り勘定系が停止した"


def found(client: httpx.Client, case_id: str, marker: str) -> bool:
    r = client.post("/search", json={"text": query_for(marker), "k": 10})
    assert r.status_code == 200, r.text
    return case_id in [h["case_id"] for h in r.json()["results"]]


def kill_mid_stream(srv: Server, writers: int = 2) -> tuple[dict[str, dict], list[str], set[str]]:
    """SIGKILL ``srv`` while several clients stream writes to it, at least 6 acknowledged
    and one in flight: (every case sent, by id; the acknowledged ids; those in flight)."""
    sent: dict[str, dict] = {}
    acked: list[str] = []
    in_flight: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def write_stream(worker: int) -> None:
        n = worker * 100
        with srv.client(headers={"X-API-Key": API_KEY}, timeout=120) as c:
            while not stop.is_set():
                n += 1
                cid = f"crash-{n:03d}"
                body = make_case(cid, marker_for(n))
                with lock:
                    sent[cid] = body
                    in_flight.add(cid)
                try:
                    r = c.post("/cases", json=body)
                except httpx.HTTPError:
                    return  # the server died during this request: it was never acknowledged
                with lock:
                    in_flight.discard(cid)
                    if r.status_code == 201:
                        acked.append(cid)
                    else:
                        raise AssertionError(r.text)

    threads = [
        threading.Thread(target=write_stream, args=(w,), daemon=True) for w in range(1, writers + 1)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 6 and in_flight:
                break
        time.sleep(0.01)
    with lock:
        pending = set(in_flight)
        acknowledged = list(acked)
    srv.kill()  # SIGKILL while at least one write is in flight
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert len(acknowledged) >= 6 and pending, "the kill must land in a stream of writes"
    return sent, acknowledged, pending


def assert_served(
    c: httpx.Client, sent: dict[str, dict], acknowledged: list[str], pending: set[str]
) -> None:
    """Every acknowledged case is served whole and found by a search; a write cut off by
    the kill is either wholly there or wholly absent."""
    from kizuki.corpus.schema import Case

    for cid in acknowledged:
        r = c.get(f"/cases/{cid}")
        assert r.status_code == 200, f"acknowledged case {cid} lost"
        assert r.json()["case"] == Case.model_validate(sent[cid]).to_json_dict()
        n = int(cid.split("-")[1])
        assert found(c, cid, marker_for(n)), f"acknowledged case {cid} not searchable"
    for cid in pending:
        r = c.get(f"/cases/{cid}")
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            assert r.json()["case"] == Case.model_validate(sent[cid]).to_json_dict()
            assert found(c, cid, marker_for(int(cid.split("-")[1])))
