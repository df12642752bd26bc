"""The mechanism-facet and out-of-scope detectors (issue 21): their training data, the
shipped model, what they read in texts written for this test, and their calibration,
cross-validated on their own training texts (never on an evaluation query)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kizuki.search import facets as F


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_every_facet_value_has_examples_in_both_languages():
    vocab = F.vocabulary()
    rows = _rows(F.EXAMPLES_FILE)
    assert len({r["id"] for r in rows}) == len(rows)
    for facet, value in vocab.columns:
        for lang in ("ja", "en"):
            n = sum(r["facet"] == facet and r["value"] == value and r["lang"] == lang for r in rows)
            assert n >= 18, (facet, value, lang, n)
    for row in rows:
        for facet, values in row.get("also", {}).items():
            assert set(values) <= set(vocab.values[facet]), row["id"]


def test_every_out_of_scope_kind_has_examples_in_both_languages():
    rows = _rows(F.OUT_OF_SCOPE_FILE)
    assert {r["kind"] for r in rows} <= set(F.KINDS)
    for kind in F.OUT_OF_SCOPE_KINDS:
        for lang in ("ja", "en"):
            assert sum(r["kind"] == kind and r["lang"] == lang for r in rows) >= 40, (kind, lang)


def test_the_shipped_model_was_fitted_on_todays_training_texts(seed_embedder):
    """``python -m kizuki.search.facets --write`` regenerates it; stale, it would be refitted at
    every start (and the cross-validated figures in the README would not be its own)."""
    model = F.FacetModel.load_file()
    assert model is not None and model.model_id == seed_embedder.model_id
    assert model.data_sha256 == F.data_sha256(F.training_texts(F.bundled_training_cases()))


@pytest.fixture(scope="module")
def model():
    return F.FacetModel.load_file()


def _read(model, embedder, text: str) -> F.FacetReading:
    return model.read(embedder.embed_queries([text])[0])


def _value(model, reading: F.FacetReading, facet: str, value: str) -> float:
    return float(reading.facets[model.vocab.columns.index((facet, value))])


# Written for this test, not taken from any training or evaluation file.
READS = [
    (
        "昨晩のプログラム更新を本番に反映した直後から、法人IBの振込画面でエラーが出ている",
        "trigger",
        "change_release",
    ),
    (
        "主系サーバの故障を検知したが、予備機に自動で切り替わらず、手動での切替を試みている",
        "safeguard",
        "redundancy_failover",
    ),
    (
        "The payment gateway we rent from an outside provider has been down since 9am; their status page shows a major incident",
        "trigger",
        "third_party_outage",
    ),
    (
        "キャンペーン初日にアクセスが殺到し、アプリの決済がタイムアウトになった",
        "trigger",
        "volume_surge",
    ),
    pytest.param(
        "月末の振込が集中して処理が追いつかず、朝のオンライン開始に間に合わなかった",
        "trigger",
        "volume_surge",
        marks=pytest.mark.xfail(
            strict=True,
            reason="known gap: a surge told by the calendar (月末の集中) is not read as one; "
            "30 calendar-driven examples did not close it (README, mechanism facets)",
        ),
        id="volume_surge-calendar",
    ),
]


@pytest.mark.parametrize("text,facet,value", READS)
def test_a_first_report_reads_as_its_mechanism(model, seed_embedder, text, facet, value):
    reading = _read(model, seed_embedder, text)
    p = _value(model, reading, facet, value)
    # Heads are independent (a report may show several values of one facet): the value
    # that applies is read, and it is among the facet's two likeliest.
    ranked = sorted(model.vocab.values[facet], key=lambda v: -_value(model, reading, facet, v))
    assert p >= 0.5 and value in ranked[:2], (text, p, ranked[:3])


KINDS = [
    (
        "身に覚えのない振込が複数の口座から海外の口座へ送金されており、ログイン履歴には見知らぬ端末からのアクセスが残っている",
        "account_takeover",
    ),
    ("台風の影響で沿岸部の支店が浸水し停電、地域のATMがすべて停止している", "natural_disaster"),
    ("猫が好きです", "not_incident"),
    (
        "Since this morning our site receives hundreds of times its normal traffic from thousands of addresses and is unreachable",
        "cyber_attack",
    ),
    ("夜間バッチが異常終了し、朝のオンライン開始が遅れた", "in_scope"),
]


@pytest.mark.parametrize("text,kind", KINDS, ids=[k for _, k in KINDS])
def test_out_of_scope_kinds_are_told_from_system_failures(model, seed_embedder, text, kind):
    reading = _read(model, seed_embedder, text)
    assert max(reading.kinds, key=reading.kinds.get) == kind, reading.kinds
    assert abs(sum(reading.kinds.values()) - 1.0) < 1e-4


def test_cross_validated_on_its_training_texts_the_detector_is_accurate_and_calibrated(
    seed_settings, seed_embedder
):
    """Five folds over the training texts (their vectors ship with the package, so nothing
    is embedded): facets ranked well, kinds told apart, P(in scope) calibrated."""
    from kizuki.search.embeddings import open_embedding_cache

    texts = F.training_texts(F.bundled_training_cases())
    cache = open_embedding_cache(seed_settings)
    try:
        vectors = F.embed_queries_cached(seed_embedder, [t.text for t in texts], cache)
    finally:
        cache.close()
    report = F.cross_validate(texts, vectors)
    assert report["facet_auc_mean"] >= 0.90 and report["facet_auc_min"] >= 0.80, report
    assert report["kind_accuracy"] >= 0.90, report
    assert report["in_scope_called_out"] <= 0.05, report
    assert report["in_scope_calibration_error"] <= 0.05, report
    # and the shipped model agrees with a refit (it is what these figures describe)
    refit = F.fit(texts, vectors, seed_embedder.model_id)
    shipped = F.FacetModel.load_file()
    np.testing.assert_allclose(refit.facets(vectors[:50]), shipped.facets(vectors[:50]), atol=1e-3)
