"""Scorers: one number per candidate from its features (``search.features``).

Every ranking Kizuki offers is a ``LinearScorer`` over the same feature columns, so that
comparing them compares signals, not code paths:

- ``default``: weights learned from graded queries (``search.learn``, by ``kizuki train``),
  shipped in ``search/data/ranker.json`` with what they were trained on and their
  cross-validated quality;
- ``rrf``: reciprocal rank fusion of every source, unweighted (Cormack et al.);
- ``lexical``: BM25 over the case's own text alone; ``dense``: the case vector alone.

A feature a query does not have (an extra list a caller did not pass) counts as 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from kizuki.search.exceptions import RankerFileError as RankerFileError
from kizuki.search.features import Candidates

DEFAULT_RANKER_PATH = Path(__file__).resolve().parent / "data" / "ranker.json"


@dataclass(frozen=True)
class LinearScorer:
    """``score = Σ weight[f] · feature[f]``; ``rrf_sources`` adds unit weights on the
    reciprocal-rank feature of every source present (RRF over whatever lists exist)."""

    name: str
    weights: Mapping[str, float] = field(default_factory=dict)
    rrf_sources: bool = False

    def score(self, cands: Candidates) -> np.ndarray:
        total = np.zeros(len(cands.docs))
        for feature, weight in self.weights.items():
            total += weight * cands.column(feature)
        if self.rrf_sources:
            for feature in cands.names:
                if feature.endswith(":rr") and feature not in self.weights:
                    total += cands.column(feature)
        return total


def builtin_scorers() -> dict[str, LinearScorer]:
    """The fixed comparison rankings."""
    return {
        "rrf": LinearScorer("rrf", rrf_sources=True),
        "lexical": LinearScorer("lexical", {"bm25:case": 1.0}),
        "dense": LinearScorer("dense", {"cos:case": 1.0}),
    }


@dataclass(frozen=True)
class RankerModel:
    """The shipped ranking: learned weights, the no-good-match model and their provenance."""

    scorer: LinearScorer
    no_match: Mapping  # ``search.confidence.NoMatchModel`` fields
    provenance: Mapping

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RANKER_PATH) -> RankerModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            LinearScorer("default", dict(data["weights"])),
            data.get("no_match", {}),
            data.get("provenance", {}),
        )

    @classmethod
    def from_file(cls, path: str | Path | None) -> RankerModel:
        """The model of a file written by ``kizuki train -o`` (None: the shipped one); a
        missing or malformed file is a ``RankerFileError`` that names it."""
        if path is None:
            return cls.load()
        try:
            model = cls.load(path)
        except FileNotFoundError:
            raise RankerFileError(f"ranker file {path}: no such file") from None
        except OSError as exc:
            raise RankerFileError(f"cannot read ranker file {path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            why = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
            raise RankerFileError(
                f"{path} is not a ranker file written by `kizuki train -o` ({why})"
            ) from None
        if not model.scorer.weights or not all(
            isinstance(w, int | float) for w in model.scorer.weights.values()
        ):
            raise RankerFileError(f"{path}: its weights are missing or not numbers")
        return model

    def save(self, path: str | Path) -> None:
        data = {
            "weights": dict(self.scorer.weights),
            "no_match": dict(self.no_match),
            "provenance": dict(self.provenance),
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
