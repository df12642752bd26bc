"""The graph a restart builds when its saved one is stale (another process imported
cases, or the server stopped before saving its newest graph): the saved graph's extraction
results are reused, so only the new cases are tagged again."""

from __future__ import annotations

from kizuki.api.runtime.loader import load_models
from kizuki.api.runtime.snapshot import build_snapshot, read_state
from kizuki.corpus import seed_cases
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import open_store


def _imported(i: int) -> Case:
    return Case(
        id=f"imported-{i}",
        event=f"夜間バッチ {i} が異常終了し、口座振替 {i} 件が翌日に遅延した。",
        causes=[f"ジョブ {i} の設定変更の確認漏れ。"],
        countermeasures=[f"変更 {i} 時の再鑑を徹底する。"],
    )


def test_a_stale_saved_graph_lends_its_extractions(tmp_path, monkeypatch, seed_settings):
    settings = Settings(data_dir=tmp_path / "data", cache_dir=seed_settings.embedding_cache_dir)
    store = open_store(settings)
    store.ensure_seeded(seed_cases())
    store.add_cases([_imported(i) for i in range(3)])
    first = build_snapshot(read_state(store), settings)
    assert {f"imported-{i}" for i in range(3)} <= set(first.graph.graph["extractions"])

    store.add_cases([_imported(3)])  # as `kizuki corpus import` would, server stopped
    extractor = load_models(settings).extractor
    tagged: list[str] = []
    original = extractor.tag

    def counting(sentence, kind):
        tagged.append(sentence)
        return original(sentence, kind)

    monkeypatch.setattr(extractor, "tag", counting)
    second = build_snapshot(read_state(store), settings)
    new = _imported(3)
    assert tagged, "the new case was not tagged"
    assert set(tagged) <= {new.event, *new.causes, *new.countermeasures}
    assert (
        second.graph.graph["extractions"]["imported-0"]
        == first.graph.graph["extractions"]["imported-0"]
    )
