"""Write ``timeline.jsonl``: the replay fixture (see README.md). Run from the repository
root: ``python eval/feedback/make_timeline.py``. It names rows of the validation files by
id; it copies no query and invents no grade."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VALIDATION = "eval/validation"
#: Searched and judged first, by three analysts in turn.
JUDGED = ["ja_written.jsonl"]
#: Searched later, not judged: twins of judged rows, then unrelated queries.
LATER = ["en_renderings.jsonl", "paraphrases.jsonl", "ja_real.jsonl", "en_world.jsonl"]
ANALYSTS = ["analyst-a", "analyst-b", "analyst-c"]
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def ids(name: str) -> list[str]:
    with open(ROOT / VALIDATION / name, encoding="utf-8") as fh:
        return [json.loads(line)["id"] for line in fh if line.strip()]


def main() -> None:
    rows, at = [], START
    for name in JUDGED:
        for i, qid in enumerate(ids(name)):
            rows.append((at, name, qid, ANALYSTS[i % len(ANALYSTS)], True))
            at += timedelta(hours=1)
    for name in LATER:
        for qid in ids(name):
            rows.append((at, name, qid, "analyst-d", False))
            at += timedelta(hours=1)
    out = ROOT / "eval" / "feedback" / "timeline.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for at, name, qid, analyst, judges in rows:
            row = {"at": at.isoformat(), "file": f"{VALIDATION}/{name}", "id": qid}
            fh.write(json.dumps({**row, "analyst": analyst, "judges": judges}) + "\n")
    print(f"wrote {out.relative_to(ROOT)}: {len(rows)} searches")


if __name__ == "__main__":
    main()
