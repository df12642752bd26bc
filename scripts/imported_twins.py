"""How far an imported case ranks from its bundled twin (issue 22, item 4).

Imports every bundled case's text a second time under a new id (``mybank-<id>``, no
outside views, no reviewed annotations: what a bank's own import looks like) into a fresh
data dir, then runs the validation queries through the product's search and prints, per
file, how many places each twin ranks behind its original (negative: ahead) and both
reciprocal ranks. Usage::

    python scripts/imported_twins.py eval/validation/paraphrases.jsonl eval/validation/ja_real.jsonl

It takes a few minutes (88 cases to embed and tag, one search per query).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from kizuki.api.runtime.actions import search_incident
from kizuki.api.runtime.local import local_snapshot
from kizuki.corpus import seed_cases
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import open_store

PREFIX = "mybank-"


def rank_of(ids: list[str], case_id: str) -> int:
    return ids.index(case_id) + 1 if case_id in ids else len(ids) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", nargs="+", type=Path, help="eval JSONL files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        bundled = seed_cases()
        store = open_store(settings)
        store.ensure_seeded(bundled)
        store.add_cases(
            [c.model_copy(update={"id": PREFIX + c.id, "source": None}) for c in bundled]
        )
        snap = local_snapshot(settings)
        print("file               pairs  behind(mean)  behind(median)  MRR original  MRR twin")
        for path in args.queries:
            gaps, orig, twin = [], [], []
            for line in path.read_text(encoding="utf-8").splitlines():
                query = json.loads(line)
                found = search_incident(snap, query["query"], k=2 * len(bundled), settings=settings)
                ids = [hit.case_id for hit in found.results]
                for case_id, grade in query["relevant"].items():
                    if grade < 2:
                        continue
                    a, b = rank_of(ids, case_id), rank_of(ids, PREFIX + case_id)
                    gaps.append(b - a)
                    orig.append(1 / a)
                    twin.append(1 / b)
            if gaps:
                print(
                    f"{path.stem:18} {len(gaps):5}  {statistics.mean(gaps):12.2f}  "
                    f"{statistics.median(gaps):14.1f}  {statistics.mean(orig):12.3f}  "
                    f"{statistics.mean(twin):8.3f}"
                )


if __name__ == "__main__":
    main()
