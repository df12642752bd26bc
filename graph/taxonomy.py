"""The taxonomy of root causes and countermeasures, loaded from an editable YAML file.

Concepts are kept in data (``graph/data/taxonomy.yaml``) rather than code so that a domain
expert can add or reword one without touching Python. Loading validates the file strictly
(duplicate ids, unknown or cross-kind parents, cycles, missing labels) and names the
offending concept, because a silently broken hierarchy would corrupt every analytic built
on top of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from kizuki.corpus.yamlfile import load_yaml
from kizuki.graph.exceptions import TaxonomyError as TaxonomyError

Kind = Literal["cause", "countermeasure"]
KINDS: tuple[Kind, ...] = ("cause", "countermeasure")

#: The YAML list each kind lives in, and the id prefix its concepts must carry.
_SECTIONS: dict[Kind, str] = {"cause": "causes", "countermeasure": "countermeasures"}
_PREFIXES: dict[Kind, str] = {"cause": "cause.", "countermeasure": "cm."}

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
DEFAULT_PATH = Path(__file__).parent / "data" / "taxonomy.yaml"

_ALLOWED_KEYS = {
    "id",
    "label_ja",
    "label_en",
    "definition",
    "definition_en",
    "parent",
    "keywords",
    "patterns",
}


@dataclass(frozen=True)
class Concept:
    """One root-cause or countermeasure concept (a group when ``parent`` is None)."""

    id: str
    kind: Kind
    label_ja: str
    label_en: str
    definition: str
    parent: str | None
    definition_en: str = ""
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    @property
    def is_group(self) -> bool:
        """Groups form the shallow hierarchy; annotations use leaves only."""
        return self.parent is None

    def to_dict(self) -> dict:
        """Plain dict for JSON output (API, exports)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "label_ja": self.label_ja,
            "label_en": self.label_en,
            "definition": self.definition,
            "definition_en": self.definition_en,
            "parent": self.parent,
        }


