"""faiss by size: exact below IVF_MIN_VECTORS, IVF above; added rows; filters inside faiss."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kizuki.search import dense as dense_mod
from kizuki.search.dense import DenseIndex


def _vectors(n, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    x = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _exact_top(x, q, k):
    return np.argsort(-(x @ q.T).T, axis=1)[:, :k]


def test_ivf_above_the_threshold_keeps_recall(monkeypatch):
    monkeypatch.setattr(dense_mod, "IVF_MIN_VECTORS", 2_000)
    x, q = _vectors(6_000), _vectors(50, seed=1)
    index = DenseIndex(x, range(len(x)), ["v"] * len(x))
    assert index.kind == "ivf-sq8"
    _, rows = index.row_scores(q, n_rows=10)
    exact = _exact_top(x, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact, strict=True)])
    assert recall >= 0.95


def test_added_rows_are_searched_beside_the_bulk():
    x = _vectors(300)
    index = DenseIndex(x[:290], range(290), ["v"] * 290)
    grown = index.with_rows(x[290:], range(290, 300), ["v"] * 10)
    assert grown.n_base == 290 and grown.n_tail == 10 and index.n_rows == 290
    sims, rows = grown.row_scores(x[295:296], n_rows=3)
    assert rows[0, 0] == 295 and sims[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(grown.row_vectors(np.array([3, 297])), x[[3, 297]])
    full = grown.row_scores(x[:5])
    assert full[1].shape == (5, 300) and set(full[1][0]) == set(range(300))
    assert not grown.needs_rebuild() and grown.rebuilt().n_tail == 0


def test_filtered_search_returns_only_allowed_rows(monkeypatch):
    monkeypatch.setattr(dense_mod, "IVF_MIN_VECTORS", 2_000)
    x = _vectors(4_000)
    allowed = np.zeros(len(x), bool)
    allowed[::50] = True  # 2 % of the rows
    for index in (
        DenseIndex(x, range(len(x)), ["v"] * len(x)),
        DenseIndex(x[:3_000], range(3_000), ["v"] * 3_000).with_rows(
            x[3_000:], range(3_000, 4_000), ["v"] * 1_000
        ),
    ):
        _, rows = index.row_scores(x[:3], n_rows=20, allowed=allowed)
        assert rows.shape == (3, 20) and allowed[rows].all()


def test_snapshot_keeps_the_tail(tmp_path):
    x = _vectors(100)
    grown = DenseIndex(x[:90], range(90), ["v"] * 90).with_rows(x[90:], range(90, 100), ["v"] * 10)
    grown.save(tmp_path / "d")
    loaded = DenseIndex.load(tmp_path / "d")
    assert loaded.n_tail == 10 and np.array_equal(loaded.vectors, x)
    assert np.array_equal(loaded.row_scores(x[:2], 5)[1], grown.row_scores(x[:2], 5)[1])


def test_quantised_ivf_is_a_quarter_of_float_and_keeps_recall_with_exact_scores(monkeypatch):
    """The IVF bulk holds 8-bit codes; the rows found are rescored with float32 vectors."""
    monkeypatch.setattr(dense_mod, "IVF_MIN_VECTORS", 2_000)
    x, q = _vectors(8_000, dim=64), _vectors(60, dim=64, seed=1)
    index = DenseIndex(x, range(len(x)), ["v"] * len(x))
    assert index.kind == "ivf-sq8"
    assert index.code_bytes() < 0.35 * x.nbytes
    sims, rows = index.row_scores(q, n_rows=10)
    exact = _exact_top(x, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact, strict=True)])
    assert recall >= 0.95
    assert np.allclose(sims, np.einsum("qkd,qd->qk", x[rows], q), atol=1e-5)
    assert (np.diff(sims, axis=1) <= 1e-7).all()


def test_a_saved_quantised_index_searches_like_the_built_one(tmp_path, monkeypatch):
    monkeypatch.setattr(dense_mod, "IVF_MIN_VECTORS", 2_000)
    x = _vectors(3_000)
    index = DenseIndex(x, range(len(x)), ["v"] * len(x))
    index.save(tmp_path / "d")
    loaded = DenseIndex.load(tmp_path / "d")
    assert loaded.kind == "ivf-sq8"
    built, got = index.row_scores(x[:4], 8), loaded.row_scores(x[:4], 8)
    assert np.array_equal(built[1], got[1]) and np.allclose(built[0], got[0])


def test_views_are_one_small_code_per_row_and_an_older_snapshot_still_loads(tmp_path):
    """At 10^6 cases a view name per row would be millions of strings in memory."""
    x = _vectors(30)
    views = ["case", "sentences[]", "sentences[]"] * 10
    index = DenseIndex(x, range(len(x)), views).with_rows(x[:2], [30, 31], ["outside[]"] * 2)
    names, codes = index.view_codes
    assert codes.dtype == np.int16 and names == ["case", "sentences[]", "outside[]"]
    assert index.views == [*views, "outside[]", "outside[]"]
    index.save(tmp_path / "d")
    meta = json.loads((tmp_path / "d" / "dense.json").read_text())
    assert "views" not in meta and DenseIndex.load(tmp_path / "d").views == index.views
    meta["views"] = index.views  # the layout saved before view codes
    del meta["view_names"]
    (tmp_path / "d" / "dense.json").write_text(json.dumps(meta))
    (tmp_path / "d" / "view_codes.npy").unlink()
    assert DenseIndex.load(tmp_path / "d").views == index.views


def test_the_ranking_runs_blas_on_one_thread_and_leaves_the_default_to_others():
    """Small products on two OpenBLAS threads were 27 times slower on a busy machine;
    fitting keeps the default threads (its results depend on them)."""
    from kizuki.search.engine import one_blas_thread
    from threadpoolctl import threadpool_info

    def threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = threads()
    with one_blas_thread():
        assert threads() and set(threads()) == {1}
    assert threads() == before


def test_float_ivf_between_the_thresholds_keeps_recall_deep_and_exact_scores(tmp_path, monkeypatch):
    """From ``IVF_FLOAT_MIN_VECTORS`` rows: IVF over float32 vectors, a quarter of the lists
    probed; the ranking asks for many rows (depth × rows per case), so recall is checked
    deep in the list too, and the scores are the exact inner products."""
    monkeypatch.setattr(dense_mod, "IVF_FLOAT_MIN_VECTORS", 2_000)
    x, q = _vectors(8_000, dim=64), _vectors(60, dim=64, seed=1)
    index = DenseIndex(x, range(len(x)), ["v"] * len(x))
    assert index.kind == "ivf-flat"
    for k in (10, 800):
        sims, rows = index.row_scores(q, n_rows=k)
        exact = _exact_top(x, q, k)
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(rows, exact, strict=True)])
        assert recall >= 0.95, (k, recall)
        found = rows >= 0
        assert np.allclose(sims[found], np.einsum("qkd,qd->qk", x[rows], q)[found], atol=1e-5)
    index.save(tmp_path / "d")
    loaded = DenseIndex.load(tmp_path / "d")
    assert loaded.kind == "ivf-flat"
    built, got = index.row_scores(x[:4], 8), loaded.row_scores(x[:4], 8)
    assert np.array_equal(built[1], got[1]) and np.allclose(built[0], got[0])
    allowed = np.zeros(len(x), bool)
    allowed[::50] = True
    _, rows = loaded.row_scores(x[:3], n_rows=20, allowed=allowed)
    assert rows.shape == (3, 20) and allowed[rows].all()


class _CountingRows(np.ndarray):
    """A vector array that counts the rows read through it (rescoring's random reads)."""

    read: list[int]

    def __getitem__(self, key):
        if isinstance(key, np.ndarray) and key.ndim == 1:
            self.read.append(len(key))
        return np.asarray(super().__getitem__(key))


def test_only_the_best_rows_are_rescored_from_the_float_vectors(monkeypatch):
    """At 10^6 cases every random row read maps a page of a 7 GB file: a query rescores its
    best RESCORE_TOP rows (exact cosines) and keeps 8-bit scores for the rest."""
    monkeypatch.setattr(dense_mod, "IVF_MIN_VECTORS", 2_000)
    monkeypatch.setattr(dense_mod, "RESCORE_TOP", 16)
    x, q = _vectors(6_000, dim=64), _vectors(5, dim=64, seed=1)
    index = DenseIndex(x, range(len(x)), ["v"] * len(x))
    counting = index._base_vectors.view(_CountingRows)
    counting.read = []
    index._base_vectors = counting
    sims, rows = index.row_scores(q, n_rows=200)
    assert rows.shape == (5, 200) and (rows >= 0).all()
    assert sum(counting.read) <= 5 * 16
    exact = np.einsum("qkd,qd->qk", x[rows], q)
    assert (np.diff(sims, axis=1) <= 1e-7).all()
    assert (np.isclose(sims, exact, atol=1e-6).sum(axis=1) >= 16).all()
    assert np.abs(sims - exact).max() < 0.05  # the rest: 8-bit scores, close to exact
    top10 = _exact_top(x, q, 10)
    assert (
        np.mean([len(set(a[:10]) & set(b)) / 10 for a, b in zip(rows, top10, strict=True)]) >= 0.95
    )


def test_one_row_per_case_is_read_from_its_own_file_once_saved(tmp_path):
    """A query reads the case row of thousands of candidates (their facet readings): from a
    saved snapshot they come from a file of case rows alone, not from pages all over every
    row's file."""
    x = _vectors(90)
    views = ["case", "sentences[]", "sentences[]"] * 30
    owners = np.repeat(np.arange(30), 3)
    index = DenseIndex(x[:60], owners[:60], views[:60]).with_rows(x[60:], owners[60:], views[60:])
    index.save(tmp_path / "d", contiguous_view="case")
    loaded = DenseIndex.load(tmp_path / "d")
    assert np.array_equal(loaded.row_vectors(np.arange(90)), x)
    counting = loaded._base_vectors.view(_CountingRows)
    counting.read = []
    loaded._base_vectors = counting
    case_rows = np.arange(0, 90, 3)
    assert np.array_equal(loaded.row_vectors(case_rows[::-1]), x[case_rows[::-1]])
    assert sum(counting.read) == 0
    assert np.array_equal(loaded.row_scores(x[:3], 5)[1], index.row_scores(x[:3], 5)[1])
