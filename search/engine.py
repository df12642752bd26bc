"""Ranking a pasted incident against the index: lexical + dense + extra lists, explained.

``Searcher.search`` is the one ranking code path: the CLI's ``search`` and ``eval`` and the
HTTP API all call it (through ``api.engine.get_searcher``), so what ``kizuki eval`` measures
is what users get. Each result says why it matched (shared terms with spans in the query and
in the case's fields, the fields involved) and carries the case's causes and countermeasures.
The response flags ``no_good_match`` when the best case does not stand out enough from the
rest of the corpus to be a real analogue (see ``RankConfig.threshold``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel

from search.analysis import Analyzer, Token
from search.embeddings import Embedder
from search.fusion import (
    RankedList,
    competition_ranks,
    minmax,
    reciprocal_rank_fusion,
    rrf_floor,
    score_fusion,
    top,
)
from search.index import SearchIndex, case_fields
from search.synonyms import CONCEPT_PREFIX

MODES = ("hybrid", "lexical", "dense")
#: Queries whose lexical and dense lists a Searcher remembers (see ``_base_lists``).
_LIST_MEMO_SIZE = 4
#: Indexes with at most this many vectors score every one of them for each query.
FULL_SCAN_ROWS = 4096
FUSIONS = ("rrf", "score")


@dataclass(frozen=True)
class RankConfig:
    """How rankings are combined. Defaults are the measured choice (docs/search-experiments.md)."""

    mode: str = "hybrid"
    fusion: str = "rrf"
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    #: Weight of each list in ``extra_rankings`` unless the caller gives its own.
    extra_weight: float = 1.0
    rrf_k: float = 60.0
    #: How a case's vectors from several views combine: best view ("max") or their "mean".
    view_aggregate: str = "max"
    #: Also embed each sentence of a multi-sentence query; a case scores by the mean of the
    #: whole-query similarity and its best sentence similarity.
    query_sentences: bool = False
    #: Pull in the top hit's closest relatives (cases resembling it in text and vectors):
    #: each case gains ``neighbour_weight`` x (seed's score) x (resemblance to the seed),
    #: averaged over the ``neighbour_seeds`` best cases. 0 turns it off.
    neighbour_weight: float = 0.5
    neighbour_seeds: int = 1
    #: ``no_good_match`` when the confidence falls below this. Confidence is how well the two
    #: independent rankers agree on some case: the best mean of a case's reciprocal ranks in
    #: the lexical and the dense list (1.0: one case first in both; 0.5 + 0.5/r: first in one,
    #: r-th in the other). 0.65 asks for a case first in one list and in the top 3 of the
    #: other. Rank-based, so it does not depend on a model's similarity scale.
    threshold: float = 0.65
    #: Each ranked list is cut to its best ``depth`` cases before fusion (and the fused
    #: list before the neighbour expansion), so a query costs O(depth), not O(cases).
    #: An index of at most ``depth`` cases is ranked whole, exactly as without the cut.
    depth: int = 1000

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}")
        if self.view_aggregate not in ("max", "mean"):
            raise ValueError("view_aggregate must be 'max' or 'mean'")


class SharedTerm(BaseModel):
    """A term the query and the case share, with spans to highlight on both sides."""

    term: str  # as written in the query
    normalized: str  # the analysed term (a synonym group's label for synonym matches)
    via_synonym: bool
    weight: float  # BM25 idf: rarer terms say more
    query_spans: list[tuple[int, int]]
    case_spans: dict[str, list[tuple[int, int]]]  # field name -> spans in that field's text


class SearchResult(BaseModel):
    case_id: str
    rank: int
    score: float
    lexical_score: float
    dense_score: float
    title: str
    theme: str | None
    sectors: list[str]
    event: str
    matched_fields: list[str]
    dense_view: str | None
    shared_terms: list[SharedTerm]
    causes: list[str]
    countermeasures: list[str]


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    no_good_match: bool
    confidence: float
    threshold: float


class Searcher:
    """Ranks cases of one ``SearchIndex`` for a free-text incident description."""

    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        analyzer: Analyzer | None = None,
        config: RankConfig | None = None,
    ) -> None:
        if index.manifest["model"]["id"] != embedder.model_id:
            raise ValueError("the index was built with another embedding model")
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer or Analyzer(index.config.analyzer)
        self.config = config or RankConfig()
        self._memo: OrderedDict[tuple, tuple] = OrderedDict()
        self._memo_lock = threading.Lock()

    def with_config(self, **changes) -> Searcher:
        """The same index and models with other ranking settings (for experiments)."""
        return Searcher(self.index, self.embedder, self.analyzer, replace(self.config, **changes))

    # -- vocabulary for filters ------------------------------------------------------------
    def sectors(self) -> list[str]:
        return self.index.cases.sectors()

    def themes(self) -> list[str]:
        """Theme ids and labels a filter may name."""
        return self.index.cases.themes()

    # -- ranking ---------------------------------------------------------------------------
    def search(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        extra_rankings: Sequence[Mapping[str, float]] | None = None,
        extra_weights: Sequence[float] | None = None,
    ) -> SearchResponse:
        """Best analogues of ``text``, best first, at most ``k``.

        ``extra_rankings`` are further ``case_id -> score`` lists (higher is better) fused
        with the lexical and dense ones, e.g. the graph layer's cause-aware ranking.
        """
        if not text or not text.strip():
            raise ValueError("the query text is empty")
        if k < 1:
            raise ValueError("k must be at least 1")
        cfg = self.config
        depth = max(cfg.depth, k)
        q_tokens, lexical, allowed, lex_list, dense_list, dense_view = self._base_lists(
            text, sectors, themes, depth
        )
        rankings, weights = [], []
        if cfg.mode in ("hybrid", "lexical"):
            rankings.append(lex_list)
            weights.append(cfg.lexical_weight)
        if cfg.mode in ("hybrid", "dense"):
            rankings.append(dense_list)
            weights.append(cfg.dense_weight)
        for j, extra in enumerate(extra_rankings or []):
            rankings.append(self._extra_list(extra, allowed, depth))
            weights.append(extra_weights[j] if extra_weights else cfg.extra_weight)

        floor = None  # the lowest fused score of cases cut from the lists, if any were cut
        if len(rankings) == 1 and cfg.mode != "hybrid":
            docs = np.sort(rankings[0].docs)
            fused = rankings[0].scores[np.argsort(rankings[0].docs)]
        elif cfg.fusion == "rrf":
            docs, fused = reciprocal_rank_fusion(rankings, weights, k=cfg.rrf_k)
            floor = rrf_floor(rankings, weights, k=cfg.rrf_k)
        else:
            docs, fused = score_fusion(rankings, weights)
        if cfg.neighbour_weight > 0 and cfg.neighbour_seeds > 0 and len(docs):
            fused = self._expand(docs, fused, floor)
        order = self._order(docs, fused, lex_list, dense_list, k)

        confidence = _agreement(lex_list, dense_list)
        q_terms = _term_spans(q_tokens)
        dense_at = dict(zip(dense_list.docs.tolist(), dense_list.scores.tolist(), strict=True))
        fused_at = dict(zip(docs.tolist(), fused.tolist(), strict=True))
        results = [
            self._result(
                i,
                rank,
                fused_at.get(i, 0.0),
                lexical[i],
                dense_at.get(i, 0.0),
                dense_view.get(i),
                text,
                q_terms,
            )
            for rank, i in enumerate(order, start=1)
        ]
        return SearchResponse(
            query=text,
            results=results,
            no_good_match=bool(not results or confidence < cfg.threshold),
            confidence=confidence,
            threshold=cfg.threshold,
        )

    def _base_lists(self, text: str, sectors, themes, depth: int) -> tuple:
        """The query's analysis, BM25 scores, filter and its lexical and dense lists.

        Remembered for the last few queries: the cause-aware ranker searches the same text
        twice (without, then with, its cause list), and only the fusion differs."""
        key = (text, tuple(sectors or ()), tuple(themes or ()), depth)
        with self._memo_lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        index = self.index
        q_tokens = self.analyzer.analyze(text)
        lexical = index.lexical.scores([t.term for t in q_tokens])
        allowed = index.cases.mask(sectors, themes) if (sectors or themes) else None
        hits = lexical > 0
        if allowed is not None:
            hits &= allowed
        lex_docs = np.flatnonzero(hits)
        lex_list = top(lex_docs, lexical[lex_docs], index.id_keys, depth)
        dense_list, dense_view = self._dense_list(text, allowed, depth)
        out = (q_tokens, lexical, allowed, lex_list, dense_list, dense_view)
        with self._memo_lock:
            self._memo[key] = out
            while len(self._memo) > _LIST_MEMO_SIZE:
                self._memo.popitem(last=False)
        return out

    def _order(self, docs, fused, lex_list, dense_list, k) -> list[int]:
        """The best ``k`` cases: the fused ones, then any other listed case.

        Every listed case is ranked (those no fused list scored come last), so a caller
        asking for k results gets k whenever the lists have them. Ties in the fused score
        (frequent with rank fusion: first in one list and second in the other) go to the
        case with more combined lexical + dense evidence (each min-max scaled over its
        list), then to the smaller case id."""
        listed = np.unique(np.concatenate([docs, lex_list.docs, dense_list.docs]))
        if len(listed) > len(docs):
            full = np.full(len(listed), -np.inf)
            full[np.searchsorted(listed, docs)] = fused
            docs, fused = listed, full
        lex_n, dense_n = np.zeros(len(docs)), np.zeros(len(docs))
        lex_n[np.searchsorted(docs, lex_list.docs)] = minmax(lex_list.scores)
        dense_n[np.searchsorted(docs, dense_list.docs)] = minmax(dense_list.scores)
        evidence = lex_n + dense_n
        if len(docs) > 4 * k:
            # Only scores within rounding reach of the k-th best can make the top k.
            kth = np.partition(fused, len(fused) - k)[len(fused) - k]
            near = np.flatnonzero(fused >= kth - 1e-8) if np.isfinite(kth) else None
            if near is not None:
                docs, fused, evidence = docs[near], fused[near], evidence[near]
        rounded = np.array([round(f, 9) for f in fused.tolist()])
        best = np.lexsort((self.index.id_keys[docs], -evidence, -rounded))[:k]
        return docs[best].tolist()

    def _extra_list(self, extra: Mapping[str, float], allowed, depth: int) -> RankedList:
        position = self.index.position
        pairs = [(position[d], float(s)) for d, s in extra.items() if d in position]
        docs = np.array([p for p, _ in pairs], np.int64)
        scores = np.array([s for _, s in pairs], np.float64)
        if allowed is not None and len(docs):
            keep = allowed[docs]
            docs, scores = docs[keep], scores[keep]
        return top(docs, scores, self.index.id_keys, depth)

    def _expand(self, docs: np.ndarray, fused: np.ndarray, floor: float | None) -> np.ndarray:
        """Pseudo-relevance feedback on the case graph: the best cases lend their score to
        the cases that resemble them, so analogues sharing the top hit's root cause but
        little of the query's wording rise (the annotators' grade-1 "same pattern" cases)."""
        cfg = self.config
        index = self.index
        scaled = minmax(fused, floor)
        seeds = np.lexsort((index.id_keys[docs], -scaled))[: cfg.neighbour_seeds]
        boost = np.zeros(len(docs))
        for j in seeds:
            boost += scaled[j] * index.neighbours(int(docs[j]), among=docs)
        boost /= len(seeds)
        return scaled + cfg.neighbour_weight * boost

    def _dense_list(self, text: str, allowed, depth: int) -> tuple[RankedList, dict[int, str]]:
        """The dense ranking (best ``depth`` cases) and each listed case's best view."""
        pieces = [text]
        if self.config.query_sentences:
            pieces += [s for s in split_sentences(text) if s != text.strip()]
        if not len(self.index.cases):
            return RankedList(np.zeros(0, np.int64), np.zeros(0)), {}
        qvecs = self.embedder.embed_queries(pieces)
        per_piece = [self._case_similarities(q, allowed, depth) for q in qvecs]
        docs, whole, best_view = per_piece[0]
        if len(per_piece) > 1:
            # Cases one piece did not reach score that piece's lowest similarity.
            docs = np.unique(np.concatenate([p[0] for p in per_piece]))
            stacked = []
            for p_docs, p_scores, _ in per_piece:
                row = np.full(len(docs), p_scores.min() if len(p_scores) else 0.0)
                row[np.searchsorted(docs, p_docs)] = p_scores
                stacked.append(row)
            scores = (stacked[0] + np.max(np.stack(stacked[1:]), axis=0)) / 2
        else:
            scores = whole
        scores = scores.astype(np.float32).astype(np.float64)
        ranked = top(docs, scores, self.index.id_keys, depth)
        return ranked, {int(i): best_view[int(i)] for i in ranked.docs.tolist()}

    def _case_similarities(self, qvec: np.ndarray, allowed, depth: int):
        """(cases, their similarity, best view by case) from the query's nearest rows.

        Small indexes score every row (exact); larger ones the nearest ``depth`` cases'
        worth of rows, passing the filters. A case's similarity is its best view's ("max")
        or the mean over its views, a missing view counting as the lowest similarity seen.
        """
        dense = self.index.dense
        n = len(self.index.cases)
        rows_per_case = max(1, round(dense.n_rows / max(1, n)))
        if dense.n_rows <= FULL_SCAN_ROWS:
            sims, rows = dense.row_scores(qvec[None, :])
        else:
            allowed_rows = allowed[dense.owners] if allowed is not None else None
            sims, rows = dense.row_scores(qvec[None, :], depth * rows_per_case, allowed_rows)
        sims, rows = sims[0], rows[0]
        valid = rows >= 0
        sims, rows = sims[valid], rows[valid]
        if not len(rows):  # nothing passes the filters
            return np.zeros(0, np.int64), np.zeros(0, np.float32), {}
        owners = dense.owners[rows]
        view_names, codes = dense.view_codes
        view_of = codes[rows]
        docs = np.unique(owners)
        if dense.n_rows <= FULL_SCAN_ROWS:
            docs = np.arange(n)  # every case (all rows were scored)
        col = np.searchsorted(docs, owners)
        per_view = np.full((len(view_names), len(docs)), np.nan, dtype=np.float32)
        if len(docs) == len(owners):  # one row per case: nothing to take the best of
            per_view[view_of, col] = sims
        else:
            np.fmax.at(per_view, (view_of, col), sims.astype(np.float32))
        filled = np.where(np.isnan(per_view), np.nanmin(per_view), per_view)
        if self.config.view_aggregate == "max":
            scores = filled.max(axis=0)
        else:
            scores = filled.mean(axis=0)
        best = filled.argmax(axis=0)
        best_view = {int(d): view_names[int(j)] for d, j in zip(docs, best, strict=True)}
        if allowed is not None:
            keep = allowed[docs]
            docs, scores = docs[keep], scores[keep]
        return docs, scores, best_view

    def _result(self, i, rank, score, lex, dense, view, text, q_terms) -> SearchResult:
        index = self.index
        case = index.cases[i]
        vocab = index.tokens.vocab.ids
        wanted = [vocab[t] for t in q_terms if t in vocab]
        case_terms = index.tokens.spans(i, wanted) if wanted else {}
        shared: list[SharedTerm] = []
        field_weight: dict[str, float] = {}
        for term, q_spans in q_terms.items():
            spans = case_terms.get(term)
            if not spans:
                continue
            weight = index.lexical.idf(term)
            for f in spans:
                field_weight[f] = field_weight.get(f, 0.0) + weight
            start, end = q_spans[0]
            shared.append(
                SharedTerm(
                    term=text[start:end],
                    normalized=term.removeprefix(CONCEPT_PREFIX),
                    via_synonym=term.startswith(CONCEPT_PREFIX),
                    weight=round(weight, 4),
                    query_spans=q_spans,
                    case_spans=spans,
                )
            )
        shared.sort(key=lambda s: (-s.weight, s.query_spans[0]))
        matched = sorted(field_weight, key=lambda f: -field_weight[f])
        if view:
            for name in view.removesuffix("[]").split("+"):
                if name not in matched and case_fields(case).get(name):
                    matched.append(name)
        return SearchResult(
            case_id=case.id,
            rank=rank,
            score=round(float(score), 6),
            lexical_score=round(float(lex), 4),
            dense_score=round(float(dense), 4),
            title=case.title,
            theme=case.theme.id if case.theme else None,
            sectors=list(case.sectors),
            event=case.event,
            matched_fields=matched,
            dense_view=view,
            shared_terms=shared,
            causes=list(case.causes),
            countermeasures=list(case.countermeasures),
        )


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n+")


def split_sentences(text: str, min_chars: int = 8) -> list[str]:
    """Sentences of a pasted description (Japanese or English), dropping tiny fragments."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p) >= min_chars]


def _agreement(lexical: RankedList, dense: RankedList) -> float:
    """Best mean reciprocal rank of any case in the lexical and dense lists (0: no case)."""
    docs = np.unique(np.concatenate([lexical.docs, dense.docs]))
    if not len(docs):
        return 0.0
    total = np.zeros(len(docs))
    for ranking in (lexical, dense):
        total[np.searchsorted(docs, ranking.docs)] += 1.0 / competition_ranks(ranking)
    return float((total / 2).max())


def _term_spans(tokens: list[Token]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for t in tokens:
        out.setdefault(t.term, []).append((t.start, t.end))
    return out
