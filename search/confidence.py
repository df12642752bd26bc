"""Is there a real analogue? A calibrated probability and a graded answer.

The ranking's scores say which case is best *for this query*; they do not say whether the
best is any good. That needs signals on an absolute scale, per query:

- the best cosine similarity of each dense view group (``cos:*``); for the outside views,
  a case that has none (imported) is represented by its own rows (whole text, sentences),
  as in the ranking features (``search.features``), so a store of imported cases is not
  judged "no match" for lacking views;
- BM25 *coverage*: the best BM25 score of each index divided by the most a document could
  score for these query terms (Lucene BM25 tends to ``idf`` per term), i.e. how much of the
  query's weighted vocabulary one case holds;
- agreement: the best mean reciprocal rank of one case over all the sources (1.0 when one
  case leads every list);
- vocabulary: the share of the query's words (weighted by idf) that occur anywhere in the
  corpus; a report about a parking accident is mostly words the corpus never uses;
- signals another layer adds (``extra:*``): the graph's ``out_of_scope``, how much more the
  report reads like a cyber attack, fraud or disaster than like a system failure.

A logistic regression over them (``NoMatchModel``), fitted on queries that have an
analogue and queries that have none, gives ``p``: the probability that the corpus holds a
real analogue. Its coefficients are constrained to the sign each signal must have (more
similarity, coverage, agreement or known vocabulary can only raise ``p``; reading like an
out-of-scope kind can only lower it), so a handful of training queries cannot teach it
that a closer match means less of an analogue. ``no_good_match`` is ``p < threshold``, the threshold chosen so that at most
``MAX_FALSE_REJECTION`` of the queries with an analogue are refused (on the training
queries; ``kizuki eval --cv`` reports it on held-out ones). The answer people see is
graded: ``strong`` / ``partial`` / ``weak`` analogue, or ``none``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from kizuki.search.features import Candidates
from kizuki.search.index import SearchIndex
from kizuki.search.synonyms import CONCEPT_PREFIX

MAX_FALSE_REJECTION = 0.10
#: ``p`` at or above which the best match is called strong / partial (below: weak).
STRONG_AT = 0.85
PARTIAL_AT = 0.60
SIGNALS = (
    "cos:case",
    "cos:sentences",
    "cos:outside",
    "coverage:case",
    "coverage:outside",
    "agreement",
    "vocabulary",
    "extra:out_of_scope",
    "extra:kind:out_of_scope",
    "extra:kind:not_incident",
)
#: Signals that can only lower ``p``: reading like something the corpus does not cover.
LOWERING = {"extra:out_of_scope", "extra:kind:out_of_scope", "extra:kind:not_incident"}
#: The sign each signal's coefficient must have (+1: raises ``p``).
DIRECTION = {name: -1.0 if name in LOWERING else 1.0 for name in SIGNALS}


def signals(
    index: SearchIndex,
    terms: Sequence[str],
    cands: Candidates,
    extra: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The query's absolute signals, in ``SIGNALS`` order (0 where a source is absent);
    ``extra`` are signals another layer computed (``Extras.signals``)."""
    out = []
    for name in SIGNALS:
        if name.startswith("extra:"):
            out.append(float((extra or {}).get(name.split(":", 1)[1], 0.0)))
        elif name.startswith("cos:"):
            value = _best(cands, name)
            if name == "cos:outside":  # a case without views: its own rows stand in
                missing = ~index.has_outside
                value = max(
                    value,
                    _best(cands, "cos:case", missing),
                    _best(cands, "cos:sentences", missing),
                )
            out.append(value)
        elif name == "vocabulary":
            out.append(_known_share(index, terms))
        elif name.startswith("coverage:"):
            value = _coverage(index, terms, cands, name.split(":", 1)[1])
            if name == "coverage:outside":
                value = max(value, _coverage(index, terms, cands, "case", ~index.has_outside))
            out.append(value)
        else:
            rr = [n for n in cands.names if n.endswith(":rr") and not n.startswith("extra:")]
            mean = np.mean([cands.column(n) for n in rr], axis=0) if rr else np.zeros(1)
            out.append(float(mean.max()) if len(mean) else 0.0)
    return np.array(out)


def _best(cands: Candidates, source: str, among: np.ndarray | None = None) -> float:
    """The best score of a source's list (of the cases ``among`` selects, when given)."""
    ranked = cands.lists.get(source)
    if ranked is None or not len(ranked):
        return 0.0
    scores = np.asarray(ranked.scores)
    if among is not None:
        scores = scores[among[np.asarray(ranked.docs)]]
    return float(scores.max()) if len(scores) else 0.0


def _coverage(
    index: SearchIndex,
    terms: Sequence[str],
    cands: Candidates,
    source: str,
    among: np.ndarray | None = None,
) -> float:
    """How much of the query's idf mass the best BM25 match of a field carries."""
    lexical = index.lexicals.get(source)
    ceiling = sum(lexical.idf(t) for t in terms) if lexical is not None else 0.0
    best = _best(cands, f"bm25:{source}", among)
    return best / ceiling if ceiling > 0 else 0.0


