"""Snapshot files on disk (issue 11, points 4 and 5): every file of a saved index is
flipped, truncated and deleted in turn, and each change is caught by its checksum (so a
start rebuilds instead of serving it); a rebuild serves the same rankings; the served
snapshot is swapped in one atomic step; crash debris of dead processes is removed."""

from __future__ import annotations

import os
import shutil

import pytest
from kizuki.corpus import seed_cases
from kizuki.corpus.outside import outside_views
from kizuki.corpus.settings import Settings
from kizuki.search import snapshot_files
from kizuki.search.engine import Searcher
from kizuki.search.index import CorruptSnapshot, SearchIndex, ensure_index

QUERIES = ["ATMが停止した", "証明書の期限切れでインターネットバンキングに接続できない"]


def _mutations(path):
    data = path.read_bytes()
    yield (
        "flip",
        lambda: path.write_bytes(
            data[: len(data) // 2]
            + bytes([data[len(data) // 2] ^ 0x01])
            + data[len(data) // 2 + 1 :]
        ),
    )
    yield "truncate", lambda: path.write_bytes(data[: len(data) // 2])
    yield "delete", path.unlink


def _ranked(index, embedder, analyzer):
    searcher = Searcher(index, embedder, analyzer)
    return [
        [(r.case_id, round(r.score, 9)) for r in searcher.search(q, k=10).results] for q in QUERIES
    ]


def test_every_file_flipped_truncated_or_deleted_is_caught(seed_index, seed_settings, tmp_path):
    source = seed_settings.index_dir
    files = [p.relative_to(source) for p in source.rglob("*") if p.is_file()]
    files = [f for f in files if f.name != "manifest.json"]
    assert len(files) >= 8 and any(f.name == "faiss.index" for f in files)
    for rel in files:
        for kind, mutate in _mutations(source / rel):
            copy = tmp_path / f"{rel.as_posix().replace('/', '_')}-{kind}"
            shutil.copytree(source, copy)
            _, mutate = next((k, m) for k, m in _mutations(copy / rel) if k == kind)
            mutate()
            with pytest.raises(CorruptSnapshot, match=rel.name):
                SearchIndex.load(copy, verify="full")
            if kind != "flip":  # sizes alone catch these (the cheap check of large indexes)
                with pytest.raises(CorruptSnapshot):
                    SearchIndex.load(copy, verify="sizes")
            shutil.rmtree(copy)
    # The manifest itself: cut short, it cannot be read (ensure_index then rebuilds).
    copy = tmp_path / "manifest-truncate"
    shutil.copytree(source, copy)
    text = (copy / "manifest.json").read_bytes()
    (copy / "manifest.json").write_bytes(text[: len(text) // 2])
    with pytest.raises(ValueError):
        SearchIndex.load(copy, verify="full")


@pytest.mark.parametrize("kind", ["flip", "truncate", "delete"])
def test_a_start_on_a_corrupt_file_rebuilds_and_ranks_the_same(
    kind, seed_index, seed_settings, seed_embedder, seed_analyzer, tmp_path
):
    settings = Settings(data_dir=tmp_path, cache_dir=seed_settings.embedding_cache_dir)
    shutil.copytree(seed_settings.index_dir, settings.index_dir)
    target = {"flip": "dense/faiss.index", "truncate": "cases.jsonl", "delete": "cases.offsets.npy"}
    _, mutate = next((k, m) for k, m in _mutations(settings.index_dir / target[kind]) if k == kind)
    mutate()
    events: list[str] = []
    cases = list(seed_cases())
    index = ensure_index(
        cases,
        settings,
        seed_embedder,
        seed_analyzer,
        outside=outside_views(cases, settings.outside_views),
        report=events.append,
    )
    assert any(target[kind] in e and "rebuilding" in e for e in events), events
    assert _ranked(index, seed_embedder, seed_analyzer) == _ranked(
        seed_index, seed_embedder, seed_analyzer
    )
    assert SearchIndex.load(settings.index_dir, verify="full").verify_files() is None


def test_versions_swap_atomically_and_debris_is_removed(seed_index, tmp_path):
    link = tmp_path / "index"
    seed_index.save(link)
    first = snapshot_files.current_version(link)
    assert link.is_symlink() and first.is_dir()
    seed_index.save(link)
    second = snapshot_files.current_version(link)
    assert second != first and not first.exists()  # the replaced version is gone

    # A killed writer's leftovers (its pid no longer runs), and a live writer's version.
    dead = 2**22 + 12345
    debris = [
        tmp_path / f".index.v-1-{dead}",
        tmp_path / f".index.tmp-{dead}-1",
        tmp_path / f".index.old-{dead}-1",
    ]
    for path in debris:
        path.mkdir()
    (tmp_path / f".index.link-{dead}-1").symlink_to("nowhere")
    live = tmp_path / f".index.v-2-{os.getppid()}"
    live.mkdir()
    removed = snapshot_files.clean_debris(link)
    assert sorted(removed) == sorted([p.name for p in debris] + [f".index.link-{dead}-1"])
    assert live.exists() and snapshot_files.current_version(link) == second
    assert SearchIndex.load(link, verify="full").ids == seed_index.ids

    # A version written but never published (killed before the swap) is not served.
    half = snapshot_files.new_version_dir(link)
    (half / "cases.jsonl").write_text("partial")
    assert snapshot_files.current_version(link) == second
    shutil.rmtree(live)
