"""Can one client starve the others? A normal search while three clients send maximum-size
queries, against ``kizuki serve`` on a fresh data dir on this machine's loopback:

    python -m bench.starvation [--seconds 90]

Every long query is new (random words first), so nothing is served from the query memo.
Prints the normal search's p50/p99 and what the long queries got. Bounded in time; sends
traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx

BASE = (
    "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。ATMとインターネット"
    "バンキングが停止し、顧客への影響が拡大した。"
)
WORDS = ["障害", "遅延", "停止", "復旧", "委託先", "設定", "証明書", "容量", "切替", "移行"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _long_text(rng: random.Random, limit: int) -> str:
    words = " ".join(f"{rng.choice(WORDS)}{rng.randint(0, 9999)}" for _ in range(40))
    return (words + "。" + BASE * 60)[: limit - 10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "KIZUKI_RATE_LIMIT_PER_MINUTE": "0", "HF_HUB_OFFLINE": "1"}
        kizuki = [sys.executable, "-c", "from api.cli import main; main()"]
        cmd = [*kizuki, "serve", "--data-dir", tmp, "--port", str(port)]
        server = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            while server.poll() is None:  # ready when /health answers, alive meanwhile
                try:
                    if httpx.get(url + "/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            limit = httpx.get(url + "/health").json()["limits"]["max_query_chars"]
            stop = time.time() + args.seconds
            long_codes: dict[int, int] = {}
            long_s: list[float] = []

            def hog(seed: int) -> None:
                rng = random.Random(seed)
                with httpx.Client(timeout=120) as c:
                    while time.time() < stop:
                        start = time.perf_counter()
                        r = c.post(url + "/search", json={"text": _long_text(rng, limit)})
                        long_s.append(time.perf_counter() - start)
                        long_codes[r.status_code] = long_codes.get(r.status_code, 0) + 1

            hogs = [threading.Thread(target=hog, args=(i,)) for i in range(3)]
            for t in hogs:
                t.start()
            time.sleep(5)
            normal, codes = [], {}
            with httpx.Client(timeout=120) as c:
                for i in range(200):
                    if time.time() > stop - 5:
                        break
                    text = f"ネットバンキングにログインできない。認証エラーが出る（{i}）"
                    start = time.perf_counter()
                    r = c.post(url + "/search", json={"text": text, "k": 10})
                    normal.append((time.perf_counter() - start) * 1000)
                    codes[r.status_code] = codes.get(r.status_code, 0) + 1
            for t in hogs:
                t.join()
        finally:
            server.terminate()
            server.wait()
    normal.sort()
    p99 = normal[int(0.99 * (len(normal) - 1))]
    print(f"{os.cpu_count()} cores; 3 clients sending {limit}-character queries, 1 normal client")
    print(
        f"normal search: {len(normal)} requests, p50 {statistics.median(normal):.0f} ms, "
        f"p99 {p99:.0f} ms, statuses {codes}"
    )
    print(
        f"long queries: {sum(long_codes.values())} answered {long_codes}, "
        f"p50 {statistics.median(long_s):.2f} s"
    )


if __name__ == "__main__":
    main()
