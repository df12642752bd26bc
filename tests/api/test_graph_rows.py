"""A write saves only its own cases' graph rows, never the whole graph; a restart (after a
clean stop or a SIGKILL in the middle of writes) rebuilds from those rows the graph that was
served, without tagging or searching the cases again, and its extraction equals a full
rebuild's."""

from __future__ import annotations

import json
import shutil
import sqlite3

import networkx as nx
from kizuki.api.runtime import derive
from kizuki.api.runtime.loader import load_models
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
from kizuki.graph.build import EXTRACTIONS, SIMILAR_TO
from kizuki_http import kill_mid_stream


def _imported(i: int) -> Case:
    return Case(
        id=f"rows-{i}",
        event=f"夜間バッチ {i} が異常終了し、口座振替 {i} 件が翌日に遅延した。",
        causes=[f"ジョブ {i} の設定変更の確認漏れ。"],
        countermeasures=[f"変更 {i} 時の再鑑を徹底する。"],
    )


def _canon(graph: nx.MultiDiGraph, similar: bool = True) -> tuple[list, list]:
    """Nodes and edges with their data, comparable across processes."""
    nodes = sorted(
        json.dumps([n, d], sort_keys=True, default=str) for n, d in graph.nodes(data=True)
    )
    edges = sorted(
        json.dumps([u, v, k, d], sort_keys=True, default=str)
        for u, v, k, d in graph.edges(keys=True, data=True)
        if similar or k != SIMILAR_TO
    )
    return nodes, edges


def _restart(settings: Settings, monkeypatch) -> tuple:
    """A new process's start on the data dir (no row remembered), counting what it tags."""
    derive._graph_log.cache_clear()
    extractor = load_models(settings).extractor
    tagged: list[str] = []
    original = extractor.tag

    def counting(sentence, kind):
        tagged.append(sentence)
        return original(sentence, kind)

    monkeypatch.setattr(extractor, "tag", counting)
    snap = build_snapshot(read_state(open_store(settings)), settings)
    monkeypatch.setattr(extractor, "tag", original)
    return snap, tagged


def _rows(settings: Settings) -> list[tuple]:
    with sqlite3.connect(settings.data_dir / "graph" / "cases.sqlite3") as conn:
        return conn.execute("SELECT case_id FROM case_graph").fetchall()


def _full_rebuild(settings: Settings, tmp_path) -> nx.MultiDiGraph:
    """The graph of the same store built from nothing (no saved graph, no rows)."""
    fresh = Settings(data_dir=tmp_path / "rebuilt", cache_dir=settings.embedding_cache_dir)
    fresh.data_dir.mkdir()
    for name in ("cases.sqlite3", "cases.sqlite3-wal", "cases.sqlite3-shm"):
        if (settings.data_dir / name).exists():
            shutil.copy(settings.data_dir / name, fresh.data_dir / name)
    derive._graph_log.cache_clear()
    return build_snapshot(read_state(open_store(fresh)), fresh).graph


def test_writes_save_rows_not_the_graph_and_a_restart_serves_the_same_graph(
    tmp_path, monkeypatch, seed_settings
):
    settings = Settings(data_dir=tmp_path / "data", cache_dir=seed_settings.embedding_cache_dir)
    store = open_store(settings)
    store.ensure_seeded(seed_cases())
    snap = build_snapshot(read_state(store), settings)
    saved = settings.data_dir / "graph" / "graph.json"
    before = (saved.stat().st_mtime_ns, saved.stat().st_ino, saved.stat().st_size)
    for i in range(3):  # writes as the service makes them: derive, commit, save
        store.add_cases([_imported(i)], origin="api")
        snap = update_snapshot(snap, read_state(store), settings, persist=False)
        persist_snapshot(snap, settings)
    store.delete_case("fsa2019-44")
    snap = update_snapshot(snap, read_state(store), settings, persist=False)
    persist_snapshot(snap, settings)
    assert (saved.stat().st_mtime_ns, saved.stat().st_ino, saved.stat().st_size) == before
    ids = {r[0] for r in _rows(settings)}
    assert {"rows-0", "rows-1", "rows-2"} <= ids and "fsa2019-44" not in ids

    restarted, tagged = _restart(settings, monkeypatch)
    assert tagged == [], "a case with a saved row was tagged again"
    assert _canon(restarted.graph) == _canon(snap.graph)
    assert restarted.graph.graph[EXTRACTIONS] == snap.graph.graph[EXTRACTIONS]
    # the start saved the whole graph again: the next one just loads it
    assert saved.stat().st_mtime_ns != before[0]

    rebuilt = _full_rebuild(settings, tmp_path)
    assert _canon(rebuilt, similar=False) == _canon(snap.graph, similar=False)
    assert rebuilt.graph[EXTRACTIONS] == snap.graph.graph[EXTRACTIONS]


def test_a_row_of_an_edited_case_is_not_reused(tmp_path, monkeypatch, seed_settings):
    settings = Settings(data_dir=tmp_path / "data", cache_dir=seed_settings.embedding_cache_dir)
    store = open_store(settings)
    store.ensure_seeded(seed_cases())
    store.add_cases([_imported(0), _imported(1)], origin="api")
    build_snapshot(read_state(store), settings)
    edited = _imported(1).model_copy(update={"causes": ["運用手順書の記載誤り。"]})
    store.delete_case("rows-1")
    store.add_cases([edited], origin="api")  # as another process would, server stopped
    restarted, tagged = _restart(settings, monkeypatch)
    assert tagged and set(tagged) <= {edited.event, *edited.causes, *edited.countermeasures}
    rebuilt = _full_rebuild(settings, tmp_path)
    assert _canon(restarted.graph, similar=False) == _canon(rebuilt, similar=False)


def test_sigkill_during_writes_then_restart_equals_a_full_rebuild(spawn, tmp_path, monkeypatch):
    srv = spawn()
    sent, acknowledged, pending = kill_mid_stream(srv)
    settings = Settings(data_dir=srv.data_dir, cache_dir=srv.cache_dir)
    stored = read_state(open_store(settings)).cases
    rows = {r[0] for r in _rows(settings)}  # what the killed server had recorded
    restarted, tagged = _restart(settings, monkeypatch)
    served = {c.id for c in restarted.cases}
    assert set(acknowledged) <= served and served == {c.id for c in stored}
    assert len(rows) > 44, "no write's rows were recorded as the writes were made"
    # only the cases whose rows the kill cut off are tagged again
    again = {c.id for c in restarted.cases if any(s in tagged for s in c.causes)}
    assert again <= served - rows
    rebuilt = _full_rebuild(settings, tmp_path)
    assert _canon(restarted.graph, similar=False) == _canon(rebuilt, similar=False)
    assert restarted.graph.graph[EXTRACTIONS] == rebuilt.graph[EXTRACTIONS]
    for case_id in served:  # every case has its similar cases, recorded or searched again
        similar = [
            v for _, v, k in restarted.graph.out_edges(case_id, keys=True) if k == SIMILAR_TO
        ]
        assert len(similar) == derive.SIMILAR_K and set(similar) <= served
