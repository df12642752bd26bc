"""Control frameworks: every taxonomy concept mapped to NIST CSF 2.0 subcategories and
ISO/IEC 27001:2022 Annex A controls, and the audit tables built on that mapping.

For a cause the mapped controls are those that failed or were missing; for a countermeasure,
those it implements (``graph/data/controls.yaml``, with a one-line rationale per mapping and,
per cause, the CSF function whose failure it mostly represents). Loading checks the file
against the taxonomy (every concept, no other) and the frameworks' id lists, so the mapping
cannot drift from either.

The tables answer an auditor's three questions over a set of cases:

* ``function_profile``: in which CSF function the failures concentrate (Govern, Identify,
  Protect, Detect, Respond, Recover), counted once per case and cause;
* ``control_table``: per control, the cases where it failed (a cause mapped to it), the
  cases that recorded a countermeasure implementing it, and the cases where it failed with
  no such countermeasure (``unanswered``), the row an audit working paper needs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import yaml
from kizuki.corpus.yamlfile import load_yaml
from kizuki.graph.build import case_causes, case_countermeasures
from kizuki.graph.exceptions import ControlsError as ControlsError
from kizuki.graph.taxonomy import Taxonomy, load_taxonomy

DEFAULT_PATH = Path(__file__).parent / "data" / "controls.yaml"

Framework = Literal["nist_csf_2", "iso27001_2022"]
FRAMEWORKS: tuple[Framework, ...] = ("nist_csf_2", "iso27001_2022")
FUNCTIONS: dict[str, tuple[str, str]] = {
    "GV": ("ガバナンス", "Govern"),
    "ID": ("識別", "Identify"),
    "PR": ("防御", "Protect"),
    "DE": ("検知", "Detect"),
    "RS": ("対応", "Respond"),
    "RC": ("復旧", "Recover"),
}
_ID = {
    "nist_csf_2": re.compile(r"(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}"),
    "iso27001_2022": re.compile(r"A\.[5-8]\.\d{1,2}"),
}


@dataclass(frozen=True)
class Mapping:
    """One concept → one control, with why."""

    control: str
    rationale: str


@dataclass(frozen=True)
class Controls:
    """The validated mapping: framework metadata and items, and per concept its controls."""

    frameworks: dict[str, dict[str, Any]]
    mappings: dict[str, dict[str, tuple[Mapping, ...]]]
    failed_function: dict[str, str]

    def title(self, framework: str, control: str) -> str:
        return str(self.frameworks[framework]["items"].get(control, ""))

    def controls_of(self, concept: str, framework: str) -> tuple[Mapping, ...]:
        return self.mappings.get(concept, {}).get(framework, ())


def function_of(control: str) -> str | None:
    """The CSF function of a CSF id (``PR.PS-01`` → ``PR``); None for an ISO control."""
    head = control.split(".")[0]
    return head if head in FUNCTIONS else None


def parse_controls(data: object, taxonomy: Taxonomy) -> Controls:
    """Validate a parsed controls document against the taxonomy and its own id lists."""
    if not isinstance(data, dict) or set(data) != {"frameworks", "mappings"}:
        raise ControlsError("controls must be a mapping with 'frameworks' and 'mappings'")
    frameworks, raw = data["frameworks"], data["mappings"]
    if not isinstance(frameworks, dict) or set(frameworks) != set(FRAMEWORKS):
        raise ControlsError(f"frameworks must be exactly {list(FRAMEWORKS)}")
    concepts = {c.id: c for c in taxonomy}
    if not isinstance(raw, dict):
        raise ControlsError("mappings must be a mapping of concept id -> controls")
    missing, extra = sorted(set(concepts) - set(raw)), sorted(set(raw) - set(concepts))
    if missing or extra:
        raise ControlsError(f"concepts without a mapping: {missing}; unknown concepts: {extra}")
    mappings: dict[str, dict[str, tuple[Mapping, ...]]] = {}
    failed: dict[str, str] = {}
    for concept_id, body in raw.items():
        where = f"mapping {concept_id!r}"
        if not isinstance(body, dict):
            raise ControlsError(f"{where}: must be a mapping")
        mappings[concept_id] = {}
        for fw in FRAMEWORKS:
            rows = body.get(fw)
            if not isinstance(rows, list) or not 1 <= len(rows) <= 3:
                raise ControlsError(f"{where}: {fw} needs 1 to 3 controls")
            items = frameworks[fw].get("items") or {}
            parsed = []
            for row in rows:
                control = row.get("id") if isinstance(row, dict) else None
                rationale = row.get("rationale") if isinstance(row, dict) else None
                if not isinstance(control, str) or not _ID[fw].fullmatch(control):
                    raise ControlsError(f"{where}: {control!r} is not a {fw} id")
                if control not in items:
                    raise ControlsError(f"{where}: {control!r} is not listed in {fw} items")
                if not isinstance(rationale, str) or not rationale.strip() or "\n" in rationale:
                    raise ControlsError(f"{where}: {control} needs a one-line rationale")
                parsed.append(Mapping(control, rationale.strip()))
            mappings[concept_id][fw] = tuple(parsed)
        function = body.get("failed_function")
        if concepts[concept_id].kind == "cause":
            if function not in FUNCTIONS:
                raise ControlsError(f"{where}: failed_function {function!r} is not a CSF function")
            failed[concept_id] = function
        elif function is not None:
            raise ControlsError(f"{where}: only a cause has a failed_function")
    return Controls(frameworks, mappings, failed)


def load_controls(path: str | Path | None = None, taxonomy: Taxonomy | None = None) -> Controls:
    """Load and validate the controls file (default: the bundled one)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ControlsError(f"controls file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ControlsError(f"{path}: not valid YAML: {exc}") from None
    return parse_controls(data, taxonomy or load_taxonomy())


@lru_cache(maxsize=1)
def bundled_controls() -> Controls:
    """The bundled mapping, loaded once (data of the package, like the taxonomy)."""
    return load_controls()


def function_profile(
    G: nx.MultiDiGraph, controls: Controls, case_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """Per CSF function: the (case, cause) pairs whose cause failed there, and their cases."""
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for case_id in case_ids:
        if case_id not in G:
            continue
        for cause in case_causes(G, case_id):
            function = controls.failed_function.get(cause)
            if function:
                pairs[function].append((case_id, cause))
    total = sum(len(p) for p in pairs.values()) or 1
    return [
        {
            "function": f,
            "label_ja": FUNCTIONS[f][0],
            "label_en": FUNCTIONS[f][1],
            "n_causes": len(pairs[f]),
            "share": round(len(pairs[f]) / total, 4),
            "n_cases": len({c for c, _ in pairs[f]}),
            "causes": sorted({cause for _, cause in pairs[f]}),
        }
        for f in FUNCTIONS
    ]


def control_table(
    G: nx.MultiDiGraph, controls: Controls, case_ids: Iterable[str], framework: Framework
) -> list[dict[str, Any]]:
    """Per control of ``framework``: where it failed, where a recorded countermeasure
    implements it, and the cases where it failed with no such countermeasure; controls
    that neither failed nor were implemented are left out. Most failed first."""
    failed: dict[str, set[str]] = defaultdict(set)
    answered: dict[str, set[str]] = defaultdict(set)
    causes: dict[str, set[str]] = defaultdict(set)
    cms: dict[str, set[str]] = defaultdict(set)
    for case_id in case_ids:
        if case_id not in G:
            continue
        for cause in case_causes(G, case_id):
            for m in controls.controls_of(cause, framework):
                failed[m.control].add(case_id)
                causes[m.control].add(cause)
        for cm in case_countermeasures(G, case_id):
            for m in controls.controls_of(cm, framework):
                answered[m.control].add(case_id)
                cms[m.control].add(cm)
    rows = []
    for control in sorted(set(failed) | set(answered)):
        unanswered = sorted(failed[control] - answered[control])
        rows.append(
            {
                "framework": framework,
                "control": control,
                "title": controls.title(framework, control),
                "function": function_of(control),
                "n_failed": len(failed[control]),
                "n_countermeasure": len(answered[control]),
                "n_unanswered": len(unanswered),
                "failed_case_ids": sorted(failed[control]),
                "countermeasure_case_ids": sorted(answered[control]),
                "unanswered_case_ids": unanswered,
                "causes": sorted(causes[control]),
                "countermeasures": sorted(cms[control]),
            }
        )
    rows.sort(key=lambda r: (-r["n_failed"], -r["n_unanswered"], r["control"]))
    return rows
