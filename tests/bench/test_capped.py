"""bench.capped: the cap is real (a process that cannot fit is stopped) and a fitting one is
measured inside it. Needs a writable cgroup memory controller (root on Linux), else skipped."""

from __future__ import annotations

import pytest

from bench import capped


def _cgroup_or_skip() -> None:
    try:
        capped.MemoryCgroup(2**30).remove()
    except OSError as exc:
        pytest.skip(f"no writable cgroup memory controller: {exc}")


def test_a_small_corpus_is_served_inside_its_cap_and_a_too_small_cap_stops_it(tmp_path, capsys):
    _cgroup_or_skip()
    snapshot = tmp_path / "snap"
    assert (
        capped.main(
            [
                "--cases",
                "200",
                "--snapshot",
                str(snapshot),
                "--memory-mib",
                "2048",
                "--queries",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "inside a memory cap" in out and "200" in out and "mapped files" in out
    result = capped.run(200, snapshot, 2048, 3)
    assert result["peak_mib"] <= 2048 and result["p99_ms"] > 0
    assert result["anon_mib"] + result["file_mib"] <= result["rss_mib"] + 1
    # The interpreter, numpy, faiss and the model's own memory need more than 32 MiB (no
    # swap: what cannot be dropped and read again does not fit, and the kernel stops it).
    assert (
        capped.main(
            ["--cases", "200", "--snapshot", str(snapshot), "--memory-mib", "32", "--queries", "3"]
        )
        == 1
    )
    assert "killed by the kernel" in capsys.readouterr().out
