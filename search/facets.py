"""Mechanism facets and out-of-scope kinds, read from the query vector the search already has.

An analyst judges an analogue by *how* a failure came about, not by its words: the trigger
(a release, a routine operation, a hardware fault, a vendor's outage, a surge...), the
safeguard that failed (peer review, testing, failover, monitoring...), the service hit, how
it showed, and what went wrong in the recovery (``search/data/facets.yaml``). A pasted
first report rarely names them; its symptoms imply them. ``FacetModel`` reads them from the
query's e5 vector with one linear head per facet value (a matrix product: no second model
call on the query path), and reads a case's from the vector of its own text, so bundled
and imported cases are described the same way.

The same model says whether a text is an IT *failure* at all, or one of the kinds the
corpus does not cover (cyber attack, account takeover, payment fraud, theft of assets,
natural disaster, insider misconduct, data leak), or no incident at all (everyday text).

Training data, written for this purpose and never shaped by an evaluation query:
``search/data/facet_examples.jsonl`` (short synthetic first reports per facet value, both
languages), ``search/data/out_of_scope_examples.jsonl`` (the same per out-of-scope kind,
plus harder ones whose symptoms read like a system failure, and IT failures worded like
attacks),
and the bundled cases' reviewed facets (``corpus/data/fsa2019_facets.jsonl``) on their own
text and their outside views. Heads are logistic regressions fitted with scikit-learn;
``python -m kizuki.search.facets`` refits them and writes ``search/data/facet_model.npz`` for
the bundled embedding model. With another model the heads are fitted at first use (its
vectors of the training texts go through the embedding cache).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from kizuki.corpus.yamlfile import load_yaml

DATA = Path(__file__).resolve().parent / "data"
VOCABULARY_FILE = DATA / "facets.yaml"
EXAMPLES_FILE = DATA / "facet_examples.jsonl"
OUT_OF_SCOPE_FILE = DATA / "out_of_scope_examples.jsonl"
MODEL_FILE = DATA / "facet_model.npz"
#: The outside views per bundled case the heads learn from: the first 30, which they were
#: fitted and cross-validated on. Views added later feed the ranking only, so that the
#: views-per-case curve measures them alone (README, "views per case").
FITTED_VIEWS = 30

#: The kinds of text the corpus holds no analogue for; ``in_scope`` is an IT failure.
IN_SCOPE = "in_scope"
OUT_OF_SCOPE_KINDS = (
    "cyber_attack",
    "account_takeover",
    "payment_fraud",
    "asset_theft",
    "natural_disaster",
    "insider_misconduct",
    "data_leak",
    "not_incident",
)
KINDS = (IN_SCOPE, *OUT_OF_SCOPE_KINDS)
#: What the page and the API call each out-of-scope kind.
KIND_LABELS: Mapping[str, tuple[str, str]] = {
    "cyber_attack": ("サイバー攻撃", "a cyber attack"),
    "account_takeover": ("不正ログイン・アカウント乗っ取り", "an account takeover"),
    "payment_fraud": ("不正送金・不正利用", "payment fraud"),
    "asset_theft": ("資産の窃取", "a theft of assets"),
    "natural_disaster": ("自然災害", "a natural disaster"),
    "insider_misconduct": ("内部不正", "insider misconduct"),
    "data_leak": ("情報漏えい", "a data leak"),
    "not_incident": ("システム障害の報告ではない文章", "text that is not an incident report"),
}
#: Regularisation (scikit-learn's ``C``) of the facet heads and of the kind classifier,
#: chosen by 5-fold cross-validation over the training texts alone (``python -m
#: search.facets``): the best mean facet AUC, and the best calibration of P(in scope).
C = 30.0
C_KINDS = 100.0
#: Class weights of the kind classifier (None: calibrated to the training texts' mix).
KIND_WEIGHTS: str | None = None


@dataclass(frozen=True)
class FacetVocabulary:
    """The facets and their values (``facets.yaml``), in file order."""

    facets: tuple[str, ...]
    values: Mapping[str, tuple[str, ...]]
    labels: Mapping[tuple[str, str], tuple[str, str]]  # (facet, value) -> (ja, en)
    facet_labels: Mapping[str, tuple[str, str]]

    @classmethod
    def load(cls, path: Path = VOCABULARY_FILE) -> FacetVocabulary:
        raw = load_yaml(path.read_text(encoding="utf-8"))["facets"]
        values = {f: tuple(spec["values"]) for f, spec in raw.items()}
        labels = {
            (f, v): (d["ja"], d["en"]) for f, spec in raw.items() for v, d in spec["values"].items()
        }
        facet_labels = {f: (spec["label"]["ja"], spec["label"]["en"]) for f, spec in raw.items()}
        return cls(tuple(raw), values, labels, facet_labels)

    @property
    def columns(self) -> list[tuple[str, str]]:
        """Every (facet, value), the order of a facet vector's entries."""
        return [(f, v) for f in self.facets for v in self.values[f]]

    def spans(self) -> dict[str, slice]:
        """Each facet's slice of a facet vector."""
        out, start = {}, 0
        for f in self.facets:
            out[f] = slice(start, start + len(self.values[f]))
            start += len(self.values[f])
        return out

    def vector(self, labels: Mapping[str, Sequence[str]]) -> np.ndarray:
        """A 0/1 facet vector from ``{facet: [value, ...]}``."""
        index = {c: i for i, c in enumerate(self.columns)}
        out = np.zeros(len(index), np.float32)
        for facet, chosen in labels.items():
            for value in chosen:
                out[index[(facet, value)]] = 1.0
        return out


