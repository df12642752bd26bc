"""``GET /chains/{case_id}`` and ``GET /analytics/paths`` over real HTTP, and the CLI's
``kizuki chain`` / ``kizuki paths`` giving the same answer from the same data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kizuki.corpus import seed_cases
from kizuki.graph.chains import load_chains
from kizuki_http import error_of, make_case

REPO = Path(__file__).resolve().parents[2]
CHAINS = load_chains()


def test_a_bundled_case_chain_is_its_reviewed_chain_with_labels(client):
    body = client.get("/chains/fsa2019-05").json()
    assert body["source"] == "annotation"
    reviewed = CHAINS["fsa2019-05"].steps
    assert [(s["type"], s["concept"], s["evidence"]) for s in body["steps"]] == [
        (s.type, s.concept, s.evidence) for s in reviewed
    ]
    assert [s["position"] for s in body["steps"]] == list(range(1, len(reviewed) + 1))
    assert all(s["type_label_ja"] and s["type_label_en"] for s in body["steps"])
    labelled = [s for s in body["steps"] if s["concept"]]
    assert labelled and all(s["concept_label_ja"] for s in labelled)


def test_an_unknown_case_is_a_json_404(client):
    r = client.get("/chains/no-such-case")
    assert r.status_code == 404 and error_of(r)["code"] == "case_not_found"
    r = client.get("/chains/" + "x" * 500)
    assert r.status_code == 422 and error_of(r)


def test_an_imported_case_gets_a_chain_read_from_its_text(writer, client):
    body = make_case(
        "chain-imp-1",
        "ゾチェイン",
        event="夜間バッチの作業手順を誤り、バッチが異常終了した。その後、復旧手順を誤り影響が"
        "拡大し、翌朝のオンライン取引が利用できなくなった。",
        causes=["再鑑者が作業順序の誤りを看過した。"],
    )
    assert writer.post("/cases", json=body).status_code == 201
    chain = client.get("/chains/chain-imp-1").json()
    assert chain["source"] == "extraction"
    types = [s["type"] for s in chain["steps"]]
    assert "recovery_error" in types and "customer_impact" in types
    for step in chain["steps"]:
        field = step["field"]
        text = body["event"] if field == "event" else body["causes"][int(field[7:-1])]
        assert step["evidence"] in text


def test_paths_overall_by_sector_and_filtered(client):
    overall = client.get("/analytics/paths").json()
    assert overall["by"] == "all" and overall["n_cases"] >= 44
    rows = overall["rows"]
    assert rows and all(r["support"] >= 2 and r["length"] in (2, 3) for r in rows)
    top = rows[0]
    assert top["support"] == len(top["case_ids"]) == len(top["evidence"])
    assert len(top["labels_ja"]) == top["length"]
    for e in top["evidence"]:
        steps = CHAINS[e["case_id"]].steps
        assert set(e["quotes"]) <= {s.evidence for s in steps}
    threes = client.get("/analytics/paths", params={"length": 3}).json()["rows"]
    assert threes and all(r["length"] == 3 for r in threes)
    by_sector = client.get("/analytics/paths", params={"by": "sector", "limit": 2}).json()
    groups = [r["sector"] for r in by_sector["rows"]]
    assert len(set(groups)) > 1 and all(groups.count(g) <= 2 for g in groups)
    regional = client.get(
        "/analytics/paths", params={"sector": "地域銀行", "min_support": 1}
    ).json()
    assert 0 < regional["n_cases"] < overall["n_cases"]
    regional_ids = {c.id for c in seed_cases() if "地域銀行" in c.sectors}
    assert regional["rows"]
    assert {c for r in regional["rows"] for c in r["case_ids"]} <= regional_ids


def test_paths_refuse_bad_parameters_with_json_422(client):
    for params in ({"by": "planet"}, {"length": 4}, {"limit": 0}, {"min_support": 0}):
        r = client.get("/analytics/paths", params=params)
        assert r.status_code == 422, params
        assert error_of(r)


def kizuki(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KIZUKI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_answers_what_the_api_answers(client, tmp_path):
    data_dir = tmp_path / "data"
    out = kizuki("chain", "fsa2019-05", "--json", data_dir=data_dir)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == client.get("/chains/fsa2019-05").json()
    text = kizuki("chain", "fsa2019-05", data_dir=data_dir)
    assert "復旧時の誤り" in text.stdout and "看過" in text.stdout
    out = kizuki("paths", "--by", "sector", "--json", "--limit", "20", data_dir=data_dir)
    api = client.get("/analytics/paths", params={"by": "sector"}).json()
    seeded = {r["sector"]: r for r in json.loads(out.stdout)["rows"]}
    assert seeded and all(r["support"] >= 1 for r in seeded.values())
    assert {r["sector"] for r in api["rows"]} >= set(seeded)
    for args, message in (
        (("chain", "no-such-case"), "no case with id"),
        (("paths", "--by", "planet"), "--by must be sector or theme"),
        (("paths", "--length", "4"), "--length must be 2 or 3"),
        (("paths", "--sector", "火星銀行"), "unknown sector"),
    ):
        bad = kizuki(*args, data_dir=data_dir)
        assert bad.returncode != 0 and bad.stderr.startswith("error:"), (args, bad.stderr)
        assert message in bad.stderr and "Traceback" not in bad.stderr


def test_graph_eval_chains_prints_the_leave_one_case_out_figures(tmp_path):
    out = kizuki("graph", "eval", "--chains", "--json", data_dir=tmp_path / "data")
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert set(results) == {"patterns", "learned"}
    for scores in results.values():
        assert scores["cases"] == 44
        assert 0 < scores["steps"]["f1"] < 1 and 0.5 < scores["order"]["agreement"] <= 1
    # the in-sample patterns find the reviewed concepts more often than held-out examples
    assert results["patterns"]["concepts"]["f1"] > results["learned"]["concepts"]["f1"]