@dataclass
class Taxonomy:
    """All concepts with lookups by id, kind and parent."""

    concepts: dict[str, Concept]
    path: Path | None = None
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        children: dict[str, list[str]] = {cid: [] for cid in self.concepts}
        for concept in self.concepts.values():
            if concept.parent is not None:
                children[concept.parent].append(concept.id)
        self._children = children

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self.concepts

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts.values())

    def __len__(self) -> int:
        return len(self.concepts)

    def get(self, concept_id: str) -> Concept:
        """The concept with this id; KeyError with the id when unknown."""
        try:
            return self.concepts[concept_id]
        except KeyError:
            raise KeyError(f"unknown concept id: {concept_id!r}") from None

    def by_kind(self, kind: Kind, *, leaves_only: bool = False) -> list[Concept]:
        """Concepts of one kind, in file order."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return [
            c for c in self.concepts.values() if c.kind == kind and not (leaves_only and c.is_group)
        ]

    def leaves(self, kind: Kind) -> list[Concept]:
        """Leaf (non-group) concepts of one kind: what annotations and the extractor use."""
        return self.by_kind(kind, leaves_only=True)

    def groups(self, kind: Kind) -> list[Concept]:
        """Top-level group concepts of one kind."""
        return [c for c in self.by_kind(kind) if c.is_group]

    def children(self, concept_id: str) -> list[Concept]:
        """Direct children of a concept (empty for leaves)."""
        self.get(concept_id)
        return [self.concepts[c] for c in self._children[concept_id]]

    def parent(self, concept_id: str) -> Concept | None:
        """The parent concept, or None for a group."""
        parent_id = self.get(concept_id).parent
        return None if parent_id is None else self.concepts[parent_id]

    def ancestors(self, concept_id: str) -> list[Concept]:
        """Parents up to the root, nearest first."""
        out = []
        current = self.parent(concept_id)
        while current is not None:
            out.append(current)
            current = self.parent(current.id)
        return out


def _require_text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{where}: missing or empty {key!r}")
    if key == "definition" and "\n" in value.strip():
        raise TaxonomyError(f"{where}: 'definition' must be one line")
    return value.strip()


def _str_list(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TaxonomyError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _parse_concept(raw: object, kind: Kind, index: int) -> Concept:
    section = _SECTIONS[kind]
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{section}[{index}]: each concept must be a mapping")
    cid = raw.get("id")
    where = f"concept {cid!r} ({section}[{index}])" if cid else f"{section}[{index}]"
    if not isinstance(cid, str) or not cid:
        raise TaxonomyError(f"{where}: missing 'id'")
    if not ID_PATTERN.match(cid):
        raise TaxonomyError(f"{where}: id must be lowercase ascii words joined by dots")
    if not cid.startswith(_PREFIXES[kind]):
        raise TaxonomyError(f"{where}: {kind} ids must start with {_PREFIXES[kind]!r}")
    unknown = set(raw) - _ALLOWED_KEYS
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {sorted(unknown)}")
    if "parent" not in raw:
        raise TaxonomyError(f"{where}: missing 'parent' (use null for a group)")
    parent = raw["parent"]
    if parent is not None and (not isinstance(parent, str) or not parent):
        raise TaxonomyError(f"{where}: 'parent' must be a concept id or null")
    patterns = _str_list(raw, "patterns", where)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise TaxonomyError(f"{where}: invalid pattern {pattern!r}: {exc}") from None
    return Concept(
        id=cid,
        kind=kind,
        label_ja=_require_text(raw, "label_ja", where),
        label_en=_require_text(raw, "label_en", where),
        definition=_require_text(raw, "definition", where),
        definition_en=(raw.get("definition_en") or "").strip(),
        parent=parent,
        keywords=_str_list(raw, "keywords", where),
        patterns=patterns,
    )


def _check_hierarchy(concepts: dict[str, Concept]) -> None:
    for concept in concepts.values():
        if concept.parent is None:
            continue
        if concept.parent == concept.id:
            raise TaxonomyError(f"concept {concept.id!r}: is its own parent")
        parent = concepts.get(concept.parent)
        if parent is None:
            raise TaxonomyError(f"concept {concept.id!r}: unknown parent {concept.parent!r}")
        if parent.kind != concept.kind:
            raise TaxonomyError(
                f"concept {concept.id!r}: parent {parent.id!r} is a {parent.kind}, "
                f"not a {concept.kind}"
            )
    for concept in concepts.values():
        seen = [concept.id]
        current = concept.parent
        while current is not None:
            if current in seen:
                cycle = " -> ".join([*seen, current])
                raise TaxonomyError(f"concept {concept.id!r}: parent cycle {cycle}")
            seen.append(current)
            current = concepts[current].parent


def parse_taxonomy(data: object, path: Path | None = None) -> Taxonomy:
    """Validate an already-parsed YAML document and build the taxonomy."""
    if not isinstance(data, dict):
        raise TaxonomyError("taxonomy must be a mapping with 'causes' and 'countermeasures'")
    unknown = set(data) - set(_SECTIONS.values())
    if unknown:
        raise TaxonomyError(f"unknown top-level keys {sorted(unknown)}")
    concepts: dict[str, Concept] = {}
    for kind, section in _SECTIONS.items():
        items = data.get(section)
        if not isinstance(items, list) or not items:
            raise TaxonomyError(f"{section!r} must be a non-empty list of concepts")
        for index, raw in enumerate(items):
            concept = _parse_concept(raw, kind, index)
            if concept.id in concepts:
                raise TaxonomyError(f"concept {concept.id!r}: duplicate id")
            concepts[concept.id] = concept
    _check_hierarchy(concepts)
    return Taxonomy(concepts=concepts, path=path)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate the taxonomy file (default: the packaged ``taxonomy.yaml``)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaxonomyError(f"taxonomy file not found: {path}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: not valid YAML: {exc}") from None
    return parse_taxonomy(data, path=path)
