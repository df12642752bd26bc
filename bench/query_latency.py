"""Warm query latency of one pasted incident over the 44-case seed index.

Goes through ``api.engine.get_searcher`` (the code path of the CLI and the API: hybrid
search plus the graph's cause source) with a temporary data directory, warms up, then
times ``search`` end to end (Sudachi analysis, e5 query embedding, BM25, faiss, cause signs,
features, the learned scorer, the no-match model, explanations).

    python -m bench.query_latency [--runs 300] [--k 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

QUERIES = [
    "朝9時過ぎから個人・法人ともネットバンキングにログインできない。ワンタイムパスワードを"
    "入れると認証エラーになる。近くの信用金庫でも同じ症状が出ているらしい。",
    "週末の定例メンテナンスでジョブの実行順を取り違え、夜間バッチが異常終了した。復旧時に"
    "一時停止していた処理を流し忘れ、月曜朝のオンライン開始が遅れた。",
    "取引サイトの証明書の有効期限が切れていて、お客様のブラウザに警告が出てログインできない。",
    "A hotfix passed all tests in staging but broke production because staging was configured "
    "differently; nobody could access the trading platform for two hours.",
    "委託先がデータベース製品の既知の不具合を修正しておらず、チャージと残高照会が半日止まった。",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    from api.engine import get_searcher
    from corpus.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        started = time.perf_counter()
        searcher = get_searcher(settings)
        build = time.perf_counter() - started
        for text in QUERIES * 3:  # warm-up: caches, allocator
            searcher.search(text, k=args.k)
        timings = []
        for i in range(args.runs):
            # A run number makes every text new, so the service's query-vector memo never
            # answers and each run pays for its own embedding, as a fresh paste does.
            text = f"{QUERIES[i % len(QUERIES)]}\n#{i}"
            t0 = time.perf_counter()
            searcher.search(text, k=args.k)
            timings.append((time.perf_counter() - t0) * 1000)
        started = time.perf_counter()
        get_searcher(settings)
        cached = (time.perf_counter() - started) * 1000

    timings.sort()
    p99 = timings[min(len(timings) - 1, int(round(0.99 * len(timings))) - 1)]
    print(
        f"cases: {len(searcher.index.cases)}  index: {searcher.index.dense.kind}  "
        f"model: {searcher.embedder.model_id}"
    )
    print(f"first get_searcher (seed store + build index, cold cache): {build:.1f} s")
    print(f"get_searcher again (cached): {cached:.2f} ms")
    print(f"warm search, k={args.k}, {args.runs} runs over {len(QUERIES)} pasted incidents:")
    print(
        f"  p50 {statistics.median(timings):.1f} ms   p99 {p99:.1f} ms   "
        f"mean {statistics.fmean(timings):.1f} ms   max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
