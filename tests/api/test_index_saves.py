"""A write that only appends to the index's tails does not save the whole index again; a
start grows the saved index by the cases it lacks (embeddings from the cache, nothing
re-built), and serves what the writing process served: the same search results, graph
and extraction, equal to a full rebuild's where a rebuild does not rank differently by
design (``similar_to`` edges aside, as in ``test_graph_rows``)."""

from __future__ import annotations

import shutil

import pytest
from kizuki.api.runtime import derive, index_saves
from kizuki.api.runtime.snapshot import (
    build_snapshot,
    persist_snapshot,
    read_state,
    update_snapshot,
)
from kizuki.corpus import seed_cases
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import open_store
from kizuki.graph.build import EXTRACTIONS
from kizuki.graph.ranking import cause_holders
from kizuki.search import index as search_index
from kizuki.search import snapshot_files
from test_graph_rows import _canon

QUERIES = [
    "夜間バッチが異常終了し口座振替が遅延した",
    "ATM が停止し入出金ができなくなった",
    "委託先の作業ミスでシステムが停止した",
]


SYSTEMS = ["勘定系", "ATM", "インターネットバンキング", "外為系", "コールセンター", "営業店系"]
EFFECTS = ["口座振替", "入出金", "振込", "外国送金", "問い合わせ対応", "窓口取引"]


def _imported(i: int) -> Case:
    return Case(
        id=f"saves-{i}",
        event=f"{SYSTEMS[i]}の夜間バッチが異常終了し、{EFFECTS[i]}が翌日まで遅延した。",
        causes=[f"{SYSTEMS[i]}のジョブ設定変更の確認漏れ。", "委託先の作業ミスがあった。"],
        countermeasures=[f"{SYSTEMS[i]}の変更時の再鑑を徹底する。"],
    )


def _results(snap) -> list[list[tuple[str, float]]]:
    return [
        [(r.case_id, round(float(r.score), 5)) for r in snap.searcher.search(q, k=10).results]
        for q in QUERIES
    ]


def _forget() -> None:
    """What a new process starts with: no saved or recorded state remembered."""
    derive._graph_log.cache_clear()
    derive._index_saves.cache_clear()


@pytest.fixture
def grown_store(tmp_path, monkeypatch, seed_settings):
    """A store of the 44 cases whose index appends to its tails (as above 10k cases)."""
    monkeypatch.setattr(search_index, "REINDEX_BELOW", 10)
    monkeypatch.setattr(index_saves, "SAVE_EVERY_CASES", 4)
    settings = Settings(data_dir=tmp_path / "data", cache_dir=seed_settings.embedding_cache_dir)
    store = open_store(settings)
    store.ensure_seeded(seed_cases())
    _forget()
    return settings, store


def _write(snap, store, settings, cases=(), delete=None):
    """One write as the service makes it: derive, commit, then the background save."""
    if delete:
        store.delete_case(delete)
    if cases:
        store.add_cases(list(cases), origin="api")
    snap = update_snapshot(snap, read_state(store), settings, persist=False)
    persist_snapshot(snap, settings)
    return snap


def test_appending_writes_save_the_index_only_every_few_cases_and_a_start_catches_up(
    grown_store, monkeypatch, tmp_path
):
    settings, store = grown_store
    snap = build_snapshot(read_state(store), settings)
    version = snapshot_files.current_version(settings.index_dir)
    for i in range(3):
        snap = _write(snap, store, settings, [_imported(i)])
        assert snapshot_files.current_version(settings.index_dir) == version, (
            f"write {i} saved the whole index again"
        )
    snap = _write(snap, store, settings, [_imported(3)])  # the 4th case since the save
    assert snapshot_files.current_version(settings.index_dir) != version
    version = snapshot_files.current_version(settings.index_dir)
    snap = _write(snap, store, settings, delete="fsa2019-44")  # the bulk changes: saved
    assert snapshot_files.current_version(settings.index_dir) != version
    version = snapshot_files.current_version(settings.index_dir)
    for i in range(4, 6):
        snap = _write(snap, store, settings, [_imported(i)])
    assert snapshot_files.current_version(settings.index_dir) == version
    assert snap.ranker.holders == cause_holders(snap.graph)  # grown write by write

    # a new process: the saved index lacks two cases; it is grown, not rebuilt
    _forget()
    built = []
    original = search_index.SearchIndex.build
    monkeypatch.setattr(
        search_index.SearchIndex,
        "build",
        classmethod(lambda cls, *a, **k: built.append(1) or original(*a, **k)),
    )
    restarted = build_snapshot(read_state(store), settings)
    assert not built, "the start rebuilt the index instead of growing the saved one"
    assert restarted.index.ids == snap.index.ids
    assert _results(restarted) == _results(snap)
    assert _canon(restarted.graph) == _canon(snap.graph)
    assert restarted.graph.graph[EXTRACTIONS] == snap.graph.graph[EXTRACTIONS]

    # a full rebuild from the same store: the same graph and extraction, and each written
    # case found first by its own text
    fresh = Settings(data_dir=tmp_path / "rebuilt", cache_dir=settings.embedding_cache_dir)
    fresh.data_dir.mkdir()
    for name in ("cases.sqlite3", "cases.sqlite3-wal", "cases.sqlite3-shm"):
        if (settings.data_dir / name).exists():
            shutil.copy(settings.data_dir / name, fresh.data_dir / name)
    _forget()
    rebuilt = build_snapshot(read_state(open_store(fresh)), fresh)
    assert built, "the rebuild did not build"
    assert _canon(rebuilt.graph, similar=False) == _canon(snap.graph, similar=False)
    assert rebuilt.graph.graph[EXTRACTIONS] == snap.graph.graph[EXTRACTIONS]
    for i in (0, 5):
        text = _imported(i).event
        assert snap.searcher.search(text, k=1).results[0].case_id == f"saves-{i}"
        assert rebuilt.searcher.search(text, k=1).results[0].case_id == f"saves-{i}"
