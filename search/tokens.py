"""Every case's analysed tokens in flat numpy arrays: terms for BM25, spans for highlighting.

A token is four numbers (term id, field, start, end), so a million cases' ~100 million
tokens cost ~1.3 GB as arrays, and nothing once a saved table is memory-mapped: a query only
touches the pages of the cases it reads. (Kept as Python ``Token`` objects, they were the
likely bulk of the +2.4 GiB a 100k index took, and a 100k snapshot took 37 s to load.)

A table is a list of segments (the bulk as loaded or built, plus small segments appended by
``extended``), so adding a case never copies the bulk. Term ids index one vocabulary that
only grows: every table derived from another shares it, and an old table simply never sees
the newer ids.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from kizuki.search.analysis import Token

ARRAYS = ("terms", "fields", "starts", "ends")


class Vocabulary:
    """Terms <-> ids, append-only (ids never change, so tables can share it)."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: list[str] = []
        self.ids: dict[str, int] = {}
        for term in terms:
            self.add(term)

    def add(self, term: str) -> int:
        tid = self.ids.get(term)
        if tid is None:
            tid = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return tid

    def __len__(self) -> int:
        return len(self.terms)


@dataclass(frozen=True)
class _Segment:
    offsets: np.ndarray  # int64, one more than the segment's cases: token range of each case
    terms: np.ndarray  # int32 vocabulary ids
    fields: np.ndarray  # int8 positions in ``TokenTable.field_names``
    starts: np.ndarray  # int32 character offsets in that field's text
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1


