"""What the graph holds for each case, kept as one row per case beside the saved graph.

Saving the whole graph after every write (a 117 MB JSON file at 10k cases) made each write
wait for the previous one's save. A write now records only what it changed: for each new
or edited case, its extraction result and its ``similar_to`` edges; for each deleted case,
the removal of its row. Everything else in the graph (the case's own nodes and edges,
``mitigates`` and their support) is derived from the cases and those rows, so a start whose
saved ``graph.json`` is stale rebuilds the same graph without tagging or searching again
(``derive.load_or_build_graph``).

The rows live in a side SQLite file (``<data dir>/graph/cases.sqlite3``, WAL): each write's
rows are one transaction, so a process killed in the middle leaves the rows of before or
after it, never half of them; a case without a row is simply tagged and searched again.
A row is used only while the graph code key (code, taxonomy, model) is the one it was
written under and the case is unchanged (its digest).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from kizuki.corpus.schema import Case
from kizuki.graph.build import EXTRACTIONS, SIMILAR_TO

__all__ = ["CaseRow", "GraphLog", "case_digest"]

FILE = "cases.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS case_graph (
    case_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    digest TEXT NOT NULL,
    extraction TEXT,
    similar TEXT NOT NULL
)
"""


def case_digest(case: Case) -> str:
    """What the graph's rows of a case depend on: the whole case."""
    body = json.dumps(case.to_json_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CaseRow:
    """One case's saved graph rows: its extraction record (None: hand-annotated) and its
    ``similar_to`` edges as ``(target, score, rank)``."""

    extraction: dict | None
    similar: list[tuple[str, float, int]]


def rows_of(graph: nx.MultiDiGraph, case_id: str) -> CaseRow:
    """The rows of ``case_id`` as ``graph`` holds them."""
    similar = [
        (v, float(d["score"]), int(d["rank"]))
        for _, v, k, d in graph.out_edges(case_id, keys=True, data=True)
        if k == SIMILAR_TO
    ]
    return CaseRow(graph.graph.get(EXTRACTIONS, {}).get(case_id), sorted(similar, key=_by_rank))


def _by_rank(edge: tuple[str, float, int]) -> int:
    return edge[2]


class GraphLog:
    """The per-case rows of one data dir's graph. Safe to use from several threads (each
    call opens its own connection) and processes (SQLite's locking)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / FILE
        #: The case objects whose rows this process wrote or checked, by id: a write's
        #: unchanged cases are the same objects, so finding what changed costs no hashing.
        self._known: dict[str, Case] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a derived cache: a lost row is redone
            conn.execute(_SCHEMA)
            yield conn
        finally:
            conn.close()

    def load(self, cases: Sequence[Case], code: str) -> dict[str, CaseRow]:
        """The rows still valid for ``cases`` under ``code``, by case id."""
        if not self.path.exists():
            return {}
        by_id = {c.id: c for c in cases}
        out: dict[str, CaseRow] = {}
        try:
            with self._connect() as conn:
                rows = conn.execute(
                    "SELECT case_id, digest, extraction, similar FROM case_graph WHERE code = ?",
                    (code,),
                ).fetchall()
        except sqlite3.DatabaseError:
            return {}  # a damaged file: every case is tagged and searched again
        for case_id, digest, extraction, similar in rows:
            case = by_id.get(case_id)
            if case is None or digest != case_digest(case):
                continue
            edges = [(str(t), float(s), int(r)) for t, s, r in json.loads(similar)]
            out[case_id] = CaseRow(json.loads(extraction) if extraction else None, edges)
            self._known[case_id] = case
        return out

    def adopt(self, graph: nx.MultiDiGraph, cases: Sequence[Case], code: str) -> int:
        """Take the rows of a saved graph that matched its key as current (it is saved only
        after its rows were recorded); rows missing (a data dir from before the rows) are
        written from ``graph``. Returns how many rows were written."""
        try:
            with self._connect() as conn:
                ids = {
                    r[0]
                    for r in conn.execute("SELECT case_id FROM case_graph WHERE code = ?", (code,))
                }
        except sqlite3.DatabaseError:
            ids = set()
        with self._lock:
            self._known.update((c.id, c) for c in cases if c.id in ids)
            return self._write(graph, [c for c in cases if c.id not in ids], [], code)

    def record(self, graph: nx.MultiDiGraph, cases: Iterable[Case], code: str) -> int:
        """Bring the rows in line with ``graph`` over ``cases``: write the rows of the cases
        that are new or changed since this process last recorded them, delete those of
        cases no longer there; one transaction. Returns how many rows were written."""
        cases = list(cases)
        with self._lock:
            changed = [c for c in cases if self._known.get(c.id) is not c]
            served = {c.id for c in cases}
            gone = [cid for cid in self._known if cid not in served]
            return self._write(graph, changed, gone, code)

    def _write(
        self, graph: nx.MultiDiGraph, changed: list[Case], gone: list[str], code: str
    ) -> int:
        if not changed and not gone:
            return 0
        rows = []
        for case in changed:
            row = rows_of(graph, case.id)
            extraction = json.dumps(row.extraction, ensure_ascii=False) if row.extraction else None
            similar = json.dumps(row.similar, ensure_ascii=False)
            rows.append((case.id, code, case_digest(case), extraction, similar))
        with self._connect() as conn, conn:
            conn.executemany("DELETE FROM case_graph WHERE case_id = ?", [(c,) for c in gone])
            conn.executemany("INSERT OR REPLACE INTO case_graph VALUES (?, ?, ?, ?, ?)", rows)
        for cid in gone:
            self._known.pop(cid, None)
        self._known.update((c.id, c) for c in changed)
        return len(rows)
