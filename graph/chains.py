"""Cause chains: how a failure unfolded, as ordered, typed steps.

A chain is what an analyst reads out of a report: 作業手順誤り → バッチ異常終了 → 復旧手順の
誤り → 翌営業日のオンライン遅延. Each step has a type from a small vocabulary
(``STEP_TYPES``), a leaf ``cause.*`` concept where one fits (else None), the case field it
was read from and its evidence, an exact quote of that field. The bundled cases' chains are
reviewed data (``graph/data/chains_fsa2019.yaml``); loading checks every quote against the
case text and every concept against the taxonomy, so the chains cannot drift from either.
Imported cases get chains read from their text (``graph.chain_extract``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from kizuki.corpus.schema import Case
from kizuki.corpus.yamlfile import load_yaml
from kizuki.graph.exceptions import ChainError as ChainError
from kizuki.graph.taxonomy import Taxonomy, load_taxonomy

DEFAULT_PATH = Path(__file__).parent / "data" / "chains_fsa2019.yaml"

#: Step types, in the order a failure usually unfolds.
STEP_TYPES: tuple[str, ...] = (
    "latent_condition",
    "trigger",
    "failure",
    "missed_detection",
    "escalation",
    "recovery_error",
    "customer_impact",
)
STEP_LABELS: dict[str, tuple[str, str]] = {
    "latent_condition": ("潜在的な弱点", "Latent condition"),
    "trigger": ("きっかけ", "Trigger"),
    "failure": ("障害", "Failure"),
    "missed_detection": ("検知漏れ", "Missed detection"),
    "escalation": ("影響拡大", "Escalation"),
    "recovery_error": ("復旧時の誤り", "Recovery error"),
    "customer_impact": ("顧客影響", "Customer impact"),
}
_STEP_KEYS = {"type", "summary_ja", "summary_en", "concept", "field", "evidence"}
_FIELD = re.compile(r"(title|event)|(causes|countermeasures)\[(\d+)\]")
#: A quote shorter than this could match anywhere; the reviewed file's shortest is 6.
MIN_EVIDENCE_CHARS = 4
ANNOTATION, EXTRACTION = "annotation", "extraction"


@dataclass(frozen=True)
class ChainStep:
    """One step of a chain; ``evidence`` is an exact substring of the case's ``field``."""

    type: str
    concept: str | None
    field: str
    evidence: str
    summary_ja: str = ""
    summary_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chain:
    """A case's steps in the order they happened; ``source``: reviewed data or extraction."""

    case_id: str
    steps: tuple[ChainStep, ...]
    source: str = ANNOTATION

    def concepts(self) -> list[str]:
        """The concepts along the chain, in order, a concept repeated in a row once."""
        out: list[str] = []
        for step in self.steps:
            if step.concept and (not out or out[-1] != step.concept):
                out.append(step.concept)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "source": self.source,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chain:
        steps = tuple(ChainStep(**s) for s in data["steps"])
        return cls(str(data["case_id"]), steps, str(data.get("source", ANNOTATION)))


def field_text(case: Case, field: str) -> str | None:
    """The text of ``title``, ``event``, ``causes[i]`` or ``countermeasures[i]`` of a case."""
    m = _FIELD.fullmatch(field)
    if not m:
        return None
    if m.group(1):
        return getattr(case, m.group(1))
    items = getattr(case, m.group(2))
    i = int(m.group(3))
    return items[i] if i < len(items) else None


def chain_matches(case: Case, chain: Chain) -> bool:
    """True when every quote of the chain is still in the case's text (an edited case or
    a re-used id falls back to extraction)."""
    for step in chain.steps:
        text = field_text(case, step.field)
        if text is None or step.evidence not in text:
            return False
    return True


def _parse_step(raw: object, where: str, taxonomy: Taxonomy) -> ChainStep:
    if not isinstance(raw, dict):
        raise ChainError(f"{where}: a step must be a mapping")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise ChainError(f"{where}: unknown keys {sorted(unknown)}")
    kind = raw.get("type")
    if kind not in STEP_TYPES:
        raise ChainError(f"{where}: type {kind!r} is not one of {list(STEP_TYPES)}")
    concept = raw.get("concept")
    if concept is not None:
        if not isinstance(concept, str) or concept not in taxonomy:
            raise ChainError(f"{where}: unknown concept {concept!r}")
        node = taxonomy.get(concept)
        if node.kind != "cause" or node.is_group:
            raise ChainError(f"{where}: {concept!r} is not a leaf cause concept")
    field, evidence = raw.get("field"), raw.get("evidence")
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise ChainError(f"{where}: field {field!r} is not title, event, causes[i] or …")
    if not isinstance(evidence, str) or len(evidence.strip()) < MIN_EVIDENCE_CHARS:
        raise ChainError(f"{where}: evidence must quote at least {MIN_EVIDENCE_CHARS} characters")
    return ChainStep(
        type=kind,
        concept=concept,
        field=field,
        evidence=evidence,
        summary_ja=str(raw.get("summary_ja") or ""),
        summary_en=str(raw.get("summary_en") or ""),
    )


def parse_chains(
    data: object, taxonomy: Taxonomy, cases: Iterable[Case] | None = None
) -> dict[str, Chain]:
    """Validate a parsed YAML document (case id → {steps: [...]}) against the taxonomy and,
    when given, the cases: every case has a chain of 2 or more steps, every quote is text of
    its case."""
    if not isinstance(data, dict) or not data:
        raise ChainError("chains must be a non-empty mapping of case id -> {steps: [...]}")
    out: dict[str, Chain] = {}
    for case_id, body in data.items():
        steps = body.get("steps") if isinstance(body, dict) else None
        if not isinstance(steps, list) or len(steps) < 2:
            raise ChainError(f"case {case_id!r}: needs 'steps', a list of at least 2")
        parsed = tuple(
            _parse_step(raw, f"case {case_id!r} steps[{i}]", taxonomy)
            for i, raw in enumerate(steps)
        )
        out[str(case_id)] = Chain(str(case_id), parsed, ANNOTATION)
    if cases is not None:
        by_id = {c.id: c for c in cases}
        missing = sorted(set(by_id) - set(out))
        if missing:
            raise ChainError(f"cases without a chain: {missing}")
        for case_id, chain in out.items():
            case = by_id.get(case_id)
            if case is None:
                raise ChainError(f"chain for an unknown case {case_id!r}")
            for i, step in enumerate(chain.steps):
                text = field_text(case, step.field)
                if text is None:
                    raise ChainError(f"case {case_id!r} steps[{i}]: no field {step.field!r}")
                if step.evidence not in text:
                    raise ChainError(
                        f"case {case_id!r} steps[{i}]: evidence {step.evidence[:30]!r} is not "
                        f"in its {step.field}"
                    )
    return out


def load_chains(
    path: str | Path | None = None,
    cases: Iterable[Case] | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    check_corpus: bool = True,
) -> dict[str, Chain]:
    """Load and validate the chains file (default: the bundled one against the seed cases)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    taxonomy = taxonomy or load_taxonomy()
    if cases is None and check_corpus:
        from kizuki.corpus import seed_cases

        cases = seed_cases()
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ChainError(f"chains file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ChainError(f"{path}: not valid YAML: {exc}") from None
    return parse_chains(data, taxonomy, cases if check_corpus else None)