@lru_cache(maxsize=1)
def vocabulary() -> FacetVocabulary:
    return FacetVocabulary.load()


@dataclass(frozen=True)
class Heads:
    """Independent logistic heads over a vector: ``sigmoid(x @ w + b)``, one per column."""

    weights: np.ndarray  # (dim, heads)
    bias: np.ndarray  # (heads,)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        z = np.asarray(vectors, np.float32) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(frozen=True)
class FacetReading:
    """What the model reads in one text."""

    facets: np.ndarray  # (columns,) probability of each (facet, value)
    kinds: Mapping[str, float]  # kind -> probability (``KINDS``; sums to 1)

    @property
    def out_of_scope(self) -> tuple[str, float]:
        """The likeliest out-of-scope kind and its probability."""
        kind = max(OUT_OF_SCOPE_KINDS, key=lambda k: self.kinds[k])
        return kind, self.kinds[kind]


class FacetModel:
    """Facet heads (one per value) and the kind classifier, on one embedding model."""

    #: A facet value is shown as read in a text at this probability or more.
    AT = 0.5

    def __init__(
        self,
        vocab: FacetVocabulary,
        facet_heads: Heads,
        kind_heads: Heads,
        model_id: str,
        data_sha256: str,
    ) -> None:
        self.vocab = vocab
        self.facet_heads = facet_heads
        self.kind_heads = kind_heads
        self.model_id = model_id
        self.data_sha256 = data_sha256
        self.spans = vocab.spans()

    def facets(self, vectors: np.ndarray) -> np.ndarray:
        """(n, columns) facet probabilities of n vectors."""
        return self.facet_heads(np.atleast_2d(vectors))

    def kinds(self, vectors: np.ndarray) -> np.ndarray:
        """(n, kinds) probabilities: one multinomial logistic regression (rows sum to 1)."""
        z = np.asarray(np.atleast_2d(vectors), np.float32) @ self.kind_heads.weights
        z = z + self.kind_heads.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def read(self, vector: np.ndarray) -> FacetReading:
        kinds = self.kinds(vector)[0]
        return FacetReading(
            self.facets(vector)[0], dict(zip(KINDS, map(float, kinds), strict=True))
        )

    def agreement(self, query: np.ndarray, cases: np.ndarray) -> dict[str, np.ndarray]:
        """Per facet, how much a query's facet probabilities and each case's agree:
        ``Σ_v q[v] · c[v]`` over the facet's values (cases: (n, columns))."""
        return {f: cases[:, s] @ query[s] for f, s in self.spans.items()}

    def shared(self, query: np.ndarray, case: np.ndarray, at: float = 0.5) -> list[tuple[str, str]]:
        """The (facet, value)s both read with probability ``at`` or more (explanations)."""
        both = np.flatnonzero((query >= at) & (case >= at))
        columns = self.vocab.columns
        return [columns[i] for i in both]

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path = MODEL_FILE) -> None:
        np.savez_compressed(
            path,
            facet_w=self.facet_heads.weights,
            facet_b=self.facet_heads.bias,
            kind_w=self.kind_heads.weights,
            kind_b=self.kind_heads.bias,
            meta=np.array(json.dumps({"model_id": self.model_id, "data": self.data_sha256})),
        )

    @classmethod
    def load_file(cls, path: Path = MODEL_FILE) -> FacetModel | None:
        if not path.is_file():
            return None
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            return cls(
                vocabulary(),
                Heads(z["facet_w"], z["facet_b"]),
                Heads(z["kind_w"], z["kind_b"]),
                meta["model_id"],
                meta["data"],
            )