def _known_share(index: SearchIndex, terms: Sequence[str]) -> float:
    """Share of the query's idf mass carried by words some case (or outside view) uses; a
    word no case uses counts with the highest idf the collection can give."""
    words = {t for t in terms if not t.startswith(CONCEPT_PREFIX)}
    if not words:
        return 0.0
    n = max(1, index.lexical.n_docs)
    unseen = float(np.log(1 + (n + 0.5) / 0.5))
    known = total = 0.0
    for t in words:
        idf = max(lexical.idf(t) for lexical in index.lexicals.values())
        known += idf
        total += idf if idf > 0 else unseen
    return known / total if total > 0 else 0.0


@dataclass(frozen=True)
class NoMatchModel:
    """Standardised logistic regression over the named signals plus the operating point.

    ``names`` are the signals it was fitted on (a subset of ``SIGNALS``, in that order), so
    a model keeps working when a newer Kizuki computes more signals."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def __post_init__(self) -> None:
        unknown = set(self.names) - set(SIGNALS)
        if unknown or not (len(self.names) == len(self.mean) == len(self.coef)):
            raise ValueError(f"no-match model: unknown or mismatched signals {sorted(unknown)}")

    def probability(self, x: np.ndarray) -> float:
        """``x``: the query's signals in ``SIGNALS`` order."""
        x = np.asarray(x)[[SIGNALS.index(n) for n in self.names]]
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return float(1.0 / (1.0 + np.exp(-(z @ np.array(self.coef) + self.intercept))))

    def judge(self, x: np.ndarray) -> tuple[float, str]:
        """(probability of a real analogue, ``strong``/``partial``/``weak``/``none``)."""
        p = self.probability(x)
        return p, strength(p, self.threshold)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> NoMatchModel:
        return cls(
            tuple(data["names"]),
            tuple(data["mean"]),
            tuple(data["scale"]),
            tuple(data["coef"]),
            float(data["intercept"]),
            float(data["threshold"]),
        )


def strength(p: float, threshold: float) -> str:
    if p < threshold:
        return "none"
    if p >= STRONG_AT:
        return "strong"
    return "partial" if p >= PARTIAL_AT else "weak"


def fit_no_match(
    x: np.ndarray, has_analogue: np.ndarray, max_false_rejection: float = MAX_FALSE_REJECTION
) -> NoMatchModel:
    """Fit on rows of ``signals`` labelled by whether the query has a graded analogue."""
    x = np.asarray(x, np.float64)
    y = np.asarray(has_analogue, bool)
    if y.all() or not y.any():
        raise ValueError("the no-match model needs queries with and without an analogue")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef, intercept = _signed_logistic((x - mean) / scale, y)
    fitted = NoMatchModel(
        SIGNALS,
        tuple(mean.tolist()),
        tuple(scale.tolist()),
        tuple(coef.tolist()),
        intercept,
        0.0,
    )
    p = np.array([fitted.probability(row) for row in x[y]])
    # The largest threshold refusing at most the allowed share of real analogues.
    allowed = int(np.floor(max_false_rejection * len(p)))
    threshold = float(np.sort(p)[allowed]) if allowed < len(p) else float(p.max())
    return NoMatchModel(
        SIGNALS, fitted.mean, fitted.scale, fitted.coef, fitted.intercept, threshold
    )


def _signed_logistic(z: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression whose coefficients keep ``DIRECTION``'s signs
    (L-BFGS-B with bounds; classes weighted equally, few queries have no analogue)."""
    from scipy.optimize import minimize

    sign = np.array([DIRECTION[n] for n in SIGNALS])
    target = y.astype(np.float64)
    weight = np.where(y, 0.5 / y.sum(), 0.5 / (~y).sum()) * len(y)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1] * sign, params[-1]
        margin = z @ w + b
        p = 1.0 / (1.0 + np.exp(-margin))
        eps = 1e-12
        nll = -(weight * (target * np.log(p + eps) + (1 - target) * np.log(1 - p + eps))).sum()
        grad_margin = weight * (p - target)
        grad = np.append((z.T @ grad_margin) * sign + l2 * params[:-1], grad_margin.sum())
        return nll + 0.5 * l2 * float(params[:-1] @ params[:-1]), grad

    start = np.zeros(z.shape[1] + 1)
    bounds = [(0.0, None)] * z.shape[1] + [(None, None)]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:-1] * sign, float(result.x[-1])


def operating_curve(p_analogue: np.ndarray, p_none: np.ndarray) -> list[dict]:
    """False rejections vs no-match accuracy for every threshold (the published curve)."""
    out = []
    for t in np.unique(np.concatenate([p_analogue, p_none, [0.0, 1.0 + 1e-9]])):
        out.append(
            {
                "threshold": round(float(t), 4),
                "false_rejection": float(np.mean(p_analogue < t)) if len(p_analogue) else 0.0,
                "none_accuracy": float(np.mean(p_none < t)) if len(p_none) else 0.0,
            }
        )
    return out
