"""When the index snapshot is saved again after writes.

Saving the index rewrites every file of it (at 10k cases: the cases, tokens, both BM25
indexes and 45k vectors twice, each hashed and fsynced), work that grows with the corpus
while a write adds one case. A write only appends to the index's tails, and a start grows
a saved index that holds the first cases of the store by the rest
(``search.index.ensure_index``), taking their embeddings from the cache. So the index is
saved again only when its bulk changed (re-indexed, or a case removed) or when
``SAVE_EVERY_CASES`` cases were added since the last save: the work is paid once per that
many writes, and a start catches up fewer cases than that.
"""

from __future__ import annotations

import threading
from typing import Any

from kizuki.search.index import SearchIndex

__all__ = ["SAVE_EVERY_CASES", "IndexSaves"]

#: Cases added to the tails before the index is saved again (a restart analyses at most
#: this many cases again; their embeddings are cached).
SAVE_EVERY_CASES = 256


def _bulk(index: SearchIndex) -> tuple[Any, ...]:
    """The parts of ``index`` that a write shares rather than copies: new objects mean the
    index was re-indexed or shrunk."""
    return (
        index.dense._index,
        index.cases._stored,
        *(lexical._bm25 for lexical in index.lexicals.values()),
    )


class IndexSaves:
    """What was saved last in one index directory (one object per directory and process)."""

    def __init__(self) -> None:
        self._bulk: tuple[Any, ...] | None = None
        self._cases = 0
        self._lock = threading.Lock()

    def due(self, index: SearchIndex) -> bool:
        """Whether ``index`` differs from the saved one by more than appended cases, or by
        ``SAVE_EVERY_CASES`` of them."""
        with self._lock:
            if self._bulk is None:
                return True
            bulk = _bulk(index)
            if len(bulk) != len(self._bulk) or any(
                a is not b for a, b in zip(bulk, self._bulk, strict=True)
            ):
                return True
            return len(index.ids) - self._cases >= SAVE_EVERY_CASES

    def saved(self, index: SearchIndex) -> None:
        """``index`` is what the directory holds now."""
        with self._lock:
            self._bulk, self._cases = _bulk(index), len(index.ids)
