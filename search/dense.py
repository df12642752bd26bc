"""Vectors in faiss, several per case allowed, scored per case by their best vector.

Index type by size (measured with an earlier version of ``bench``, 2026-11-24):

- below ``IVF_FLOAT_MIN_VECTORS`` (20k rows) an exact ``IndexFlatIP``: no training, no
  tuning, and the 44-case seed index stays exact;
- from there to ``IVF_MIN_VECTORS`` an IVF index of float32 vectors (``ivf-flat``, same
  lists as below, probing a quarter of them): the exact scan of 45k rows for the 4,500 a
  ranking asks for was the largest cost of a query at 10k bench cases (``python -m
  bench.rank_cpu``, which prints this index's recall@10 against exact search;
  ``tests/search/test_dense.py`` checks recall on its own vectors); its scores are exact,
  only the rows reached are approximate;
- from there an IVF index with ``nlist ≈ 2·√n`` lists, trained on a seeded sample of
  ``TRAIN_PER_LIST`` vectors per list, probing ``nprobe = nlist / 8`` lists (1/8 of the
  vectors scanned). In that benchmark's ``kizuki-build`` stage (float codes), recall@10
  against exact search was 0.991 at 100k and 0.997 at 1M, and building the 1M index took
  18 s; the dense stage of a query took 1.8 ms p50 at 100k and 8.4 ms at 1M. HNSW reached
  0.98 only with efConstruction 200 (minutes at 100k) and needs an efSearch above the 1,000
  rows a fused ranking asks for.
- the IVF lists hold 8-bit scalar-quantised codes (``IndexIVFScalarQuantizer``, ``QT_8bit``:
  a quarter of float32's bytes, the bulk of an index at scale), and the best
  ``RESCORE_TOP`` rows a query gets back are rescored with their float32 vectors
  (memory-mapped from the snapshot, read at random): the rows the results shown come from
  have exact cosines, the rows further down keep their 8-bit scores, which only decide the
  cut thousands of rows below (``tests/search/test_dense.py`` checks recall against exact
  search; ``bench`` at scale). Rescoring every row returned read 9,000 random rows of a
  7 GB file per query at 10^6 cases, and their pages stayed mapped (README, "A million
  cases on one machine").

Rows added after the build (``with_rows``) go to a small exact index searched alongside the
bulk, so a new case is searchable without touching the bulk; ``needs_rebuild`` tells the
owner when that tail has grown enough to fold in.
"""

from __future__ import annotations

import json
import math
import mmap
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

IVF_MIN_VECTORS = 50_000
#: From this many rows up to ``IVF_MIN_VECTORS`` an IVF index of float32 vectors
#: (``ivf-flat``) probing ``1 / FLOAT_NPROBE_FRACTION`` of its lists: the ranking asks for
#: ~4,500 rows, and an exact scan of them all was the largest part of a query at 10k cases
#: (``python -m bench.rank_cpu``, README "Ranking as fast as the peers").
IVF_FLOAT_MIN_VECTORS = 20_000
FLOAT_NPROBE_FRACTION = 4
TRAIN_PER_LIST = 32
NPROBE_FRACTION = 8
#: The quantised bulk's best rows rescored with their float32 vectors, so that the 8-bit
#: codes' small score errors do not reorder the rows the results shown come from; at least
#: this many are fetched even when fewer are asked for.
RESCORE_TOP = 256
#: The added rows are folded into the bulk once they exceed this share of it (or 2,000).
TAIL_FRACTION = 0.05

# Single queries are about twice as fast on one thread than on two (measured.md).
faiss.omp_set_num_threads(1)


def ivf_lists(n: int) -> int:
    return max(1, int(round(2 * math.sqrt(n))))


def _kind(n_rows: int) -> str:
    """The index a bulk of ``n_rows`` vectors gets (exact below ``IVF_FLOAT_MIN_VECTORS``)."""
    if n_rows >= IVF_MIN_VECTORS:
        return "ivf-sq8"
    return "ivf-flat" if n_rows >= IVF_FLOAT_MIN_VECTORS else "flat"


