"""A bounded load client for Kizuki's HTTP API: ``POST /search`` from N concurrent clients.

It only talks to this machine (127.0.0.1, ::1 or localhost) and always stops by itself:
after ``max_requests`` requests or ``max_seconds`` seconds, whichever comes first, each
request with its own timeout. One keep-alive connection per client thread, as a browser or
an integration would hold; the client is the stdlib's, so it adds no dependency and little
overhead of its own.

    python -m bench.http_load --url http://127.0.0.1:8000/search --concurrency 4 \\
        --requests 500 --seconds 30
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import percentiles, table

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def check_local(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an http URL on this machine; anything else is refused."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// URLs are supported, not {url!r}")
    if parts.hostname not in LOCAL_HOSTS:
        raise ValueError(f"refusing to load a host other than this machine: {parts.hostname!r}")
    return parts.hostname, parts.port or 80, parts.path or "/search"


def run_load(
    url: str,
    texts: Sequence[str],
    concurrency: int = 4,
    max_requests: int = 500,
    max_seconds: float = 30.0,
    k: int = 10,
    timeout_s: float = 10.0,
    warmup: int = 3,
) -> dict:
    """Send ``POST url`` with ``{"text": ..., "k": k}`` bodies; throughput and latency.

    Latency percentiles are over successful (2xx) responses; errors are counted by kind.
    """
    host, port, path = check_local(url)
    if not texts:
        raise ValueError("need at least one query text")
    if concurrency < 1 or max_requests < 1 or max_seconds <= 0:
        raise ValueError("concurrency, max_requests and max_seconds must be positive")
    bodies = [json.dumps({"text": t, "k": k}, ensure_ascii=False).encode() for t in texts]
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    # Warm-up, unmeasured and sequential: the first request of a service may load models.
    for i in range(warmup):
        _post(host, port, path, bodies[i % len(bodies)], headers, timeout_s, None)

    lock = threading.Lock()
    state = {"next": 0}
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    deadline = start + max_seconds

    def claim() -> int | None:
        with lock:
            i = state["next"]
            if i >= max_requests or time.perf_counter() >= deadline:
                return None
            state["next"] = i + 1
            return i

    def client() -> None:
        conn: list[http.client.HTTPConnection | None] = [None]
        try:
            while (i := claim()) is not None:
                t0 = time.perf_counter()
                try:
                    status = _post(
                        host, port, path, bodies[i % len(bodies)], headers, timeout_s, conn
                    )
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors[type(exc).__name__] += 1
                    _close(conn)
                    continue
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    statuses[str(status)] += 1
                    if 200 <= status < 300:
                        latencies.append(ms)
        finally:
            _close(conn)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.perf_counter()) + timeout_s + 5)
    wall = time.perf_counter() - start
    sent = state["next"]
    ok = len(latencies)
    return {
        "url": f"http://{host}:{port}{path}",
        "concurrency": concurrency,
        "requests": sent,
        "ok": ok,
        "errors": dict(errors),
        "statuses": dict(statuses),
        "stopped_by": "count" if sent >= max_requests else "time",
        "wall_s": wall,
        "throughput_rps": ok / wall if wall > 0 else 0.0,
        "latency": percentiles(latencies),
        "still_running": sum(t.is_alive() for t in threads),
    }


def _post(host, port, path, body, headers, timeout, conn_box) -> int:
    if conn_box is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()
    if conn_box[0] is None:
        conn_box[0] = http.client.HTTPConnection(host, port, timeout=timeout)
    conn = conn_box[0]
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    if resp.will_close:
        _close(conn_box)
    return resp.status


def _close(conn_box) -> None:
    if conn_box[0] is not None:
        conn_box[0].close()
        conn_box[0] = None


def wait_for_port(host: str, port: int, timeout_s: float = 60.0) -> bool:
    """True once something accepts TCP connections on (host, port), False after timeout."""
    if host not in LOCAL_HOSTS:
        raise ValueError(f"refusing to wait on a host other than this machine: {host!r}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def default_texts(path: Path | None = None) -> list[str]:
    """Query texts: the dev set's when it is there, else the seed cases' events."""
    from bench.quality import DEV_QUERIES

    path = path or DEV_QUERIES
    if path.exists():
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        return [r["query"] for r in rows]
    from corpus import seed_cases

    return [c.event for c in seed_cases()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__)
    p.add_argument("--url", default="http://127.0.0.1:8000/search")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--requests", type=int, default=500, help="stop after this many requests")
    p.add_argument("--seconds", type=float, default=30, help="stop after this many seconds")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--timeout", type=float, default=10, help="seconds per request")
    p.add_argument("--queries", type=Path, help="JSONL with a 'query' field per line")
    p.add_argument("--json", type=Path, help="also write the result here")
    args = p.parse_args(argv)
    try:
        result = run_load(
            args.url,
            default_texts(args.queries),
            concurrency=args.concurrency,
            max_requests=args.requests,
            max_seconds=args.seconds,
            k=args.k,
            timeout_s=args.timeout,
        )
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    lat = result["latency"]
    print(
        table(
            ["url", "clients", "requests", "ok", "errors", "req/s", "p50 ms", "p99 ms", "stopped"],
            [
                [
                    result["url"],
                    result["concurrency"],
                    result["requests"],
                    result["ok"],
                    sum(result["errors"].values()),
                    result["throughput_rps"],
                    lat.get("p50_ms"),
                    lat.get("p99_ms"),
                    result["stopped_by"],
                ]
            ],
        )
    )
    if args.json:
        from bench.harness import write_json

        write_json(result, args.json)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
