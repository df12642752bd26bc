"""The one model of an incident case, shared by every layer of Kizuki.

A case is what the FSA report publishes per incident: the sector(s) it happened in,
the event (事象), the causes (原因) and the countermeasures (対策), plus where the
text came from. Field names and their order are part of the corpus file format
(``corpus/data/fsa2019.jsonl``), so they are fixed here and nowhere else.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Bounds that keep one case reasonable; anything bigger is almost surely a paste error.
MAX_ID_CHARS = 64
MAX_FIELD_CHARS = 20_000
MAX_LIST_ITEMS = 100

CASE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Theme(_Strict):
    """The report section a case belongs to (e.g. ``third_party`` / サードパーティに起因する障害)."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    label: str = Field(min_length=1, max_length=200)


class Source(_Strict):
    """Where a case's text came from, so a reader can check it against the original."""

    report: str = Field(min_length=1, max_length=500)
    year: int | None = None
    lines: tuple[int, int] | None = None  # 1-based, inclusive, in the seed text


def _clean_items(items: list[str], field: str) -> list[str]:
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(f"{field}: at most {MAX_LIST_ITEMS} items")
    out = []
    for item in items:
        item = item.strip()
        if not item:
            raise ValueError(f"{field}: items must be non-empty text")
        if len(item) > MAX_FIELD_CHARS:
            raise ValueError(f"{field}: an item is longer than {MAX_FIELD_CHARS} characters")
        out.append(item)
    return out


class Case(_Strict):
    """One incident case. Field order is the JSONL key order."""

    id: str
    theme: Theme | None = None
    title: str = Field(default="", max_length=MAX_FIELD_CHARS)
    sectors: list[str] = Field(default_factory=list)
    event: str = Field(min_length=1, max_length=MAX_FIELD_CHARS)
    causes: list[str] = Field(default_factory=list)
    countermeasures: list[str] = Field(default_factory=list)
    source: Source | None = None

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not CASE_ID_PATTERN.match(value):
            raise ValueError(
                "id must be 1-64 characters of letters, digits, '_', '.', '-' "
                "and start with a letter or digit"
            )
        return value

    @field_validator("sectors")
    @classmethod
    def _valid_sectors(cls, value: list[str]) -> list[str]:
        return _clean_items(value, "sectors")

    @field_validator("causes")
    @classmethod
    def _valid_causes(cls, value: list[str]) -> list[str]:
        return _clean_items(value, "causes")

    @field_validator("countermeasures")
    @classmethod
    def _valid_countermeasures(cls, value: list[str]) -> list[str]:
        return _clean_items(value, "countermeasures")

    def text_fields(self) -> dict[str, str]:
        """The case's searchable text by field name (lists joined by newlines)."""
        return {
            "title": self.title,
            "event": self.event,
            "causes": "\n".join(self.causes),
            "countermeasures": "\n".join(self.countermeasures),
        }

    def to_json_dict(self) -> dict:
        """Plain dict in the canonical key order, as written to JSONL."""
        return self.model_dump(mode="json")