# -- training data --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingText:
    text: str
    facets: Mapping[str, tuple[str, ...]]  # facet -> values known to apply (others unknown)
    negatives: Mapping[str, bool]  # facet -> True when values not listed are known absent
    kind: str  # ``KINDS``


def training_texts(
    cases_with_views: Sequence[tuple[str, Sequence[str], Mapping[str, Sequence[str]]]] = (),
) -> list[TrainingText]:
    """The synthetic examples, plus ``(case text, its views, its reviewed facets)`` triples.

    A facet example is written for one value (the others of its facet do not apply) and
    lists in ``also`` the other facets' values that clearly apply (values not listed there
    are unknown, so they teach nothing). An out-of-scope example is a negative for every
    facet value: it is no IT failure.
    """
    out: list[TrainingText] = []
    for line in EXAMPLES_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        facets = {row["facet"]: (row["value"],)}
        facets.update({f: tuple(v) for f, v in row.get("also", {}).items() if f != row["facet"]})
        out.append(TrainingText(row["text"], facets, {row["facet"]: True}, IN_SCOPE))
    all_facets = {f: True for f in vocabulary().facets}
    for line in OUT_OF_SCOPE_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            # An out-of-scope text is no IT failure: a negative for every facet value. The
            # file's in-scope rows (failures worded like attacks) teach only the kinds.
            negatives = {} if row["kind"] == IN_SCOPE else all_facets
            out.append(TrainingText(row["text"], {}, negatives, row["kind"]))
    for text, views, labels in cases_with_views:
        facets = {f: tuple(v) for f, v in labels.items()}
        for t in (text, *views):
            out.append(TrainingText(t, facets, all_facets, IN_SCOPE))
    return out


def data_sha256(texts: Sequence[TrainingText]) -> str:
    """What a fitted model depends on besides the embedding model: its texts, labels, ``C``."""
    digest = hashlib.sha256(f"C={C},{C_KINDS}".encode())
    for t in texts:
        digest.update(
            json.dumps([t.text, dict(t.facets), dict(t.negatives), t.kind], sort_keys=True).encode()
        )
    return digest.hexdigest()


def fit(
    texts: Sequence[TrainingText],
    vectors: np.ndarray,
    model_id: str,
    c: float = C,
    c_kinds: float = C_KINDS,
) -> FacetModel:
    """Fit every head (scikit-learn logistic regressions, balanced classes)."""
    from sklearn.linear_model import LogisticRegression

    vocab = vocabulary()
    columns = vocab.columns
    dim = vectors.shape[1]
    facet_w = np.zeros((dim, len(columns)), np.float32)
    facet_b = np.zeros(len(columns), np.float32)
    for j, (facet, value) in enumerate(columns):
        ys, rows = [], []
        for i, t in enumerate(texts):
            if value in t.facets.get(facet, ()):
                ys.append(1)
                rows.append(i)
            elif t.negatives.get(facet):
                ys.append(0)
                rows.append(i)
        if len(set(ys)) < 2:
            facet_b[j] = -10.0
            continue
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        lr.fit(vectors[rows], ys)
        facet_w[:, j], facet_b[j] = lr.coef_[0], lr.intercept_[0]
    # The kinds: one multinomial regression, not class-weighted, so that its probabilities
    # are calibrated (``cross_validate`` reports the calibration error of P(in scope)).
    labels = np.array([KINDS.index(t.kind) for t in texts])
    lr = LogisticRegression(C=c_kinds, max_iter=5000, class_weight=KIND_WEIGHTS)
    lr.fit(vectors, labels)
    kind_w = np.zeros((dim, len(KINDS)), np.float32)
    kind_b = np.zeros(len(KINDS), np.float32)
    kind_w[:, lr.classes_] = lr.coef_.T
    kind_b[lr.classes_] = lr.intercept_
    kind_b[np.setdiff1d(np.arange(len(KINDS)), lr.classes_)] = -30.0
    return FacetModel(
        vocab, Heads(facet_w, facet_b), Heads(kind_w, kind_b), model_id, data_sha256(texts)
    )


