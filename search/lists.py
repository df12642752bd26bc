"""Ranked lists: each source's best cases, cut to a depth, as numpy arrays.

A ranking is a ``RankedList``: document positions best first and their scores. ``top`` cuts a
source's scores to its best ``depth`` documents (ties at the cut kept together), so that
what happens after candidate generation costs O(depth), not O(cases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankedList:
    docs: np.ndarray  # int64 document positions, best first
    scores: np.ndarray  # float64, non-increasing

    def __len__(self) -> int:
        return len(self.docs)


def top(docs: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray, depth: int) -> RankedList:
    """The best ``depth`` of ``docs`` by score; equal scores in ``tiebreak[doc]`` order
    (any sortable array by document: the index uses the case ids)."""
    docs = np.asarray(docs, np.int64)
    scores = np.asarray(scores, np.float64)
    if len(docs) > depth:
        # Everything scoring at least the depth-th best score, so ties at the cut are kept
        # together and then ordered like the rest.
        kth = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        keep = scores >= kth
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((tiebreak[docs], -scores))[:depth]
    return RankedList(docs[order], scores[order])


def competition_ranks(scores: np.ndarray) -> np.ndarray:
    """1 = best; equal scores share the better rank (``scores`` non-increasing)."""
    neg = -np.asarray(scores)
    return np.searchsorted(neg, neg, side="left") + 1