class TokenTable:
    """Tokens of cases 0..n-1, by field, in text order within each field."""

    def __init__(
        self, field_names: Sequence[str], vocab: Vocabulary, segments: Sequence[_Segment] = ()
    ) -> None:
        self.field_names = tuple(field_names)
        self.vocab = vocab
        self._segments = list(segments)
        self._starts = [0]
        for seg in self._segments:
            self._starts.append(self._starts[-1] + len(seg))

    def __len__(self) -> int:
        return self._starts[-1]

    @property
    def n_tokens(self) -> int:
        return sum(len(seg.terms) for seg in self._segments)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def build(
        cls, field_names: Sequence[str], per_case: Iterable[dict[str, list[Token]]]
    ) -> TokenTable:
        table = cls(field_names, Vocabulary())
        return table.extended(per_case)

    def extended(self, per_case: Iterable[dict[str, list[Token]]]) -> TokenTable:
        """A table with these cases' tokens appended; this one and its arrays are untouched."""
        field_pos = {name: j for j, name in enumerate(self.field_names)}
        offsets, terms, fields, starts, ends = [0], [], [], [], []
        for tokens_by_field in per_case:
            for name, tokens in tokens_by_field.items():
                j = field_pos[name]
                for t in tokens:
                    terms.append(self.vocab.add(t.term))
                    fields.append(j)
                    starts.append(t.start)
                    ends.append(t.end)
            offsets.append(len(terms))
        if len(offsets) == 1:
            return self
        seg = _Segment(
            np.asarray(offsets, np.int64),
            np.asarray(terms, np.int32),
            np.asarray(fields, np.int8),
            np.asarray(starts, np.int32),
            np.asarray(ends, np.int32),
        )
        return TokenTable(self.field_names, self.vocab, [*self._segments, seg])

    def extended_by(self, other: TokenTable) -> TokenTable:
        """This table's cases followed by ``other``'s (which must share the vocabulary)."""
        if other.vocab is not self.vocab:
            raise ValueError("token tables must share their vocabulary to be joined")
        return TokenTable(self.field_names, self.vocab, [*self._segments, *other._segments])

    @classmethod
    def merged(cls, field_names: Sequence[str], parts: Sequence[TokenTable]) -> TokenTable:
        """One table of ``parts`` in order (each with its own vocabulary, e.g. from worker
        processes), their term ids mapped onto one new vocabulary."""
        vocab = Vocabulary()
        segments = []
        for part in parts:
            remap = np.fromiter((vocab.add(t) for t in part.vocab.terms), np.int32, len(part.vocab))
            for seg in part._segments:
                segments.append(
                    _Segment(seg.offsets, remap[seg.terms], seg.fields, seg.starts, seg.ends)
                )
        return cls(field_names, vocab, segments)

    def subset(self, positions: Sequence[int]) -> TokenTable:
        """A table of only these cases, in this order (one new segment)."""
        offsets, parts = [0], {name: [] for name in ARRAYS}
        for i in positions:
            seg, lo, hi = self._locate(i)
            for name in ARRAYS:
                parts[name].append(getattr(seg, name)[lo:hi])
            offsets.append(offsets[-1] + hi - lo)
        arrays = {
            name: np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype)
            for name, dtype in zip(ARRAYS, (np.int32, np.int8, np.int32, np.int32), strict=True)
        }
        seg = _Segment(np.asarray(offsets, np.int64), **arrays)
        return TokenTable(self.field_names, self.vocab, [seg] if positions else [])

    # -- reading --------------------------------------------------------------------------
    def _locate(self, i: int) -> tuple[_Segment, int, int]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        s = bisect.bisect_right(self._starts, i) - 1
        seg = self._segments[s]
        local = i - self._starts[s]
        return seg, int(seg.offsets[local]), int(seg.offsets[local + 1])

    def term_ids(self, i: int, fields: Sequence[str] | None = None) -> np.ndarray:
        """Case ``i``'s term ids, field by field in the order given (all fields: stored order)."""
        seg, lo, hi = self._locate(i)
        terms = np.asarray(seg.terms[lo:hi])
        if fields is None:
            return terms
        f = np.asarray(seg.fields[lo:hi])
        return np.concatenate(
            [terms[f == self.field_names.index(name)] for name in fields] or [np.zeros(0, np.int32)]
        )

    def terms(self, i: int, fields: Sequence[str] | None = None) -> list[str]:
        vocab = self.vocab.terms
        return [vocab[t] for t in self.term_ids(i, fields).tolist()]

    def term_counts(
        self, docs: np.ndarray, term_ids: np.ndarray, fields: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``docs``: its length (tokens in ``fields``) and how often each of
        ``term_ids`` occurs there, as (lengths, counts[len(docs), len(term_ids)]).

        Vectorised over the documents (one gather per segment), for scoring a few
        thousand candidates without a loop per document."""
        docs = np.asarray(docs, np.int64)
        wanted = np.asarray(term_ids, np.int64)
        lengths = np.zeros(len(docs), np.int64)
        counts = np.zeros((len(docs), len(wanted)), np.int64)
        codes = [self.field_names.index(f) for f in fields]
        every_field = len(set(codes)) == len(self.field_names)
        column = np.full(max(len(self.vocab), int(wanted.max(initial=-1)) + 1), -1, np.int64)
        column[wanted] = np.arange(len(wanted))  # term id -> its column, -1 for the rest
        for s, seg in enumerate(self._segments):
            sel = np.flatnonzero((docs >= self._starts[s]) & (docs < self._starts[s + 1]))
            if not len(sel):
                continue
            local = docs[sel] - self._starts[s]
            lo, hi = seg.offsets[local], seg.offsets[local + 1]
            lens = hi - lo
            total = int(lens.sum())
            owner = np.repeat(np.arange(len(sel)), lens)
            idx = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(lo, lens)
            col = column[seg.terms[idx]]
            if every_field:
                lengths[sel] = lens
            else:
                in_fields = np.isin(seg.fields[idx], codes)
                lengths[sel] = np.bincount(owner[in_fields], minlength=len(sel))
                col = np.where(in_fields, col, -1)
            hit = col >= 0
            if len(wanted) and hit.any():
                flat = np.bincount(
                    owner[hit] * len(wanted) + col[hit], minlength=len(sel) * len(wanted)
                )
                counts[sel] = flat.reshape(len(sel), len(wanted))
        return lengths, counts

    def spans(
        self, i: int, term_ids: Iterable[int] | None = None
    ) -> dict[str, dict[str, list[tuple[int, int]]]]:
        """Case ``i``'s term -> field -> character spans (only ``term_ids`` when given)."""
        seg, lo, hi = self._locate(i)
        terms = np.asarray(seg.terms[lo:hi])
        keep = np.arange(len(terms))
        if term_ids is not None:
            # Membership by binary search in the few wanted ids (np.isin sorts both sides).
            wanted = np.unique(np.fromiter(term_ids, np.int64))
            if not len(wanted):
                return {}
            at = np.minimum(np.searchsorted(wanted, terms), len(wanted) - 1)
            keep = np.flatnonzero(wanted[at] == terms)
        fields = np.asarray(seg.fields[lo:hi])[keep].tolist()
        starts = np.asarray(seg.starts[lo:hi])[keep].tolist()
        ends = np.asarray(seg.ends[lo:hi])[keep].tolist()
        out: dict[str, dict[str, list[tuple[int, int]]]] = {}
        vocab = self.vocab.terms
        for t, f, s, e in zip(terms[keep].tolist(), fields, starts, ends, strict=True):
            out.setdefault(vocab[t], {}).setdefault(self.field_names[f], []).append((s, e))
        return out

    def tokens(self, i: int) -> dict[str, list[Token]]:
        """Case ``i``'s tokens as the analyzer gave them (field -> tokens)."""
        seg, lo, hi = self._locate(i)
        out: dict[str, list[Token]] = {}
        vocab = self.vocab.terms
        for t, f, s, e in zip(
            seg.terms[lo:hi].tolist(),
            seg.fields[lo:hi].tolist(),
            seg.starts[lo:hi].tolist(),
            seg.ends[lo:hi].tolist(),
            strict=True,
        ):
            out.setdefault(self.field_names[f], []).append(Token(vocab[t], s, e))
        return out

    # -- files ----------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """One segment on disk (``.npy`` files, memory-mappable) plus the vocabulary."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        whole = self.subset(range(len(self))) if len(self._segments) != 1 else self
        seg = whole._segments[0] if whole._segments else None
        for name in ("offsets", *ARRAYS):
            arr = getattr(seg, name) if seg is not None else np.zeros(1 if name == "offsets" else 0)
            np.save(directory / f"{name}.npy", np.asarray(arr))
        (directory / "tokens.json").write_text(
            json.dumps({"fields": self.field_names, "vocab": self.vocab.terms}, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = True) -> TokenTable:
        directory = Path(directory)
        meta = json.loads((directory / "tokens.json").read_text(encoding="utf-8"))
        mode = "r" if mmap else None
        arrays = {
            name: np.load(directory / f"{name}.npy", mmap_mode=mode)
            for name in ("offsets", *ARRAYS)
        }
        arrays["offsets"] = np.asarray(arrays["offsets"], np.int64)  # small: keep in memory
        seg = _Segment(**arrays)
        return cls(meta["fields"], Vocabulary(meta["vocab"]), [seg] if len(seg) else [])
