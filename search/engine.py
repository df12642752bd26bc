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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel

from search.analysis import Analyzer, Token
from search.embeddings import Embedder
from search.fusion import minmax, reciprocal_rank_fusion, score_fusion
from search.index import SearchIndex, case_fields
from search.synonyms import CONCEPT_PREFIX

MODES = ("hybrid", "lexical", "dense")
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

    def with_config(self, **changes) -> Searcher:
        """The same index and models with other ranking settings (for experiments)."""
        return Searcher(self.index, self.embedder, self.analyzer, replace(self.config, **changes))

    # -- vocabulary for filters ------------------------------------------------------------
    def sectors(self) -> list[str]:
        return sorted({s for c in self.index.cases for s in c.sectors})

    def themes(self) -> list[str]:
        """Theme ids and labels a filter may name."""
        out = set()
        for c in self.index.cases:
            if c.theme:
                out.update((c.theme.id, c.theme.label))
        return sorted(out)

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
        index = self.index
        q_tokens = self.analyzer.analyze(text)
        lexical = index.lexical.scores([t.term for t in q_tokens])
        dense, best_view = self._dense_scores(text)

        candidates = self._candidates(sectors, themes)
        ids = [index.cases[i].id for i in candidates]
        lex_rank = {ids[j]: float(lexical[i]) for j, i in enumerate(candidates) if lexical[i] > 0}
        dense_rank = {ids[j]: float(dense[i]) for j, i in enumerate(candidates)}
        rankings, weights = [], []
        if cfg.mode in ("hybrid", "lexical"):
            rankings.append(lex_rank)
            weights.append(cfg.lexical_weight)
        if cfg.mode in ("hybrid", "dense"):
            rankings.append(dense_rank)
            weights.append(cfg.dense_weight)
        allowed = set(ids)
        for j, extra in enumerate(extra_rankings or []):
            rankings.append({d: float(s) for d, s in extra.items() if d in allowed})
            weights.append(extra_weights[j] if extra_weights else cfg.extra_weight)

        if len(rankings) == 1 and cfg.mode != "hybrid":
            fused = dict(rankings[0])
        elif cfg.fusion == "rrf":
            fused = reciprocal_rank_fusion(rankings, weights, k=cfg.rrf_k)
        else:
            fused = score_fusion(rankings, weights)
        if cfg.neighbour_weight > 0 and cfg.neighbour_seeds > 0 and fused:
            fused = self._expand(fused)
        # Every candidate is ranked (cases no list scored come last), so a caller asking for k
        # results gets k whenever the corpus has them. Ties in the fused score (frequent with
        # rank fusion: first in one list and second in the other) go to the case with more
        # combined lexical + dense evidence.
        lex_n, dense_n = minmax(lex_rank), minmax(dense_rank)
        order = sorted(
            ids,
            key=lambda d: (
                -round(fused.get(d, float("-inf")), 9),
                -(lex_n.get(d, 0.0) + dense_n.get(d, 0.0)),
                d,
            ),
        )[:k]

        confidence = _agreement(lex_rank, dense_rank)
        q_terms = _term_spans(q_tokens)
        results = []
        for rank, case_id in enumerate(order, start=1):
            i = index.position[case_id]
            results.append(
                self._result(
                    i,
                    rank,
                    fused.get(case_id, 0.0),
                    lexical[i],
                    dense[i],
                    best_view[i],
                    text,
                    q_terms,
                )
            )
        return SearchResponse(
            query=text,
            results=results,
            no_good_match=bool(not results or confidence < cfg.threshold),
            confidence=confidence,
            threshold=cfg.threshold,
        )

    def _expand(self, fused: dict[str, float]) -> dict[str, float]:
        """Pseudo-relevance feedback on the case graph: the best cases lend their score to
        the cases that resemble them, so analogues sharing the top hit's root cause but
        little of the query's wording rise (the annotators' grade-1 "same pattern" cases)."""
        cfg = self.config
        index = self.index
        scaled = minmax(fused)
        seeds = sorted(scaled, key=lambda d: (-scaled[d], d))[: cfg.neighbour_seeds]
        boost = np.zeros(len(index.cases))
        for d in seeds:
            boost += scaled[d] * index.neighbours(index.position[d])
        boost /= len(seeds)
        return {
            d: s + cfg.neighbour_weight * float(boost[index.position[d]]) for d, s in scaled.items()
        }

    def _candidates(self, sectors, themes) -> list[int]:
        cases = self.index.cases
        keep = range(len(cases))
        if sectors:
            wanted = set(sectors)
            keep = [i for i in keep if wanted.intersection(cases[i].sectors)]
        if themes:
            wanted = set(themes)
            keep = [
                i
                for i in keep
                if cases[i].theme and {cases[i].theme.id, cases[i].theme.label} & wanted
            ]
        return list(keep)

    def _dense_scores(self, text: str) -> tuple[np.ndarray, list[str | None]]:
        """Per-case similarity and each case's best-matching view."""
        n = len(self.index.cases)
        if n == 0:
            return np.zeros(0, np.float32), []
        pieces = [text]
        if self.config.query_sentences:
            pieces += [s for s in split_sentences(text) if s != text.strip()]
        qvecs = self.embedder.embed_queries(pieces)
        per_piece = [self._case_similarities(q) for q in qvecs]
        whole, best_view = per_piece[0]
        if len(per_piece) > 1:
            best_sentence = np.max(np.stack([p[0] for p in per_piece[1:]]), axis=0)
            scores = (whole + best_sentence) / 2
        else:
            scores = whole
        return scores.astype(np.float32), best_view

    def _case_similarities(self, qvec: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
        dense = self.index.dense
        n = len(self.index.cases)
        sims, rows = dense.row_scores(qvec[None, :])
        sims, rows = sims[0], rows[0]
        views = list(dict.fromkeys(dense.views))
        per_view = np.full((len(views), n), np.nan, dtype=np.float32)
        view_pos = {v: j for j, v in enumerate(views)}
        for s, r in zip(sims, rows, strict=True):
            if r < 0:
                continue
            j, owner = view_pos[dense.views[r]], int(dense.owners[r])
            if np.isnan(per_view[j, owner]) or s > per_view[j, owner]:
                per_view[j, owner] = s
        filled = np.where(np.isnan(per_view), np.nanmin(per_view), per_view)
        if self.config.view_aggregate == "max":
            scores = filled.max(axis=0)
        else:
            scores = filled.mean(axis=0)
        best = [views[int(j)] for j in filled.argmax(axis=0)]
        return scores, best

    def _result(self, i, rank, score, lex, dense, view, text, q_terms) -> SearchResult:
        case = self.index.cases[i]
        case_terms = self.index.term_spans(i)
        shared: list[SharedTerm] = []
        field_weight: dict[str, float] = {}
        for term, q_spans in q_terms.items():
            spans = case_terms.get(term)
            if not spans:
                continue
            weight = self.index.lexical.idf(term)
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


def _agreement(lexical: Mapping[str, float], dense: Mapping[str, float]) -> float:
    """Best mean reciprocal rank of any case in the lexical and dense lists (0: no case)."""
    ranks = [_ranks(lexical), _ranks(dense)]
    best = 0.0
    for case_id in set(lexical) | set(dense):
        best = max(best, sum(1.0 / r[case_id] for r in ranks if case_id in r) / 2)
    return best


def _ranks(ranking: Mapping[str, float]) -> dict[str, int]:
    """Competition ranks (1 = best; ties share the better rank)."""
    out: dict[str, int] = {}
    ordered = sorted(ranking.items(), key=lambda kv: -kv[1])
    for i, (doc, score) in enumerate(ordered):
        out[doc] = out[ordered[i - 1][0]] if i and score == ordered[i - 1][1] else i + 1
    return out


def _term_spans(tokens: list[Token]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for t in tokens:
        out.setdefault(t.term, []).append((t.start, t.end))
    return out