# -- training with an embedder ---------------------------------------------------------------


def embed_queries_cached(embedder, texts: Sequence[str], cache) -> np.ndarray:
    """Query vectors of texts through the embedding cache (each text embedded once)."""
    from kizuki.search.embeddings import EmbeddingCache

    prompt = "query\x00" + (embedder.query_prompt or "")
    keys = [EmbeddingCache.key(embedder.model_id, prompt, t) for t in texts]
    found = cache.get_many(keys) if cache is not None else {}
    missing = [i for i, k in enumerate(keys) if k not in found]
    for start in range(0, len(missing), 64):
        chunk = missing[start : start + 64]
        vectors = embedder.embed_queries([texts[i] for i in chunk])
        fresh = {keys[i]: v for i, v in zip(chunk, vectors, strict=True)}
        if cache is not None:
            cache.put_many(fresh)
        found.update(fresh)
    return np.stack([found[k] for k in keys]).astype(np.float32)


def train(embedder, cache, cases_with_views) -> FacetModel:
    """Fit the heads on the training texts, embedded (as queries) by ``embedder``."""
    texts = training_texts(cases_with_views)
    vectors = embed_queries_cached(embedder, [t.text for t in texts], cache)
    return fit(texts, vectors, embedder.model_id)


def load_or_train(embedder, cache, cases_with_views, saved: Path = MODEL_FILE) -> FacetModel:
    """The shipped heads when they were fitted for this embedding model on these training
    texts; else heads fitted now (the training texts' vectors are cached)."""
    model = FacetModel.load_file(saved)
    texts = training_texts(cases_with_views)
    if model is not None and model.model_id == embedder.model_id:
        if model.data_sha256 == data_sha256(texts):
            return model
    vectors = embed_queries_cached(embedder, [t.text for t in texts], cache)
    return fit(texts, vectors, embedder.model_id)


# -- facets of cases and queries, as ranking features ------------------------------------------

#: The dense view whose vector describes a case's own text (``search.index``).
CASE_VIEW = "title+event+causes"


class CaseFacets:
    """Each case's facet probabilities, read from the vector of its own text, computed for
    the cases asked about only (memoised per case).

    Bundled cases have reviewed facets too (``corpus.mechanisms``), but the ranking reads
    every case the same way, so an imported case competes on equal terms: cross-validated,
    reading alone ranked as well as reading and reviewed facets combined (README)."""

    def __init__(self, model: FacetModel, index) -> None:
        self.model = model
        self.index = index
        dense = index.dense
        names, codes = dense.view_codes
        self._row = np.full(len(index.cases), -1, np.int64)
        if CASE_VIEW in names:
            rows = np.flatnonzero(codes == names.index(CASE_VIEW))
            self._row[dense.owners[rows]] = rows
        # Readings by case position, filled as cases are asked about: one array, not a dict
        # (a query asks about thousands of candidates; a Python loop over them cost more
        # than reading them again). Allocated on first use; untouched pages take no memory.
        self._memo: np.ndarray | None = None
        self._have = np.zeros(len(index.cases), bool)

    def of(self, docs: np.ndarray) -> np.ndarray:
        """(len(docs), columns) facet probabilities of these case positions."""
        docs = np.asarray(docs, np.int64)
        width = len(self.model.vocab.columns)
        need = np.unique(docs[~self._have[docs]])
        if len(need):
            if self._memo is None:
                self._memo = np.zeros((len(self._have), width), np.float32)
            rows = self._row[need]
            has = rows >= 0
            if has.any():
                self._memo[need[has]] = self.model.facets(self.index.dense.row_vectors(rows[has]))
            self._have[need] = True
        if self._memo is None:
            return np.zeros((len(docs), width), np.float32)
        return self._memo[docs]


def facet_features(
    model: FacetModel, query_facets: np.ndarray, case_facets: np.ndarray
) -> dict[str, np.ndarray]:
    """``facet:<facet>`` for each facet: how much the query's and each case's readings of it
    agree (``FacetModel.agreement``)."""
    return {f"facet:{f}": v for f, v in model.agreement(query_facets, case_facets).items()}


def kind_signals(reading: FacetReading) -> dict[str, float]:
    """The no-good-match model's signals from what the text reads like
    (``search.confidence``): how likely it is no IT failure at all, and not an incident."""
    return {
        "kind:out_of_scope": _log_odds(1.0 - reading.kinds[IN_SCOPE]),
        "kind:not_incident": _log_odds(reading.kinds["not_incident"]),
    }


