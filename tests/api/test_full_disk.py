"""Issue 20 (12): a full disk is the server's problem, said as such.

The data dir lives on a small tmpfs of its own (mounting one needs root, as CI runs; the
test is skipped, saying why, where it cannot). Filled up: writes and judgements get 507
with ``Retry-After`` (never 500, never a 422 blaming the client), ``/health`` says
``degraded`` with the store ``full``, nothing half-written; space freed, writes work again.
A start on a full disk fails at once with one line instead of rebuilding for minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from kizuki_http import API_KEY, ServerExited, clone_data_dir, error_of, make_case

KEY = {"X-API-Key": API_KEY}


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(disk: Path) -> None:
    """Take every free byte of ``disk`` (big blocks, then smaller ones, unbuffered)."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (2**20, 2**16, 2**12, 2**9):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                continue
    finally:
        os.close(fd)


def test_a_full_disk_gets_507_and_a_degraded_health_then_recovers(small_disk, server, spawn):
    data = clone_data_dir(server.template, small_disk / "data")
    srv = spawn(data_dir=data)
    _fill(small_disk)
    with srv.client(headers=KEY) as c:
        before = c.get("/health").json()["cases"]
        r = c.post("/cases", json=make_case("full-1", "フルディスク"))
        assert r.status_code == 507, r.text
        assert error_of(r)["code"] == "storage_full" and r.headers["Retry-After"]
        case = c.post("/search", json={"text": "ATMが停止", "k": 1}).json()["results"][0]
        r = c.post("/feedback", json={"query": "ATMが停止", "case_id": case["case_id"], "grade": 2})
        assert r.status_code == 507, r.text
        health = c.get("/health").json()
        assert health["status"] == "degraded"
        assert health["store_state"]["state"] == "full"
        assert health["cases"] == before
        assert c.get("/cases/full-1").status_code == 404  # nothing half-stored
        # Searches are still served from memory.
        assert c.post("/search", json={"text": "証明書の期限切れ", "k": 3}).status_code == 200
        (small_disk / "filler").unlink()
        r = c.post("/cases", json=make_case("full-2", "フルディスク"))
        assert r.status_code == 201, r.text
        assert c.get("/health").json()["store_state"]["state"] == "ok"


def test_a_start_on_a_full_disk_fails_at_once_with_one_line(small_disk, server, spawn):
    data = clone_data_dir(server.template, small_disk / "data")
    shutil.rmtree(data / "index")  # a start that would rebuild everything
    _fill(small_disk)
    srv = spawn(data_dir=data, start=False)
    with pytest.raises(ServerExited) as exc:
        srv.start()
    errors = [line for line in exc.value.output.splitlines() if line.startswith("error:")]
    assert exc.value.returncode == 1 and len(errors) == 1, exc.value.output
    assert "full" in errors[0] and "Traceback" not in exc.value.output