class DenseIndex:
    """Rows of L2-normalised vectors; ``owners[i]`` is the document (case) row ``i`` belongs to.

    ``views[i]`` names what text row ``i`` embeds (e.g. ``event+causes``), for explanations.
    """

    #: One view's bulk rows, saved again side by side (``save(contiguous_view=...)``): their
    #: row ids, sorted, and their vectors; none until loaded from a snapshot that has them.
    _compact_rows = np.zeros(0, np.int64)
    _compact: np.ndarray | None = None

    def __init__(self, vectors: np.ndarray, owners: Sequence[int], views: Sequence[str]) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(owners) or len(owners) != len(views):
            raise ValueError("vectors, owners and views must have matching lengths")
        self._base_vectors = vectors
        self._tail_vectors = np.zeros((0, vectors.shape[1]), np.float32)
        self.owners = np.asarray(owners, dtype=np.int64)
        self._view_names, self._view_codes = _view_codes(views)
        self.dim = vectors.shape[1]
        self.kind = _kind(len(vectors))
        self.n_base = len(vectors)
        self._index = self._build(vectors)
        self._tail: faiss.Index | None = None

    @property
    def vectors(self) -> np.ndarray:
        """All rows' vectors (a copy when rows were added: use ``row_vectors`` for a few)."""
        if not len(self._tail_vectors):
            return self._base_vectors
        return np.concatenate([self._base_vectors, self._tail_vectors])

    def row_vectors(self, rows: np.ndarray) -> np.ndarray:
        """These rows' float32 vectors. A saved snapshot's rows are read from disk: rows of
        the contiguous view from their own small file, the rest from the whole one."""
        rows = np.asarray(rows, np.int64)
        out = np.empty((len(rows), self.dim), np.float32)
        base = rows < self.n_base
        if len(self._compact_rows):
            at = np.minimum(np.searchsorted(self._compact_rows, rows), len(self._compact_rows) - 1)
            compact = base & (self._compact_rows[at] == rows)
            out[compact] = self._compact[at[compact]]
            base &= ~compact
        out[base] = self._base_vectors[rows[base]]
        tail = rows >= self.n_base
        out[tail] = self._tail_vectors[rows[tail] - self.n_base]
        return out

    def _build(self, vectors: np.ndarray) -> faiss.Index:
        if self.kind != "flat":
            nlist = ivf_lists(len(vectors))
            quantizer = faiss.IndexFlatIP(self.dim)
            if self.kind == "ivf-flat":
                index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFScalarQuantizer(
                    quantizer,
                    self.dim,
                    nlist,
                    faiss.ScalarQuantizer.QT_8bit,
                    faiss.METRIC_INNER_PRODUCT,
                )
            rng = np.random.default_rng(0)
            n_train = min(len(vectors), TRAIN_PER_LIST * nlist)
            sample = vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))]
            index.cp.min_points_per_centroid = 1  # the sample is deliberately small
            index.train(np.ascontiguousarray(sample))
            index.add(vectors)
            fraction = FLOAT_NPROBE_FRACTION if self.kind == "ivf-flat" else NPROBE_FRACTION
            index.nprobe = max(1, nlist // fraction)
            self._quantizer = quantizer  # keep the Python object alive with the index
            return index
        index = faiss.IndexFlatIP(self.dim)
        if len(vectors):
            index.add(vectors)
        return index

    @property
    def view_codes(self) -> tuple[list[str], np.ndarray]:
        """The distinct view names (first-seen order) and each row's position among them:
        a small integer per row, not a string (4.5 million rows at 10^6 cases)."""
        return self._view_names, self._view_codes

    @property
    def views(self) -> list[str]:
        """Each row's view name (a list built on demand: use ``view_codes`` for many rows)."""
        names = self._view_names
        return [names[c] for c in self._view_codes.tolist()]

    @property
    def n_rows(self) -> int:
        return len(self.owners)

    @property
    def n_tail(self) -> int:
        return self.n_rows - self.n_base

    def needs_rebuild(self) -> bool:
        return self.n_tail > max(2_000, TAIL_FRACTION * self.n_base)

    def row_scores(
        self, queries: np.ndarray, n_rows: int | None = None, allowed: np.ndarray | None = None
    ):
        """Inner products of each query with its nearest rows: (scores, row ids), -1 = none.

        ``n_rows=None`` asks for every row. ``allowed`` (a bool per row) restricts the search
        to those rows (a sector filter), inside faiss, so k allowed rows still come back."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        total = self.n_rows if allowed is None else int(allowed.sum())
        n = total if n_rows is None else min(n_rows, total)
        empty = (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        if n == 0:
            return empty
        parts = []
        if self.n_base:
            params = None
            if allowed is not None:
                params = self._params(allowed[: self.n_base], ivf=self.kind != "flat")
            if self.kind == "ivf-sq8":
                # 8-bit codes misorder near-ties: fetch at least RESCORE_TOP rows, rescore
                # that many exactly and keep the best n.
                wanted = min(max(n, RESCORE_TOP), self.n_base)
                found = self._index.search(queries, wanted, params=params)
                sims, rows = self._rescored(queries, *found)
                parts.append((sims[:, : min(n, self.n_base)], rows[:, : min(n, self.n_base)]))
            else:
                parts.append(self._index.search(queries, min(n, self.n_base), params=params))
        if self._tail is not None:
            params = self._params(allowed[self.n_base :]) if allowed is not None else None
            t_sims, t_rows = self._tail.search(queries, min(n, self.n_tail), params=params)
            parts.append((t_sims, np.where(t_rows >= 0, t_rows + self.n_base, -1)))
        if len(parts) == 1:
            return parts[0]
        sims = np.concatenate([p[0] for p in parts], axis=1)
        rows = np.concatenate([p[1] for p in parts], axis=1)
        sims = np.where(rows >= 0, sims, -np.inf)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :n]
        sims = np.take_along_axis(sims, order, axis=1)
        rows = np.take_along_axis(rows, order, axis=1)
        return np.where(rows >= 0, sims, 0).astype(np.float32), rows

    def _rescored(self, queries: np.ndarray, sims: np.ndarray, rows: np.ndarray):
        """The quantised search's rows, the first ``RESCORE_TOP`` with their exact (float32)
        scores, the rest with their 8-bit ones, best first."""
        top = min(RESCORE_TOP, rows.shape[1])
        head = rows[:, :top]
        ok = head >= 0
        scores = np.where(rows >= 0, sims, -np.inf).astype(np.float32)
        if ok.any():
            # Sorted, distinct row ids: the memory-mapped file is read front to back, once.
            wanted = np.unique(head[ok])
            vecs = self.row_vectors(wanted)[np.searchsorted(wanted, np.where(ok, head, wanted[0]))]
            scores[:, :top] = np.where(ok, np.einsum("qnd,qd->qn", vecs, queries), -np.inf)
        order = np.argsort(-scores, axis=1, kind="stable")
        rows = np.take_along_axis(rows, order, axis=1)
        return np.where(rows >= 0, np.take_along_axis(scores, order, axis=1), 0), rows

    def code_bytes(self) -> int:
        """Bytes of the faiss bulk index as saved (codes, lists and centroids)."""
        return int(faiss.serialize_index(self._index).nbytes)

    def _params(self, allowed: np.ndarray, ivf: bool = False):
        """faiss search parameters that skip the rows not allowed."""
        bits = np.packbits(np.asarray(allowed, dtype=np.uint8), bitorder="little")
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        if ivf:
            index = faiss.extract_index_ivf(self._index)
            # A filter keeping a share s of the rows leaves ~s of each probed list: probe
            # more lists so about as many allowed rows are scanned.
            share = max(float(allowed.mean()), 1e-6)
            nprobe = min(index.nlist, int(np.ceil(index.nprobe / share)))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector)
        params._keep = (bits, selector)  # the bitmap must outlive the search
        return params

    def with_rows(self, vectors: np.ndarray, owners, views) -> DenseIndex:
        """A new index with rows appended to the exact tail; the bulk is shared, not copied."""
        vectors = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        new = DenseIndex.__new__(DenseIndex)
        new.__dict__.update(self.__dict__)
        new._tail_vectors = np.concatenate([self._tail_vectors, vectors])
        new.owners = np.concatenate([self.owners, np.asarray(owners, np.int64)])
        names, codes = _view_codes(views, self._view_names)
        new._view_names, new._view_codes = names, np.concatenate([self._view_codes, codes])
        tail = faiss.IndexFlatIP(self.dim)
        tail.add(new._tail_vectors)
        new._tail = tail if tail.ntotal else None
        return new

    def rebuilt(self) -> DenseIndex:
        """All rows in one index of the kind their number calls for."""
        return DenseIndex(np.asarray(self.vectors), self.owners, self.views)

    def save(self, directory: str | Path, contiguous_view: str | None = None) -> None:
        """``contiguous_view``: a view with one row per document, read for thousands of
        candidates per query (the case's own text, for its facet reading) and saved again in
        a file of its own: at 10^6 cases those reads touch 1.5 GB instead of pages all over
        the 7 GB of every row (README, "A million cases on one machine")."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "vectors.npy", np.asarray(self.vectors))
        if contiguous_view in self._view_names:
            rows = np.flatnonzero(self._view_codes == self._view_names.index(contiguous_view))
            np.save(directory / "contiguous_rows.npy", rows.astype(np.int64))
            np.save(directory / "contiguous.npy", self.row_vectors(rows))
        np.save(directory / "owners.npy", self.owners)
        np.save(directory / "view_codes.npy", self._view_codes)
        (directory / "dense.json").write_text(
            json.dumps(
                {"view_names": self._view_names, "kind": self.kind, "n_base": self.n_base},
                ensure_ascii=False,
            )
        )
        faiss.write_index(self._index, str(directory / "faiss.index"))

    @classmethod
    def load(cls, directory: str | Path) -> DenseIndex:
        """The vectors stay on disk (memory-mapped; faiss holds its own copy to search)."""
        directory = Path(directory)
        self = cls.__new__(cls)
        vectors = np.load(directory / "vectors.npy", mmap_mode="r")
        _read_at_random(vectors)
        self.owners = np.load(directory / "owners.npy")
        meta = json.loads((directory / "dense.json").read_text())
        if "views" in meta:  # saved before view codes
            self._view_names, self._view_codes = _view_codes(meta["views"])
        else:
            self._view_names = meta["view_names"]
            self._view_codes = np.load(directory / "view_codes.npy")
        self.kind = meta["kind"]
        self.dim = vectors.shape[1] if vectors.ndim == 2 else 0
        self.n_base = meta.get("n_base", len(self.owners))
        self._base_vectors = vectors[: self.n_base]
        self._tail_vectors = np.array(vectors[self.n_base :], np.float32)
        # Memory-mapped: the codes stay in the file (page cache), not in this process's heap;
        # warm queries run as fast as from memory (measured: IVF at 1M, 8 ms either way).
        self._index = faiss.read_index(str(directory / "faiss.index"), faiss.IO_FLAG_MMAP_IFC)
        self._tail = None
        if (directory / "contiguous_rows.npy").exists():
            # Rows of the tail are read from memory; only the bulk's need the copy.
            rows = np.load(directory / "contiguous_rows.npy")
            keep = rows < self.n_base
            self._compact_rows = rows[keep]
            compact = np.load(directory / "contiguous.npy", mmap_mode="r")
            _read_at_random(compact)
            self._compact = compact[: int(keep.sum())]
        if len(self._tail_vectors):
            self._tail = faiss.IndexFlatIP(self.dim)
            self._tail.add(self._tail_vectors)
        return self


def _read_at_random(vectors: np.ndarray) -> None:
    """Tell the kernel a memory-mapped file is read at random rows (rescoring, facet readings):
    no read-ahead, so a query's few hundred rows do not pull in megabytes around them."""
    mapped = getattr(vectors, "_mmap", None)
    if mapped is not None and hasattr(mapped, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)


def _view_codes(views: Sequence[str], names: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """View names (``names`` first, then new ones in first-seen order) and each row's code."""
    names = list(names)
    pos = {v: j for j, v in enumerate(names)}
    codes = np.empty(len(views), np.int16)
    for i, view in enumerate(views):
        if view not in pos:
            pos[view] = len(names)
            names.append(view)
        codes[i] = pos[view]
    return names, codes