def _log_odds(p: float, floor: float = 1e-4) -> float:
    """A probability as log odds (the no-match model is linear in its signals, and the odds
    keep the detector's separation where probabilities crowd near 0 and 1)."""
    p = min(max(p, floor), 1 - floor)
    return float(np.log(p / (1 - p)))


# -- measuring the detectors on their own training texts (never on evaluation queries) -------


def cross_validate(
    texts: Sequence[TrainingText],
    vectors: np.ndarray,
    folds: int = 5,
    c: float = C,
    c_kinds: float = C_KINDS,
    seed: int = 0,
) -> dict[str, float]:
    """Out-of-fold quality of the heads on the training texts: mean and worst AUC over the
    facet values, kind accuracy, out-of-scope recall and in-scope false alarms, and the
    expected calibration error of ``P(in scope)`` (10 bins)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(texts)) % folds
    columns = vocabulary().columns
    facets = np.zeros((len(texts), len(columns)))
    kinds = np.zeros((len(texts), len(KINDS)))
    for f in range(folds):
        train, test = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        model = fit([texts[i] for i in train], vectors[train], "cv", c, c_kinds)
        facets[test], kinds[test] = model.facets(vectors[test]), model.kinds(vectors[test])
    aucs = []
    for j, (facet, value) in enumerate(columns):
        known = [
            (i, value in t.facets.get(facet, ()))
            for i, t in enumerate(texts)
            if value in t.facets.get(facet, ()) or t.negatives.get(facet)
        ]
        labels = np.array([y for _, y in known])
        if 0 < labels.sum() < len(labels):
            aucs.append(roc_auc_score(labels, facets[[i for i, _ in known], j]))
    truth = np.array([KINDS.index(t.kind) for t in texts])
    outside = truth > 0
    p_in = kinds[:, 0]
    bins = np.minimum((p_in * 10).astype(int), 9)
    ece = sum(
        abs(p_in[bins == b].mean() - (~outside[bins == b]).mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    return {
        "facet_auc_mean": float(np.mean(aucs)),
        "facet_auc_min": float(np.min(aucs)),
        "kind_accuracy": float((kinds.argmax(axis=1) == truth).mean()),
        "out_of_scope_recall": float((kinds[outside].argmax(axis=1) > 0).mean()),
        "in_scope_called_out": float((kinds[~outside].argmax(axis=1) > 0).mean()),
        "in_scope_calibration_error": float(ece),
    }


def main() -> None:
    """``python -m kizuki.search.facets [--write]``: cross-validate the heads on their training
    texts and, with ``--write``, fit them on all and save ``search/data/facet_model.npz``."""
    import argparse
    import sys

    from kizuki.corpus.settings import Settings
    from kizuki.search.embeddings import load_embedder, open_embedding_cache

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--write", action="store_true", help="save the fitted heads")
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings)
    texts = training_texts(bundled_training_cases())
    cache = open_embedding_cache(settings)
    try:
        vectors = embed_queries_cached(embedder, [t.text for t in texts], cache)
    finally:
        cache.close()
    print(f"{len(texts)} training texts, {embedder.model_id}, C={C}, C_KINDS={C_KINDS}")
    for c in (1.0, 3.0, 10.0, 30.0, 100.0, 300.0):
        report = cross_validate(texts, vectors, c=c, c_kinds=c)
        print(f"C={c:<5} " + "  ".join(f"{k} {v:.3f}" for k, v in report.items()))
    if args.write:
        model = fit(texts, vectors, embedder.model_id)
        model.save(MODEL_FILE)
        print(f"wrote {MODEL_FILE} ({model.data_sha256[:12]})", file=sys.stderr)


def bundled_training_cases() -> list[tuple[str, tuple[str, ...], dict[str, list[str]]]]:
    """The bundled cases as training texts: (own text, outside views, reviewed facets)."""
    from kizuki.corpus import seed_cases
    from kizuki.corpus.mechanisms import reviewed_facets
    from kizuki.corpus.outside import outside_views

    seed = list(seed_cases())
    labels = reviewed_facets(seed)
    views = outside_views(seed, FITTED_VIEWS)
    return [
        ("\n".join([c.title, c.event, *c.causes]), tuple(views.get(c.id, ())), labels[c.id])
        for c in seed
        if c.id in labels
    ]


if __name__ == "__main__":
    main()
