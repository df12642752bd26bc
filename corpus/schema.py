"""The one model of an incident case, shared by every layer of Kizuki.

A case is what the FSA report publishes per incident: the sector(s) it happened in,
the event (事象), the causes (原因) and the countermeasures (対策), plus where the
text came from. Field names and their order are part of the corpus file format
(``corpus/data/fsa2019.jsonl``), so they are fixed here and nowhere else.
"""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import Ge
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_serializer,
)

#: Bounds that keep one case reasonable; anything bigger is almost surely a paste error.
MAX_ID_CHARS = 64
MAX_FIELD_CHARS = 20_000
MAX_LIST_ITEMS = 100

#: A case id: 1-64 characters of ASCII letters, digits, ``_``, ``.``, ``-``, starting with a
#: letter or digit, and not in a namespace of the graph's other node types.
#: Matched with ``fullmatch`` (``$`` would also match before a final newline).
CASE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
#: Node-id prefixes of the knowledge graph's concept, sector and theme nodes. Every
#: non-case node key starts with one of them (its type), so these namespaces are reserved:
#: no case id may start with one (compared case-insensitively).
RESERVED_ID_PREFIXES = ("cause.", "cm.", "sector.", "theme.")
_RESERVED_KINDS = ("cause", "countermeasure", "sector", "theme")
#: The same rule as a JSON-schema pattern (no look-ahead, so generators can use it).
CASE_ID_SCHEMA_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
CASE_ID_RULE = (
    "1-64 characters of ASCII letters, digits, '_', '.' and '-', starting with a letter or "
    "digit, no surrounding spaces, and not starting with a reserved prefix "
    "(cause., cm., sector., theme.)"
)

#: Characters refused in any text: C0 controls except tab, line feed and carriage return,
#: DEL, C1 controls, and lone surrogates (which cannot be encoded as UTF-8 at all).
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same rule as a JSON-schema pattern for text fields.
CLEAN_TEXT_SCHEMA_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
#: Clean text with at least one character that is not white space (required fields are
#: stripped, so blank text counts as empty).
NONBLANK_TEXT_SCHEMA_PATTERN = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
    r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
)


def text_problem(value: str) -> str | None:
    """Why ``value`` is not clean text (None when it is): the first bad character named."""
    bad = _BAD_CHAR.search(value)
    if bad is None:
        return None
    char = bad.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {kind} (U+{ord(char):04X}) at position {bad.start()}"


def check_text(value: str) -> str:
    """``value`` unchanged, or ValueError naming the first character that is not allowed."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def case_id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid case id (None when it is)."""
    if not isinstance(value, str):
        return "id must be a string"
    if not CASE_ID_PATTERN.fullmatch(value):
        return f"id must be {CASE_ID_RULE}"
    lowered = value.lower()
    for prefix, kind in zip(RESERVED_ID_PREFIXES, _RESERVED_KINDS, strict=True):
        if lowered.startswith(prefix):
            return f"id must not start with {prefix!r}: that namespace belongs to the graph's {kind} nodes"
    return None


#: JSON-schema annotations of a text field and of a list of texts (validation is in code).
_TEXT = {"pattern": CLEAN_TEXT_SCHEMA_PATTERN}
_NONBLANK = {"pattern": NONBLANK_TEXT_SCHEMA_PATTERN}
_ITEM = Annotated[
    str, Field(json_schema_extra={**_NONBLANK, "minLength": 1, "maxLength": MAX_FIELD_CHARS})
]
_ITEMS = {"maxItems": MAX_LIST_ITEMS}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value):
        """No control characters or lone surrogates in any text (see ``text_problem``)."""
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, str):
                check_text(item)
        return value


def normalise_sector(sector: str) -> str:
    """The one normalisation of a sector label, applied by the graph's nodes and by every
    filter: surrounding spaces removed, ASCII brackets made full-width (both occur in
    pasted text). Labels that still differ are different sectors."""
    return sector.strip().replace("(", "（").replace(")", "）")


class Theme(_Strict):
    """The report section a case belongs to (e.g. ``third_party`` / サードパーティに起因する障害)."""

    id: str = Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        json_schema_extra={"pattern": CASE_ID_SCHEMA_PATTERN},
        description="1-64 characters of ASCII letters, digits, '_', '.', '-'",
    )
    label: str = Field(min_length=1, max_length=200, json_schema_extra=_NONBLANK)

    @field_validator("id", mode="before")
    @classmethod
    def _valid_id(cls, value):
        if isinstance(value, str) and not CASE_ID_PATTERN.fullmatch(value):
            raise ValueError(
                "theme id must be 1-64 characters of ASCII letters, digits, '_', '.', '-' "
                "starting with a letter or digit, no surrounding spaces"
            )
        return value


def _whole_number(value):
    """A JSON integer: ``12`` or ``12.0``, never ``true`` (a bool is an int in Python)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


LineNumber = Annotated[StrictInt, Ge(1), BeforeValidator(_whole_number)]


_ATTRIBUTION_FIELDS = ("edition", "url", "page")


class Source(_Strict):
    """Where a case's text came from, so a reader can check it against the original."""

    report: str = Field(min_length=1, max_length=500, json_schema_extra=_NONBLANK)
    year: int | None = None
    #: 1-based, inclusive, in the seed text: ``[start, end]`` with ``1 <= start <= end``.
    lines: tuple[LineNumber, LineNumber] | None = None
    #: The edition as its cover dates it (``令和2年6月``, ``2024年6月``).
    edition: str | None = Field(
        default=None, max_length=100, json_schema_extra={"pattern": CLEAN_TEXT_SCHEMA_PATTERN}
    )
    #: Where the original is published (the FSA's PDF), for a reader to check the case.
    url: str | None = Field(
        default=None, max_length=500, pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$"
    )
    #: The printed page number on which the case starts in that original.
    page: LineNumber | None = None

    @model_serializer(mode="wrap")
    def _omit_unset_attribution(self, handler):
        """Files written before editions existed stay byte for byte the same: the
        attribution fields are written only when they hold something."""
        data = handler(self)
        for key in _ATTRIBUTION_FIELDS:
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @field_validator("lines")
    @classmethod
    def _ordered_lines(cls, value):
        if value is not None and not 1 <= value[0] <= value[1]:
            raise ValueError("lines: [start, end] with 1 <= start <= end")
        return value


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

    id: str = Field(
        json_schema_extra={"pattern": CASE_ID_SCHEMA_PATTERN, "maxLength": MAX_ID_CHARS},
        description=f"case id: {CASE_ID_RULE}",
    )
    theme: Theme | None = None
    title: str = Field(default="", max_length=MAX_FIELD_CHARS, json_schema_extra=_TEXT)
    sectors: list[_ITEM] = Field(default_factory=list, json_schema_extra=_ITEMS)
    event: str = Field(min_length=1, max_length=MAX_FIELD_CHARS, json_schema_extra=_NONBLANK)
    causes: list[_ITEM] = Field(default_factory=list, json_schema_extra=_ITEMS)
    countermeasures: list[_ITEM] = Field(default_factory=list, json_schema_extra=_ITEMS)
    source: Source | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _valid_id(cls, value):
        # Checked before the model's whitespace stripping: an id is never trimmed silently.
        problem = case_id_problem(value)
        if problem:
            raise ValueError(problem)
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
