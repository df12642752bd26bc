"""The indexed cases by position, in memory or read on demand from a snapshot file.

A million ``Case`` objects would hold gigabytes of Python strings that a query never
reads (it shows k of them). A loaded snapshot therefore keeps only the case ids, the filter facets
(sectors, theme) and the byte offset of each case in ``cases.jsonl``; a case is parsed when
it is asked for (a small LRU keeps the recent ones). Cases added later live in memory after
the stored ones, so a write never rewrites the bulk.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from kizuki.corpus.schema import Case, normalise_sector

_CACHE_SIZE = 2048


def _facets(
    cases: Iterable[Case],
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[int | None]]:
    """Each case's sectors, its theme's id and label, and its edition's year: what filters
    match."""
    cases = list(cases)
    sectors = [tuple(c.sectors) for c in cases]
    themes = [(c.theme.id, c.theme.label) if c.theme else () for c in cases]
    years = [c.source.year if c.source else None for c in cases]
    return sectors, themes, years


class _StoredCases:
    """``cases.jsonl`` with an offset per line, read with ``pread`` (thread-safe)."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.path = path
        self.offsets = offsets  # n + 1 byte offsets
        self._fd = os.open(path, os.O_RDONLY)  # kept open: the snapshot dir may be replaced
        self._cache: OrderedDict[int, Case] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def raw(self, i: int) -> bytes:
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return os.pread(self._fd, hi - lo, lo)

    def get(self, i: int) -> Case:
        with self._lock:
            case = self._cache.get(i)
            if case is not None:
                self._cache.move_to_end(i)
                return case
        case = Case.model_validate_json(self.raw(i))
        with self._lock:
            self._cache[i] = case
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return case

    def __del__(self) -> None:
        try:
            os.close(self._fd)
        except (OSError, AttributeError):
            pass


class CaseTable(Sequence[Case]):
    """Cases 0..n-1 (stored ones first, then in-memory ones), their ids and filter facets."""

    def __init__(
        self,
        cases: Sequence[Case] = (),
        *,
        stored: _StoredCases | None = None,
        ids: Sequence[str] | None = None,
        facets: dict | None = None,
    ) -> None:
        self._stored = stored
        self._memory = list(cases)
        n_stored = len(stored) if stored is not None else 0
        if stored is not None and (ids is None or facets is None):
            raise ValueError("stored cases need their ids and facets")
        self.ids: list[str] = list(ids) if ids is not None else []
        self.ids += [c.id for c in self._memory]
        self._n_stored = n_stored
        stored_facets = facets or {"sectors": [], "themes": [], "years": []}
        sectors, themes, years = _facets(self._memory)
        self._sectors: list[tuple[str, ...]] = list(stored_facets["sectors"]) + sectors
        self._themes: list[tuple[str, ...]] = list(stored_facets["themes"]) + themes
        stored_years = stored_facets.get("years")
        if stored_years is None:  # a snapshot saved before years were a facet
            stored_years = _facets(stored.get(i) for i in range(n_stored))[2] if stored else []
        self._years: list[int | None] = list(stored_years) + years
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._id_keys: np.ndarray | None = None

    @property
    def id_keys(self) -> np.ndarray:
        """The ids as a numpy string array (sortable keys, e.g. to break ties)."""
        if self._id_keys is None:
            self._id_keys = np.array(self.ids, dtype=str)
        return self._id_keys

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        if i < self._n_stored:
            return self._stored.get(i)
        return self._memory[i - self._n_stored]

    def __iter__(self) -> Iterator[Case]:
        for i in range(len(self)):
            yield self[i]

    # -- filters --------------------------------------------------------------------------
    def sectors(self) -> list[str]:
        return sorted({s for row in self._sectors for s in row})

    def themes(self) -> list[str]:
        """Theme ids and labels a filter may name."""
        return sorted({t for row in self._themes for t in row})

    def years(self) -> list[int]:
        """The editions' years the cases come from."""
        return sorted({y for y in self._years if y is not None})

    def mask(
        self,
        sectors: Sequence[str] | None,
        themes: Sequence[str] | None,
        years: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Which cases pass the filters (any listed sector, any listed theme, and any
        listed year)."""
        keep = np.ones(len(self), dtype=bool)
        if sectors:
            keep &= self._facet_mask("sectors", self._sectors, sectors)
        if themes:
            keep &= self._facet_mask("themes", self._themes, themes)
        if years:
            wanted = set(years)
            keep &= np.fromiter((y in wanted for y in self._years), bool, len(self))
        return keep

    def _facet_mask(self, kind: str, rows: list[tuple[str, ...]], wanted) -> np.ndarray:
        out = np.zeros(len(self), dtype=bool)
        for value in set(wanted):
            key = (kind, value)
            mask = self._masks.get(key)
            if mask is None:
                if kind == "sectors":
                    norm = normalise_sector(value)
                    mask = np.fromiter(
                        (any(normalise_sector(s) == norm for s in row) for row in rows),
                        bool,
                        len(rows),
                    )
                else:
                    mask = np.fromiter((value in row for row in rows), bool, len(rows))
                self._masks[key] = mask
            out |= mask
        return out

    # -- derived tables -------------------------------------------------------------------
    def extended(self, cases: Sequence[Case]) -> CaseTable:
        """This table with ``cases`` appended (the stored part is shared, not copied)."""
        table = CaseTable.__new__(CaseTable)
        table._stored = self._stored
        table._n_stored = self._n_stored
        table._memory = self._memory + list(cases)
        table.ids = self.ids + [c.id for c in cases]
        sectors, themes, years = _facets(cases)
        table._sectors = self._sectors + sectors
        table._themes = self._themes + themes
        table._years = self._years + years
        table._masks = {}
        table._id_keys = None
        if self._id_keys is not None:
            added = np.array([c.id for c in cases], dtype=str)
            table._id_keys = np.concatenate([self._id_keys, added])
        return table

    def subset(self, positions: Sequence[int]) -> CaseTable:
        """A table of only these cases, in this order (they are read into memory)."""
        return CaseTable([self[i] for i in positions])

    # -- files ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """``cases.jsonl`` plus ``cases.offsets.npy`` and ``cases.facets.json``."""
        offsets = [0]
        with open(directory / "cases.jsonl", "wb") as fh:
            for i in range(len(self)):
                if i < self._n_stored:
                    line = self._stored.raw(i)
                else:
                    line = (json.dumps(self[i].to_json_dict(), ensure_ascii=False) + "\n").encode()
                fh.write(line)
                offsets.append(offsets[-1] + len(line))
        np.save(directory / "cases.offsets.npy", np.asarray(offsets, np.int64))
        facets = {
            "ids": self.ids,
            "sectors": self._sectors,
            "themes": self._themes,
            "years": self._years,
        }
        (directory / "cases.facets.json").write_text(
            json.dumps(facets, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> CaseTable:
        offsets = np.load(directory / "cases.offsets.npy")
        facets = json.loads((directory / "cases.facets.json").read_text(encoding="utf-8"))
        stored = _StoredCases(directory / "cases.jsonl", offsets)
        return cls(
            stored=stored,
            ids=facets["ids"],
            facets={
                "sectors": [tuple(r) for r in facets["sectors"]],
                "themes": [tuple(r) for r in facets["themes"]],
                "years": facets.get("years"),
            },
        )
