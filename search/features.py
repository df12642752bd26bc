"""Candidates and their features: every signal about a (query, case) pair as one number.

Ranking is three phases, the way Vespa's rank profiles or Elasticsearch's learning-to-rank
plugin are built: each *source* proposes its best cases (candidate generation), every
candidate gets one row of *features* (this module), and one *scorer* turns a row into a
score (``search.scorer``). A new signal is a new column here, never a special case in the
searcher.

Sources, each a ranked list over the index:

- ``bm25:<name>`` for each BM25 index of ``IndexConfig.lexical``: ``case`` (the case's own
  text) and ``outside`` (its outside views: how such a failure looks from outside);
- ``cos:<group>`` for each group of dense views (``DENSE_GROUPS``): ``case`` (title + event
  + causes as one vector), ``sentences`` (the best of the event's sentences and the causes)
  and ``outside`` (the best outside view); a case's score is its best row's similarity.

Each source gives two features: its score (BM25 divided by the list's best score, so that
long and short queries weigh alike; cosine as it is) and its reciprocal rank ``k/(k+r)``
(as in RRF; 0 when the case is not in the list). A case without outside views (any case
not bundled: imported, edited) has no ``outside`` evidence either way; its own text
stands in for it (``bm25:case`` fills ``bm25:outside``; the better of ``cos:case`` and
``cos:sentences``, a view as short as an outside view, fills ``cos:outside``), so that it
competes with the bundled cases on terms as equal as its text allows
(``scripts/imported_twins.py`` measures what is left of the gap). Callers may add further lists
(``extra``: e.g. the graph's cases sharing the incident's likely causes) as sources of
their own. Every feature is computed for the candidates only: O(depth), not O(cases).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from kizuki.search.analysis import Token
from kizuki.search.index import SearchIndex
from kizuki.search.lists import RankedList, competition_ranks, top

#: Dense view groups: feature name -> the dense views (``IndexConfig.dense_views``) in it.
DENSE_GROUPS: dict[str, tuple[str, ...]] = {
    "case": ("title+event+causes",),
    "sentences": ("sentences[]",),
    "outside": ("outside[]",),
}
#: Indexes with at most this many vector rows score every row for each query.
FULL_SCAN_ROWS = 4096
#: The ``k`` of the reciprocal-rank features (RRF's usual 60).
RRF_K = 60.0


@dataclass(frozen=True)
class PreparedQuery:
    """A pasted text as the ranking sees it: analysed once and embedded once; ``reading``
    is what the facet model reads in that one vector (``search.facets``), when there is one."""

    text: str
    tokens: list[Token]
    vector: np.ndarray  # the whole text's query vector
    allowed: np.ndarray | None  # cases passing the filters (None: no filter)
    reading: Any = None  # search.facets.FacetReading

    @property
    def terms(self) -> list[str]:
        return [t.term for t in self.tokens]


@dataclass(frozen=True)
class Extras:
    """What another layer adds to a query (the graph: cases holding the causes the report
    points to, and whether it reads like an incident the corpus does not cover).

    ``sources`` are named ``case_id -> score`` lists (higher is better), each a source with
    its own features; ``signals`` are named numbers for the no-good-match model."""

    sources: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    signals: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidates:
    """The candidates of one query and their features (rows follow ``docs``)."""

    docs: np.ndarray  # int64 case positions, ascending
    names: tuple[str, ...]  # feature names, columns of ``values``
    values: np.ndarray  # (len(docs), len(names)) float64
    lists: Mapping[str, RankedList]  # each source's ranked list (raw scores)
    best_view: Mapping[int, str]  # each candidate's most similar dense view group

    def with_columns(self, columns: Mapping[str, np.ndarray]) -> Candidates:
        """These candidates with more feature columns (one value per candidate)."""
        if not columns:
            return self
        names = (*self.names, *columns)
        values = np.column_stack([self.values, *(np.asarray(c, float) for c in columns.values())])
        return Candidates(self.docs, names, values, self.lists, self.best_view)

    def column(self, name: str) -> np.ndarray:
        """One feature's values (zeros when this query has no such feature)."""
        if name in self.names:
            return self.values[:, self.names.index(name)]
        return np.zeros(len(self.docs))

    def raw(self, source: str) -> np.ndarray:
        """A source's raw score for every candidate (0 where the candidate is not in that
        list, or the source is absent)."""
        out = np.zeros(len(self.docs))
        ranked = self.lists.get(source)
        if ranked is not None and len(ranked):
            out[np.searchsorted(self.docs, ranked.docs)] = ranked.scores
        return out


def lexical_lists(index: SearchIndex, query: PreparedQuery, depth: int) -> dict[str, RankedList]:
    """``bm25:<name>``: each BM25 index's cases with a non-zero score, best ``depth``."""
    out = {}
    for name, lexical in index.lexicals.items():
        docs, scores = lexical.hits(query.terms)  # the query's postings, not every case
        keep = scores > 0
        if query.allowed is not None:
            keep &= query.allowed[docs]
        out[f"bm25:{name}"] = top(docs[keep], scores[keep], index.id_keys, depth)
    return out


