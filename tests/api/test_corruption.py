"""Issue 20 (5-8, 19): every kind of damage to a data dir is repaired with an event, or
refused with one clear line; never served as ``ok`` with data missing.

One data dir is made once: a server takes three acknowledged writes and a judgement while
another process holds the SQLite store open (so the committed transactions stay in the
write-ahead log, as after a crash), then both are SIGKILLed. Each case below copies that
dir, damages one file, and starts a server on it.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kizuki_http import API_KEY, ServerExited, make_case, marker_for

WRITTEN = [f"damage-{n}" for n in range(1, 4)]
KEY = {"X-API-Key": API_KEY}


def _holder(store: Path) -> subprocess.Popen:
    """Another process with the store open: SQLite keeps the log until the last closes."""
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute('SELECT COUNT(*) FROM cases').fetchall()\n"
        "print('open', flush=True)\n"
        "time.sleep(3600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "open"
    return proc


@pytest.fixture(scope="module")
def crashed(tmp_path_factory, server, cache_dir):
    """A data dir left by a crash after three acknowledged writes and a judgement."""
    from kizuki_http import Server, clone_data_dir

    root = tmp_path_factory.mktemp("crashed")
    data = clone_data_dir(server.template, root / "data")
    srv = Server(data, cache_dir, log=root / "server.log").start()
    holder = _holder(data / "cases.sqlite3")
    try:
        with srv.client(headers=KEY) as c:
            for n, cid in enumerate(WRITTEN, 1):
                r = c.post("/cases", json=make_case(cid, marker_for(600 + n)))
                assert r.status_code == 201, r.text
            r = c.post("/feedback", json={"query": "ATMが停止", "case_id": WRITTEN[0], "grade": 2})
            assert r.status_code == 201, r.text
    finally:
        srv.kill()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (data / "cases.sqlite3-wal").stat().st_size > 0, "the writes must be in the log"
    return data


def _copy(crashed: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(crashed, target, symlinks=True)
    return target


def _flip(path: Path, at: float, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, min(len(data), start + count)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _index_manifest(data: Path) -> Path:
    return (data / "index").resolve() / "manifest.json"


DAMAGE: dict[str, Callable[[Path], None]] = {
    "store file deleted": lambda d: [
        (d / f"cases.sqlite3{s}").unlink(missing_ok=True) for s in ("", "-wal", "-shm")
    ],
    "write-ahead log truncated": lambda d: _truncate(d / "cases.sqlite3-wal", 0.5),
    "write-ahead log bytes flipped": lambda d: _flip(d / "cases.sqlite3-wal", 0.6),
    "write-ahead log zeroed": lambda d: (d / "cases.sqlite3-wal").write_bytes(
        bytes(len((d / "cases.sqlite3-wal").read_bytes()))
    ),
    "index manifest deleted": lambda d: _index_manifest(d).unlink(),
    "graph file deleted": lambda d: (d / "graph" / "graph.json").unlink(),
    "graph file bytes flipped": lambda d: _flip(d / "graph" / "graph.json", 0.5),
    "watermark garbage": lambda d: (d / "store-watermark.json").write_text("{garbage"),
}
#: Damage that loses committed writes must be refused; the rest must be repaired.
REFUSED = {"store file deleted", "write-ahead log truncated", "write-ahead log zeroed"}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_repaired_with_an_event_or_refused_with_one_line(
    damage, crashed, tmp_path, spawn
):
    data = _copy(crashed, tmp_path)
    DAMAGE[damage](data)
    srv = spawn(data_dir=data, start=False)
    try:
        srv.start()
    except ServerExited as exc:
        errors = [line for line in exc.output.splitlines() if line.startswith("error:")]
        assert exc.returncode == 1 and len(errors) == 1, exc.output
        assert "Traceback" not in exc.output
        assert damage not in {"index manifest deleted", "graph file deleted", "watermark garbage"}
        assert "committed writes are missing" in errors[0] or "damaged" in errors[0]
        return
    assert damage not in REFUSED, f"{damage}: started although writes were lost"
    with srv.client(headers=KEY) as c:
        health = c.get("/health").json()
        for cid in WRITTEN:  # nothing acknowledged is missing
            assert c.get(f"/cases/{cid}").status_code == 200, (damage, cid, health)
        assert c.get("/feedback").json()["total"] >= 1
    if damage in {"index manifest deleted", "graph file deleted", "graph file bytes flipped"}:
        assert health["events"], health  # rebuilt, and said so
        assert health["status"] == "degraded"


def test_a_document_that_is_not_utf8_is_skipped_and_listed(crashed, tmp_path, spawn):
    """Item 7: bytes flipped inside a stored document pass ``quick_check``; the start
    failed with "Could not decode to UTF-8" and ``kizuki store check`` printed a
    traceback. Now the row is skipped and listed, and the rest is served."""
    data = _copy(crashed, tmp_path)
    # Checkpoint the log into the file first (a clean close), so the row is in the file.
    with sqlite3.connect(data / "cases.sqlite3") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store = data / "cases.sqlite3"
    raw = bytearray(store.read_bytes())
    marker = marker_for(602).encode()
    at = raw.find(marker)
    assert at > 0
    raw[at : at + 6] = b"\xff\xfe\xff\xfe\xff\xfe"  # not UTF-8; same length
    store.write_bytes(bytes(raw))
    check = subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", "store", "check",
         "--data-dir", str(data)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in check.stdout + check.stderr
    assert WRITTEN[1] in check.stdout + check.stderr
    srv = spawn(data_dir=data)
    with srv.client() as c:
        health = c.get("/health").json()
        assert health["status"] == "degraded"
        skipped = {row["id"]: row["reason"] for row in health["skipped_cases"]}
        assert WRITTEN[1] in skipped and "UTF-8" in skipped[WRITTEN[1]]
        assert c.get(f"/cases/{WRITTEN[0]}").status_code == 200


def test_a_damaged_embedding_cache_is_set_aside_and_rebuilt(crashed, tmp_path, spawn, cache_dir):
    """Item 8: a corrupt embedding cache blocked the start ("database disk image is
    malformed"). It is a cache: it is moved aside, started afresh, and the event said."""
    data = _copy(crashed, tmp_path)
    own_cache = tmp_path / "cache"
    shutil.copytree(cache_dir, own_cache)
    cache_file = own_cache / "embeddings.sqlite3"
    _flip(cache_file, 0.0, 4096)  # the header and the first pages
    srv = spawn(data_dir=data, env={"KIZUKI_CACHE_DIR": str(own_cache)})
    with srv.client() as c:
        health = c.get("/health").json()
        assert any("embedding cache" in e for e in health["events"]), health["events"]
        for cid in WRITTEN:
            assert c.get(f"/cases/{cid}").status_code == 200
    assert list(own_cache.glob("embeddings.sqlite3.damaged-*"))
