"""No evaluation query leaks into the product's data.

The lexicon, the outside views, the cause signs, the taxonomy and the learned weights were
written or fitted without copying a dev or validation query: no 20-character stretch of any
query (30 for Latin-script text, where common phrases are longer) appears in a data file the
product ships.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_FILES = sorted(
    p
    for folder in ("corpus/data", "search/data", "graph/data")
    for p in (ROOT / folder).iterdir()
    if p.suffix in {".jsonl", ".json", ".tsv", ".yaml"} and p.name != "fsa2019.jsonl"
)
#: eval/feedback holds a replay timeline: ids of the rows below, no query text.
QUERY_FILES = sorted(p for p in (ROOT / "eval").rglob("*.jsonl") if p.parent.name != "feedback")
DEV = ROOT.parent / "shared" / "eval" / "dev_queries.jsonl"


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _queries() -> list[tuple[str, str]]:
    out = []
    for path in [*QUERY_FILES, *([DEV] if DEV.exists() else [])]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((f"{path.name}:{row['id']}", row["query"]))
    return out


def test_the_check_reads_every_data_file_and_query_set():
    names = {p.name for p in DATA_FILES}
    assert {"synonyms.tsv", "ranker.json", "cause_signs.yaml", "fsa2019_expansions.jsonl"} <= names
    assert len(_queries()) >= 200


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_no_query_text_in_data_file(path):
    data = _norm(path.read_text(encoding="utf-8"))
    leaks = []
    for qid, query in _queries():
        text = _norm(query)
        width = 30 if sum(c.isascii() for c in text) > len(text) / 2 else 20
        for start in range(0, max(1, len(text) - width + 1), 5):
            window = text[start : start + width]
            if len(window) == width and window in data:
                leaks.append((qid, window))
                break
    assert not leaks, f"{path.name} holds query text: {leaks[:5]}"