class BestGroup(Mapping[int, str]):
    """Each case's most similar dense view group, worked out only for the cases asked about
    (the results shown), not for the thousands of rows a query reaches.

    Held as one entry per (case, group) the query's rows reached, sorted by case: a
    lookup is a binary search, and nothing is sized by the number of cases."""

    def __init__(
        self, owners: np.ndarray, groups: np.ndarray, best: np.ndarray, names: tuple[str, ...]
    ) -> None:
        order = np.lexsort((groups, owners))
        self._owners, self._groups = owners[order], groups[order]
        self._best, self._names = best[order], names

    def __getitem__(self, doc: int) -> str:
        lo = int(np.searchsorted(self._owners, doc, side="left"))
        hi = int(np.searchsorted(self._owners, doc, side="right"))
        if lo == hi:
            raise KeyError(doc)
        # The best group; on a tie the first in ``names`` order.
        return self._names[int(self._groups[lo + int(np.argmax(self._best[lo:hi]))])]

    def __iter__(self) -> Iterator[int]:
        return iter(np.unique(self._owners).tolist())

    def __len__(self) -> int:
        return len(np.unique(self._owners))


def dense_lists(
    index: SearchIndex, query: PreparedQuery, depth: int
) -> tuple[dict[str, RankedList], Mapping[int, str]]:
    """``cos:<group>``: each dense view group's best ``depth`` cases by their best row,
    and each listed case's best group (for explanations); one faiss call for all groups.

    Small indexes score every row; larger ones the query's nearest rows (the filter is
    applied inside faiss); a case one group's rows did not reach is left out of it."""
    dense = index.dense
    n = len(index.cases)
    view_names, codes = dense.view_codes
    group_of = np.full(len(view_names), -1)
    groups = [g for g, views in DENSE_GROUPS.items() if set(views) & set(view_names)]
    for j, g in enumerate(groups):
        for v in DENSE_GROUPS[g]:
            if v in view_names:
                group_of[view_names.index(v)] = j
    empty = RankedList(np.zeros(0, np.int64), np.zeros(0))
    if not n or not groups:
        return {f"cos:{g}": empty for g in groups}, {}
    if dense.n_rows <= FULL_SCAN_ROWS:
        sims, rows = dense.row_scores(query.vector[None, :])
    else:
        rows_per_case = max(1, round(dense.n_rows / n))
        allowed_rows = query.allowed[dense.owners] if query.allowed is not None else None
        sims, rows = dense.row_scores(query.vector[None, :], depth * rows_per_case, allowed_rows)
    sims, rows = sims[0], rows[0]
    valid = rows >= 0
    sims, rows = sims[valid].astype(np.float64), rows[valid]
    owners, group = dense.owners[rows], group_of[codes[rows]]
    keep = group >= 0
    if query.allowed is not None:
        keep &= query.allowed[owners]
    sims, owners, group = sims[keep], owners[keep], group[keep]
    # Each (group, case)'s best row: sorted by that pair, best row first, first of each
    # pair kept. O(rows returned), not O(cases).
    pair = group * n + owners
    order = np.lexsort((-sims, pair))
    pair, sims = pair[order], sims[order]
    first = np.ones(len(pair), bool)
    first[1:] = pair[1:] != pair[:-1]
    group, owners, sims = pair[first] // n, pair[first] % n, sims[first]
    out = {}
    for j, g in enumerate(groups):
        mine = group == j
        out[f"cos:{g}"] = top(owners[mine], sims[mine], index.id_keys, depth)
    return out, BestGroup(owners, group, sims, tuple(groups))


def extra_list(
    index: SearchIndex, scores: Mapping[str, float], allowed: np.ndarray | None, depth: int
) -> RankedList:
    """A caller's ``case_id -> score`` list (higher is better) as a ranked list."""
    position = index.position
    pairs = [(position[d], float(s)) for d, s in scores.items() if d in position and s > 0]
    docs = np.array([p for p, _ in pairs], np.int64)
    values = np.array([s for _, s in pairs], np.float64)
    if allowed is not None and len(docs):
        keep = allowed[docs]
        docs, values = docs[keep], values[keep]
    return top(docs, values, index.id_keys, depth)


def candidates(
    index: SearchIndex,
    query: PreparedQuery,
    depth: int,
    extra: Mapping[str, Mapping[str, float]] | None = None,
) -> Candidates:
    """Every source's list, the union of their cases, and the feature matrix."""
    lists = lexical_lists(index, query, depth)
    dense, best_view = dense_lists(index, query, depth)
    lists.update(dense)
    for name, scores in (extra or {}).items():
        lists[f"extra:{name}"] = extra_list(index, scores, query.allowed, depth)
    parts = [r.docs for r in lists.values() if len(r)]
    docs = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    names: list[str] = []
    columns: list[np.ndarray] = []
    for source, ranked in lists.items():
        value, recip = np.zeros(len(docs)), np.zeros(len(docs))
        if len(ranked):
            at = np.searchsorted(docs, ranked.docs)
            if source.startswith("cos:"):
                value[:] = ranked.scores.min()  # unlisted: as low as the list goes
                value[at] = ranked.scores
            else:
                peak = ranked.scores.max()
                value[at] = ranked.scores / peak if peak > 0 else 0.0
            recip[at] = RRF_K / (RRF_K + competition_ranks(ranked.scores))
        names += [source, f"{source}:rr"]
        columns += [value, recip]
    missing = ~index.has_outside[docs] if len(docs) else np.zeros(0, bool)
    if missing.any():
        for kind, owns in (("bm25", ("case",)), ("cos", ("case", "sentences"))):
            outside = f"{kind}:outside"
            present = [f"{kind}:{own}" for own in owns if f"{kind}:{own}" in names]
            if present and outside in names:
                for suffix in ("", ":rr"):
                    own = np.max([columns[names.index(n + suffix)] for n in present], axis=0)
                    b = names.index(outside + suffix)
                    columns[b] = np.where(missing, own, columns[b])
    values = np.stack(columns, axis=1) if columns else np.zeros((len(docs), 0))
    return Candidates(docs, tuple(names), values, lists, best_view)
