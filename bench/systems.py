"""What the benchmark compares: any retrieval *system* built from the same data.

Every system is built from the same cases, the same Sudachi tokens and the same vectors,
and answers the same queries (text, its tokens, its query vector), so differences in
speed, memory and quality are the systems' own. Kizuki's own pipeline is one more entry of
:data:`SYSTEMS` (``bench.peers.kizuki``); a system that analyses and
embeds by itself reads ``BuildInput.cases_path`` / ``Query.text`` and ignores the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class BuildInput:
    """The corpus, in every form a system may want it, row ``i`` being case ``ids[i]``."""

    ids: list[str]
    tokens: list[list[str]]
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    cases_path: Path | None = None  # JSONL of the cases (corpus.schema.Case)
    workdir: Path | None = None  # where the system may keep files; its size is reported
    #: True on the dev set (44 real cases): a system that embeds by itself may embed for
    #: real instead of using ``vectors`` (Kizuki does, to match ``kizuki eval``).
    real_embeddings: bool = False


@dataclass
class Query:
    text: str
    tokens: list[str]
    vector: np.ndarray  # (dim,) float32, L2-normalised


@runtime_checkable
class System(Protocol):
    name: str
    #: One line for the results table: what the system is, as configured here.
    description: str

    def build(self, data: BuildInput) -> None: ...

    def search(self, query: Query, k: int = 10) -> list[str]: ...


#: name → "module:Class"; classes take no required arguments.
SYSTEMS: dict[str, str] = {
    "kizuki": "bench.peers.kizuki:KizukiSystem",
    "handwritten": "bench.peers.handwritten:HandwrittenHybrid",
    "lancedb": "bench.peers.lancedb_hybrid:LanceDBHybrid",
    # One-ranker reference points (quality table by default).
    "bm25s-only": "bench.peers.single:BM25sOnly",
    "dense-only": "bench.peers.single:DenseOnly",
}
#: Peers a user would pick instead of Kizuki (the side-by-side table).
PEERS = ("handwritten", "lancedb")
#: Kizuki plus its peers: the default of ``--systems``; ratios are taken against Kizuki.
DEFAULT_SYSTEMS = ("kizuki", *PEERS)
REFERENCES = ("bm25s-only", "dense-only")


def load_system(name: str) -> System:
    """A fresh instance of the system registered as ``name``."""
    try:
        target = SYSTEMS[name]
    except KeyError:
        raise ValueError(f"unknown system {name!r}; known: {', '.join(SYSTEMS)}") from None
    module, _, cls = target.partition(":")
    return getattr(import_module(module), cls)()
