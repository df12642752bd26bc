"""Reviewed concept annotations of the seed corpus: the graph's ground truth.

The file (``graph/data/annotations_fsa2019.yaml``) maps each case id to its cause and
countermeasure sentences, in the corpus order, each with the leaf concepts it expresses.
Countermeasure items also name the cause concepts of the same case they *address*; those
pairs become the graph's ``mitigates`` edges. Sentences are repeated verbatim so a
reviewer can read the file alone; loading checks them against the corpus so that the
annotations cannot silently drift from the text they describe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from kizuki.corpus.schema import Case
from kizuki.corpus.yamlfile import load_yaml
from kizuki.graph.exceptions import AnnotationError as AnnotationError
from kizuki.graph.taxonomy import Kind, Taxonomy, load_taxonomy

DEFAULT_PATH = Path(__file__).parent / "data" / "annotations_fsa2019.yaml"

#: The Case field and YAML key of each kind's sentences.
FIELDS: dict[Kind, str] = {"cause": "causes", "countermeasure": "countermeasures"}


@dataclass(frozen=True)
class SentenceAnnotation:
    """The concepts one cause or countermeasure sentence expresses."""

    text: str
    concepts: tuple[str, ...]
    #: Countermeasures only: cause concepts of the same case this sentence answers.
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseAnnotation:
    case_id: str
    causes: tuple[SentenceAnnotation, ...]
    countermeasures: tuple[SentenceAnnotation, ...]

    def items(self, kind: Kind) -> tuple[SentenceAnnotation, ...]:
        return self.causes if kind == "cause" else self.countermeasures

    def concepts(self, kind: Kind) -> list[str]:
        """Distinct concepts of one kind in this case, in first-seen order."""
        seen: dict[str, None] = {}
        for item in self.items(kind):
            seen.update(dict.fromkeys(item.concepts))
        return list(seen)

    def mitigations(self) -> set[tuple[str, str]]:
        """(countermeasure concept, cause concept) pairs this case supports."""
        return {
            (cm, cause)
            for item in self.countermeasures
            for cm in item.concepts
            for cause in item.addresses
        }


class Annotations:
    """All case annotations, with the lookups the graph and the evaluation need."""

    def __init__(self, cases: dict[str, CaseAnnotation], path: Path | None = None) -> None:
        self.cases = cases
        self.path = path

    def __getitem__(self, case_id: str) -> CaseAnnotation:
        return self.cases[case_id]

    def __contains__(self, case_id: object) -> bool:
        return case_id in self.cases

    def __iter__(self) -> Iterator[CaseAnnotation]:
        return iter(self.cases.values())

    def __len__(self) -> int:
        return len(self.cases)

    def cases_with(self, concept_id: str) -> list[str]:
        """Ids of the cases whose sentences express this concept, in file order."""
        kind: Kind = "cause" if concept_id.startswith("cause.") else "countermeasure"
        return [c.case_id for c in self if concept_id in c.concepts(kind)]

    def concept_cases(self, kind: Kind) -> dict[str, list[str]]:
        """Concept id → the cases that express it."""
        out: dict[str, list[str]] = defaultdict(list)
        for case in self:
            for cid in case.concepts(kind):
                out[cid].append(case.case_id)
        return dict(out)

    def mitigation_support(self) -> dict[tuple[str, str], list[str]]:
        """(countermeasure, cause) → the cases where that countermeasure answered that cause."""
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        for case in self:
            for pair in sorted(case.mitigations()):
                out[pair].append(case.case_id)
        return dict(out)


def _ids(value: object, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AnnotationError(f"{where}: {key!r} must be a list of concept ids")
    if len(set(value)) != len(value):
        raise AnnotationError(f"{where}: {key!r} repeats a concept id")
    return tuple(value)


def _parse_item(raw: object, kind: Kind, where: str, taxonomy: Taxonomy) -> SentenceAnnotation:
    if not isinstance(raw, dict):
        raise AnnotationError(f"{where}: must be a mapping with 'text' and 'concepts'")
    allowed = {"text", "concepts"} | ({"addresses"} if kind == "countermeasure" else set())
    unknown = set(raw) - allowed
    if unknown:
        raise AnnotationError(f"{where}: unknown keys {sorted(unknown)}")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise AnnotationError(f"{where}: missing 'text'")
    concepts = _ids(raw.get("concepts"), where, "concepts")
    if not concepts:
        raise AnnotationError(f"{where}: needs at least one concept")
    for cid in concepts:
        if cid not in taxonomy:
            raise AnnotationError(f"{where}: unknown concept {cid!r}")
        concept = taxonomy.get(cid)
        if concept.kind != kind:
            raise AnnotationError(f"{where}: {cid!r} is a {concept.kind}, not a {kind}")
        if concept.is_group:
            raise AnnotationError(f"{where}: {cid!r} is a group; annotate with leaf concepts")
    addresses = _ids(raw.get("addresses"), where, "addresses")
    return SentenceAnnotation(text=text.strip(), concepts=concepts, addresses=addresses)


def parse_annotations(
    data: object,
    taxonomy: Taxonomy,
    cases: Sequence[Case] | None = None,
    path: Path | None = None,
) -> Annotations:
    """Validate a parsed YAML document against the taxonomy and (when given) the corpus."""
    if not isinstance(data, dict) or not data:
        raise AnnotationError("annotations must be a non-empty mapping of case id -> case")
    by_id = {c.id: c for c in cases} if cases is not None else None
    out: dict[str, CaseAnnotation] = {}
    for case_id, raw_case in data.items():
        if not isinstance(raw_case, dict):
            raise AnnotationError(f"case {case_id!r}: must be a mapping")
        unknown = set(raw_case) - set(FIELDS.values())
        if unknown:
            raise AnnotationError(f"case {case_id!r}: unknown keys {sorted(unknown)}")
        parsed: dict[str, tuple[SentenceAnnotation, ...]] = {}
        for kind, key in FIELDS.items():
            raw_items = raw_case.get(key) or []
            if not isinstance(raw_items, list):
                raise AnnotationError(f"case {case_id!r}: {key!r} must be a list")
            parsed[key] = tuple(
                _parse_item(raw, kind, f"case {case_id!r} {key}[{i}]", taxonomy)
                for i, raw in enumerate(raw_items)
            )
        case_ann = CaseAnnotation(str(case_id), parsed["causes"], parsed["countermeasures"])
        own_causes = set(case_ann.concepts("cause"))
        for i, item in enumerate(case_ann.countermeasures):
            stray = [a for a in item.addresses if a not in own_causes]
            if stray:
                raise AnnotationError(
                    f"case {case_id!r} countermeasures[{i}]: addresses {stray} which are not "
                    "cause concepts of this case"
                )
        out[case_ann.case_id] = case_ann
    if by_id is not None:
        _check_against_corpus(out, by_id)
    return Annotations(out, path=path)


def _check_against_corpus(annotations: dict[str, CaseAnnotation], cases: dict[str, Case]) -> None:
    missing = [cid for cid in cases if cid not in annotations]
    if missing:
        raise AnnotationError(f"cases without annotations: {missing}")
    extra = [cid for cid in annotations if cid not in cases]
    if extra:
        raise AnnotationError(f"annotations for unknown cases: {extra}")
    for case_id, ann in annotations.items():
        case = cases[case_id]
        for kind, key in FIELDS.items():
            texts: list[str] = getattr(case, key)
            items = ann.items(kind)
            if len(items) != len(texts):
                raise AnnotationError(
                    f"case {case_id!r}: {len(items)} {key} annotated, corpus has {len(texts)}"
                )
            for i, (item, text) in enumerate(zip(items, texts, strict=True)):
                if item.text != text.strip():
                    raise AnnotationError(
                        f"case {case_id!r} {key}[{i}]: text differs from the corpus "
                        f"(annotated {item.text[:30]!r}…, corpus {text[:30]!r}…)"
                    )


def load_annotations(
    path: str | Path | None = None,
    cases: Iterable[Case] | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    check_corpus: bool = True,
) -> Annotations:
    """Load and validate annotations (default: the seed file against the seed corpus)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    taxonomy = taxonomy or load_taxonomy()
    if cases is None and check_corpus:
        from kizuki.corpus import seed_cases

        cases = seed_cases()
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnnotationError(f"annotation file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise AnnotationError(f"{path}: not valid YAML: {exc}") from None
    case_list = list(cases) if cases is not None else None
    return parse_annotations(data, taxonomy, case_list if check_corpus else None, path=path)
