"""The store's high-water mark: the newest store version this data dir has served.

The store is the source of truth, so a store that silently goes *back* in time loses
acknowledged writes without anybody noticing: a deleted ``cases.sqlite3`` is re-created
and re-seeded with the 44 bundled cases; a damaged ``-wal`` makes SQLite drop the last
committed transactions; a backup restored over the live file does the same on purpose.
Each time a server serves a new state of its store (after a commit, a refresh, a start) it
writes that state's version and case count here. At start, a store whose version is below
the mark is refused with one line that says what is missing and what to do; a server never
reports ``ok`` with data missing.

The mark is keyed by the store's location, so pointing a data dir at another database is
not mistaken for data loss. Written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FILE_NAME", "Watermark", "path_in", "read", "write"]

FILE_NAME = "store-watermark.json"


@dataclass(frozen=True)
class Watermark:
    store: str  # where the store is (path, or URL without its password)
    version: int
    cases: int

    def problem(self, store: str, version: int, cases: int, path: Path) -> str | None:
        """Why a store at ``version`` holding ``cases`` cannot be this mark's store
        (None when it can: same version or newer, or another store altogether)."""
        if store != self.store or version >= self.version:
            return None
        return (
            f"the store ({store.removeprefix('sqlite:')}) is at version {version} with {cases} case(s), but this data "
            f"dir already served version {self.version} with {self.cases} case(s): committed "
            "writes are missing (a deleted or replaced store file, or a damaged -wal). Restore "
            "the store from a backup (kizuki store backup) or its lost -wal file; if you "
            f"restored an older backup on purpose, remove {path} and start again"
        )


def path_in(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def read(data_dir: Path) -> Watermark | None:
    """The mark, or None when there is none (or it is unreadable: it only ever adds
    protection, so a damaged mark is ignored rather than refusing the start)."""
    try:
        raw = json.loads(path_in(data_dir).read_text(encoding="utf-8"))
        return Watermark(str(raw["store"]), int(raw["version"]), int(raw["cases"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(data_dir: Path, mark: Watermark) -> None:
    """Record ``mark`` (never lowering a mark of the same store)."""
    current = read(data_dir)
    if current and current.store == mark.store and current.version >= mark.version:
        return
    target = path_in(data_dir)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(
        json.dumps({"store": mark.store, "version": mark.version, "cases": mark.cases}),
        encoding="utf-8",
    )
    os.replace(tmp, target)
