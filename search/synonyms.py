"""Domain synonym groups, read from an editable TSV file.

Sudachi's normalisation already joins spelling variants (サーバ/サーバー), but not the
paraphrases analysts use for the report's terms (再鑑 ≈ ダブルチェック ≈ 二重確認) nor the
English words of a foreign-owned bank's write-up (certificate ≈ 証明書). Each line of the
file is one group: a canonical label, then its variants, separated by tabs. Lines starting
with ``#`` are comments. The file is data, not code, so domain staff can extend it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SYNONYMS_PATH = Path(__file__).parent / "data" / "synonyms.tsv"

#: Prefix of the concept terms the analyzer emits; keeps them apart from surface terms.
CONCEPT_PREFIX = "≈"


@dataclass(frozen=True)
class SynonymGroup:
    label: str
    variants: tuple[str, ...]  # includes the label itself

    @property
    def concept(self) -> str:
        return CONCEPT_PREFIX + self.label


@dataclass(frozen=True)
class SynonymTable:
    """All groups of a synonym file, plus the file's hash (part of an index's identity)."""

    groups: tuple[SynonymGroup, ...]
    sha256: str

    @classmethod
    def from_tsv(cls, path: str | Path = DEFAULT_SYNONYMS_PATH) -> SynonymTable:
        raw = Path(path).read_bytes()
        return cls.from_text(raw.decode("utf-8"), hashlib.sha256(raw).hexdigest())

    @classmethod
    def from_text(cls, text: str, sha256: str | None = None) -> SynonymTable:
        groups = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            items = [item.strip() for item in line.split("\t") if item.strip()]
            if len(items) < 2:
                raise ValueError(f"synonyms line {line_no}: need a label and at least one variant")
            label = items[0]
            groups.append(SynonymGroup(label, tuple(dict.fromkeys(items))))
        digest = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls(tuple(groups), digest)

    @classmethod
    def empty(cls) -> SynonymTable:
        return cls.from_text("")
