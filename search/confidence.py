"""Is there a real analogue? A calibrated probability and a graded answer.

The ranking's scores say which case is best *for this query*; they do not say whether the
best is any good. That needs signals on an absolute scale, per query:

- the best cosine similarity of each dense view group (``cos:*``);
- BM25 *coverage*: the best BM25 score of each index divided by the most a document could
  score for these query terms (Lucene BM25 tends to ``idf`` per term), i.e. how much of the
  query's weighted vocabulary one case holds;
- agreement: the best mean reciprocal rank of one case over all the sources (1.0 when one
  case leads every list).

A logistic regression over them (``NoMatchModel``), fitted on queries that have an
analogue and queries that have none, gives ``p``: the probability that the corpus holds a
real analogue. ``no_good_match`` is ``p < threshold``, the threshold chosen so that at most
``MAX_FALSE_REJECTION`` of the queries with an analogue are refused (on the training
queries; ``kizuki eval --cv`` reports it on held-out ones). The answer people see is
graded: ``strong`` / ``partial`` / ``weak`` analogue, or ``none``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from search.features import Candidates
from search.index import SearchIndex

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
)


def signals(index: SearchIndex, terms: Sequence[str], cands: Candidates) -> np.ndarray:
    """The query's absolute signals, in ``SIGNALS`` order (0 where a source is absent)."""
    out = []
    for name in SIGNALS:
        if name.startswith("cos:"):
            ranked = cands.lists.get(name)
            out.append(float(ranked.scores[0]) if ranked is not None and len(ranked) else 0.0)
        elif name.startswith("coverage:"):
            source = name.split(":", 1)[1]
            lexical = index.lexicals.get(source)
            ranked = cands.lists.get(f"bm25:{source}")
            ceiling = sum(lexical.idf(t) for t in terms) if lexical is not None else 0.0
            best = float(ranked.scores[0]) if ranked is not None and len(ranked) else 0.0
            out.append(best / ceiling if ceiling > 0 else 0.0)
        else:
            rr = [n for n in cands.names if n.endswith(":rr") and not n.startswith("extra:")]
            mean = np.mean([cands.column(n) for n in rr], axis=0) if rr else np.zeros(1)
            out.append(float(mean.max()) if len(mean) else 0.0)
    return np.array(out)


@dataclass(frozen=True)
class NoMatchModel:
    """Standardised logistic regression over ``SIGNALS`` plus the operating point."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, x: np.ndarray) -> float:
        z = (np.asarray(x) - np.array(self.mean)) / np.array(self.scale)
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
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, np.float64)
    y = np.asarray(has_analogue, bool)
    if y.all() or not y.any():
        raise ValueError("the no-match model needs queries with and without an analogue")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=5000)
    model.fit((x - mean) / scale, y)
    fitted = NoMatchModel(
        tuple(mean.tolist()),
        tuple(scale.tolist()),
        tuple(model.coef_[0].tolist()),
        float(model.intercept_[0]),
        0.0,
    )
    p = np.array([fitted.probability(row) for row in x[y]])
    # The largest threshold refusing at most the allowed share of real analogues.
    allowed = int(np.floor(max_false_rejection * len(p)))
    threshold = float(np.sort(p)[allowed]) if allowed < len(p) else float(p.max())
    return NoMatchModel(fitted.mean, fitted.scale, fitted.coef, fitted.intercept, threshold)


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
