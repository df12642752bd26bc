"""Can some clients starve the others? A normal client's searches, timed three ways against
one ``kizuki serve`` (fresh data dir, this machine's loopback):

    python -m bench.starvation [--seconds 40] [--json]

1. **alone**: the normal client by itself;
2. **beside long texts**: while 3 clients send maximum-size texts, alternating searches and
   change-plan reviews (every text new, so nothing is served from a memo);
3. **among 8 clients**: 7 more clients sending normal searches at the same time.

Prints p50/p99 of the normal client in each phase, as ratios to alone, and what the other
clients got. Bounded in time; sends traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.server import Server
from bench.timing import fmt, machine, percentiles, table, write_json

BASE = (
    "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。ATMとインターネット"
    "バンキングが停止し、顧客への影響が拡大した。"
)
WORDS = ["障害", "遅延", "停止", "復旧", "委託先", "設定", "証明書", "容量", "切替", "移行"]
NORMAL = [
    "ネットバンキングにログインできない。認証エラーが出る",
    "夜間バッチが終わらず朝のオンライン開始が遅れた",
    "証明書の期限が切れてサイトが表示されない",
    "ATMが一斉に停止し、カードが戻らないとの問い合わせが多数",
    "Customers cannot log in to online banking after last night's release",
]


def _long_text(rng: random.Random, limit: int) -> str:
    words = " ".join(f"{rng.choice(WORDS)}{rng.randint(0, 99999)}" for _ in range(40))
    return (words + "。" + BASE * 60)[: limit - 10]


def _normal_text(i: int, who: int) -> str:
    return f"{NORMAL[i % len(NORMAL)]}（{who}-{i}）"


def _timed_client(url: str, who: int, stop: float, out: list[float], codes: dict) -> None:
    """Normal searches back to back until ``stop``: latencies (ms) into ``out``."""
    with httpx.Client(timeout=120) as c:
        i = 0
        while time.time() < stop:
            start = time.perf_counter()
            r = c.post(url + "/search", json={"text": _normal_text(i, who), "k": 10})
            out.append((time.perf_counter() - start) * 1000)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            i += 1


def _long_client(url: str, seed: int, limit: int, stop: float, out: list[float], codes: dict):
    rng = random.Random(seed)
    with httpx.Client(timeout=180) as c:
        i = 0
        while time.time() < stop:
            text = _long_text(rng, limit)
            start = time.perf_counter()
            if i % 2:
                r = c.post(url + "/review", json={"plan": text, "k": 10})
            else:
                r = c.post(url + "/search", json={"text": text, "k": 10})
            out.append((time.perf_counter() - start) * 1000)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            i += 1


def _phase(url: str, seconds: float, others) -> dict:
    """The normal client (id 0) for ``seconds`` beside ``others(stop)`` threads."""
    stop = time.time() + seconds
    background = others(stop)
    for t in background:
        t.start()
    if background:
        time.sleep(min(5.0, seconds / 4))  # let the others reach steady state
    normal: list[float] = []
    codes: dict[int, int] = {}
    _timed_client(url, 0, stop, normal, codes)
    for t in background:
        t.join()
    return {"normal": percentiles(normal), "codes": codes}


def run(seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="kizuki-starve-") as tmp, Server(Path(tmp)) as srv:
        url = srv.url
        limit = httpx.get(url + "/health").json()["limits"]["max_query_chars"]
        httpx.post(url + "/search", json={"text": "ATMが停止した", "k": 1}, timeout=300)
        results: dict[str, dict] = {}
        results["alone"] = _phase(url, seconds, lambda stop: [])

        long_ms: list[float] = []
        long_codes: dict[int, int] = {}

        def long_clients(stop):
            return [
                threading.Thread(
                    target=_long_client, args=(url, s, limit, stop, long_ms, long_codes)
                )
                for s in range(3)
            ]

        results["beside 3 long-text clients"] = _phase(url, seconds, long_clients)
        results["beside 3 long-text clients"]["others"] = {
            **percentiles(long_ms),
            "codes": long_codes,
        }

        peers_ms: list[float] = []
        peer_codes: dict[int, int] = {}

        def peers(stop):
            return [
                threading.Thread(target=_timed_client, args=(url, w, stop, peers_ms, peer_codes))
                for w in range(1, 8)
            ]

        results["among 8 clients"] = _phase(url, seconds, peers)
        total = len(peers_ms) + results["among 8 clients"]["normal"]["n"]
        results["among 8 clients"]["others"] = {
            **percentiles(peers_ms),
            "codes": peer_codes,
            "searches_per_s": round(total / seconds, 1),
        }
    return results


def report(results: dict) -> str:
    alone = results["alone"]["normal"]
    rows = []
    for phase, r in results.items():
        n = r["normal"]
        rows.append(
            [
                phase,
                n["n"],
                fmt(n["p50_ms"]),
                fmt(n["p99_ms"]),
                f"{n['p50_ms'] / alone['p50_ms']:.2f}",
                f"{n['p99_ms'] / alone['p99_ms']:.2f}",
                r["codes"],
                r.get("others", {}).get("codes", ""),
            ]
        )
    return table(
        [
            "normal client",
            "n",
            "p50 ms",
            "p99 ms",
            "p50 / alone",
            "p99 / alone",
            "statuses",
            "others' statuses",
        ],
        rows,
        title="A normal client's /search latency: alone, beside long texts, among 8 clients",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40, help="per phase")
    parser.add_argument("--json", action="store_true", help="also write bench/results/*.json")
    args = parser.parse_args()
    info = machine()
    results = run(args.seconds)
    print(f"{info}")
    print(report(results))
    others = results["beside 3 long-text clients"]["others"]
    print(
        f"long texts ({others['n']} searches and reviews): p50 {fmt(others['p50_ms'])} ms, "
        f"statuses {others['codes']}; 8 clients: "
        f"{results['among 8 clients']['others']['searches_per_s']} searches/s"
    )
    if args.json:
        print(write_json({"machine": info, "starvation": results}, None))


if __name__ == "__main__":
    main()
