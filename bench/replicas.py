"""Two ``kizuki serve`` replicas over one throw-away PostgreSQL, on loopback.

Prints three numbers: how long a write acknowledged by one replica takes to be served by
the other (p50/p99, ``GET /cases/{id}`` polled every 5 ms), search throughput of both
replicas against one (the same total number of clients), and the ingest rate (one case
per ``POST /cases``, a writer per replica). Bounded in count and time; loopback only.

    python -m bench.replicas [--writes 50] [--seconds 20] [--clients 4]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.search_path import incident_texts
from bench.timing import percentiles
from tests.api.kizuki_http import API_KEY, Server, make_case, marker_for
from tests.pg_cluster import PgCluster

KEY = {"X-API-Key": API_KEY}


def visible_latency_ms(a: Server, b: Server, writes: int) -> list[float]:
    """Acknowledged on A → served by B, per write."""
    samples = []
    with a.client(headers=KEY) as ca, b.client() as cb:
        for n in range(writes):
            cid = f"vis-{n}"
            assert ca.post("/cases", json=make_case(cid, marker_for(n))).status_code == 201
            acked = time.perf_counter()
            deadline = acked + 30
            while cb.get(f"/cases/{cid}").status_code != 200:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{cid} not visible on B within 30 s")
                time.sleep(0.005)
            samples.append((time.perf_counter() - acked) * 1000)
    return samples


def throughput(servers: list[Server], clients: int, seconds: float) -> float:
    """Searches per second, ``clients`` closed-loop clients in all, spread over the servers."""
    texts = incident_texts()
    done: list[int] = []
    stop_at = time.perf_counter() + seconds

    def client(i: int) -> None:
        n = 0
        with httpx.Client(base_url=servers[i % len(servers)].url, timeout=120) as c:
            while time.perf_counter() < stop_at:
                c.post("/search", json={"text": texts[(i + n * clients) % len(texts)], "k": 10})
                n += 1
        done.append(n)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def ingest_rate(servers: list[Server], per_server: int) -> float:
    """Cases per second, acknowledged, one writer per server at once."""

    def write(srv: Server, w: int) -> None:
        with srv.client(headers=KEY) as c:
            for n in range(per_server):
                body = make_case(f"ing-{w}-{n}", marker_for(500 + n))
                assert c.post("/cases", json=body).status_code == 201

    started = time.perf_counter()
    threads = [threading.Thread(target=write, args=(s, w)) for w, s in enumerate(servers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per_server * len(servers) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    cluster = PgCluster().start()
    servers: list[Server] = []
    try:
        url = cluster.create_database()
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for name in ("a", "b"):
                servers.append(
                    Server(root / name, root / f"cache-{name}", env={"KIZUKI_DATABASE_URL": url})
                )
                servers[-1].start()
            httpx.post(servers[1].url + "/search", json={"text": "ATM", "k": 1}, timeout=600)
            vis = percentiles(visible_latency_ms(servers[0], servers[1], args.writes))
            one = throughput(servers[:1], args.clients, args.seconds)
            two = throughput(servers, args.clients, args.seconds)
            rate = ingest_rate(servers, max(1, args.writes // 2))
            print(f"write → visible on the other replica: p50 {vis['p50_ms']:.0f} ms, "
                  f"p99 {vis['p99_ms']:.0f} ms ({args.writes} writes)")  # fmt: skip
            print(f"search throughput, {args.clients} clients: one replica {one:.1f}/s, "
                  f"both replicas {two:.1f}/s")  # fmt: skip
            print(f"ingest: {rate:.1f} cases/s (one case per POST, a writer per replica)")
            for srv in servers:
                srv.stop()
    finally:
        for srv in servers:
            srv.kill()
        cluster.close()


if __name__ == "__main__":
    main()
