"""One schemathesis run against a spawned server, with or without the API key (issue 11, 7).

The two runs live in two test files (``test_schemathesis_with_key.py``,
``test_schemathesis_without_key.py``) so that ``--dist loadfile`` can give them to two
workers: each is a couple of minutes of requests against its own server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kizuki.corpus.settings import Settings
from kizuki_http import API_KEY, ARTIFACTS


def check_schemathesis(spawn, with_key: bool, tmp_path: Path) -> None:
    """Every operation, ``--checks all``, bounded examples, fixed seed: no 5xx, no response
    outside the schema, no schema-valid request refused; the server is whole afterwards."""
    srv = spawn()
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{srv.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "8",
        "--seed",
        "11",
        "--workers",
        "1",
        "--no-color",
        # Longer than any deadline of the server's own (a search gives up with 503 after
        # search_timeout_s, 30 s): a slow answer on a busy machine is the server's to bound;
        # schemathesis's 10 s default failed busy runs with "Read timed out" (issue 22, 7).
        "--request-timeout",
        str(3 * Settings.model_fields["search_timeout_s"].default),
        # Hypothesis's check that generating examples is fast enough measures the machine,
        # not the server: a busy machine failed it on POST /cases.
        "--suppress-health-check",
        "too_slow",
    ]
    if with_key:
        cmd += ["--header", f"X-API-Key: {API_KEY}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    report = ARTIFACTS / f"schemathesis-{'key' if with_key else 'nokey'}.txt"
    if result.returncode != 0:  # the whole report, for the CI log and the artifacts
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        report.write_text(result.stdout + "\n" + result.stderr, encoding="utf-8")
    assert result.returncode == 0, f"full report in {report}:\n{result.stdout}{result.stderr}"
    assert " passed" in result.stdout
    with srv.client() as c:  # and the server is still whole afterwards
        health = c.get("/health").json()
        assert health["status"] == "ok" and not health["skipped_cases"]
