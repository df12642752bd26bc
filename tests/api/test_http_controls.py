"""``GET /analytics/controls`` (JSON and the CSV working paper) over real HTTP, and
``kizuki controls`` giving the same table from the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from kizuki_http import error_of

REPO = Path(__file__).resolve().parents[2]


def test_controls_by_csf_function_and_control(client):
    body = client.get("/analytics/controls").json()
    assert body["framework"] == "nist_csf_2" and body["n_cases"] >= 44
    functions = {f["function"]: f for f in body["functions"]}
    assert list(functions) == ["GV", "ID", "PR", "DE", "RS", "RC"]
    assert functions["PR"]["n_causes"] > functions["DE"]["n_causes"]
    rows = {r["control"]: r for r in body["controls"]}
    assert body["most_implemented"] and body["unanswered"]
    top = rows[body["most_implemented"][0]]
    assert top["n_countermeasure"] == max(r["n_countermeasure"] for r in rows.values())
    for control in body["unanswered"]:
        r = rows[control]
        assert r["n_unanswered"] > 0
        assert set(r["unanswered_case_ids"]) == set(r["failed_case_ids"]) - set(
            r["countermeasure_case_ids"]
        )
    iso = client.get("/analytics/controls", params={"framework": "iso27001_2022"}).json()
    assert iso["controls"] and all(r["control"].startswith("A.") for r in iso["controls"])
    regional = client.get("/analytics/controls", params={"sector": "地域銀行"}).json()
    listed = client.get("/cases", params={"sector": "地域銀行", "limit": 200}).json()
    regional_ids = {c["id"] for c in listed["items"]}
    assert regional["n_cases"] == listed["total"] == len(regional_ids) < body["n_cases"]
    failed = {c for r in regional["controls"] for c in r["failed_case_ids"]}
    assert failed and failed <= regional_ids


def test_controls_csv_is_a_working_paper(client):
    r = client.get("/analytics/controls", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    body = client.get("/analytics/controls").json()
    assert [row["control"] for row in rows] == [c["control"] for c in body["controls"]]
    first = rows[0]
    assert int(first["n_failed"]) == body["controls"][0]["n_failed"]
    assert first["failed_case_ids"].split(";") == body["controls"][0]["failed_case_ids"]


def test_controls_refuse_bad_parameters_with_json_422(client):
    for params in ({"framework": "cobit"}, {"format": "xlsx"}, {"limit": 0}):
        r = client.get("/analytics/controls", params=params)
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


def test_the_cli_prints_the_same_table_and_writes_the_csv(tmp_path):
    data_dir = tmp_path / "data"
    out = kizuki("controls", "--json", data_dir=data_dir)
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert table["n_cases"] == 44 and table["functions"][2]["function"] == "PR"
    text = kizuki("controls", data_dir=data_dir).stdout
    assert "Protect" in text and table["most_implemented"][0] in text
    target = tmp_path / "paper.csv"
    wrote = kizuki(
        "controls", "--framework", "iso27001_2022", "--csv", str(target), data_dir=data_dir
    )
    assert wrote.returncode == 0, wrote.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows and all(row["control"].startswith("A.") for row in rows)
    for args, message in (
        (("controls", "--framework", "cobit"), "--framework must be"),
        (("controls", "--sector", "火星銀行"), "unknown sector"),
        (("controls", "--limit", "0"), "--limit must be"),
    ):
        bad = kizuki(*args, data_dir=data_dir)
        assert bad.returncode != 0 and bad.stderr.startswith("error:"), (args, bad.stderr)
        assert message in bad.stderr and "Traceback" not in bad.stderr
