"""Build the cause ↔ countermeasure knowledge graph from cases.

One ``networkx.MultiDiGraph``; every node has ``type``, ``label_ja`` and ``label_en``.

Nodes (ids)
    case (the case id), cause / countermeasure (taxonomy concept ids, ``cause.…`` /
    ``cm.…``), sector (``sector.<slug>``), theme (``theme.<theme id>``).
    Node keys are typed: a key's prefix says its type (``key_type``), every node's
    ``type`` attribute agrees with it, and case ids may not use those prefixes
    (``corpus.schema.RESERVED_ID_PREFIXES``), so a case can never be, or merge into, a
    concept, sector or theme node. ``build_graph`` refuses a case whose id breaks that.
Edges (the edge key is the edge type, so there is at most one edge of a type per pair)
    ``has_cause`` case→cause and ``adopted`` case→countermeasure, with the evidence
    sentence(s) of the case, ``provenance`` = ``annotation`` (hand annotation, the product's data)
    or ``extraction`` (``ConceptExtractor`` on a case nobody annotated) and ``confidence``;
    ``mitigates`` countermeasure→cause, with ``support`` (the ids of the cases in which that
    countermeasure answered that cause), ``support_count`` and ``strength``;
    ``in_sector``, ``in_theme``; ``broader`` concept→its parent group;
    ``similar_to`` case→case from the search index (top ``similar_k``, with ``score``);
    ``leads_to`` cause→cause: one concept of a case's cause chain followed by the next
    (``graph.chain_graph``: ``support`` case ids, ``support_count``, ``evidence`` quotes).

``mitigates.strength`` = support_count / number of cases that have the cause: the share of
the cause's cases in which this countermeasure was recorded against it (1.0 = always).

Annotated cases say which cause each countermeasure answers (``addresses``). A case
without an annotation is tagged sentence by sentence; when none of its cause sentences
names a concept (or it has none), its event text is tagged for causes instead. Extraction
does not say which cause a countermeasure answers, so a countermeasure concept found in
such a case is paired with the case's cause concepts that annotated cases already link it
to, and with every cause of the case when there is no such known pair (the support rows
say ``source="extraction"``).

Edge attributes are plain Python values (lists included): ``graph.export`` turns lists into
JSON strings for GraphML and CSV, which cannot hold them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from typing import Any

import networkx as nx
from kizuki.corpus.schema import Case, normalise_sector

CASE, CAUSE, COUNTERMEASURE, SECTOR, THEME = "case", "cause", "countermeasure", "sector", "theme"
NODE_TYPES = (CASE, CAUSE, COUNTERMEASURE, SECTOR, THEME)

HAS_CAUSE, ADOPTED, MITIGATES = "has_cause", "adopted", "mitigates"
IN_SECTOR, IN_THEME, BROADER, SIMILAR_TO = "in_sector", "in_theme", "broader", "similar_to"
LEADS_TO = "leads_to"
EDGE_TYPES = (HAS_CAUSE, ADOPTED, MITIGATES, IN_SECTOR, IN_THEME, BROADER, SIMILAR_TO, LEADS_TO)

ANNOTATION, EXTRACTION = "annotation", "extraction"

#: English names of the FSA report's sector labels (業態). Unknown sectors keep their label.
SECTOR_NAMES: dict[str, tuple[str, str]] = {
    "主要行等": ("major_banks", "Major banks"),
    "地域銀行": ("regional_banks", "Regional banks"),
    "信用金庫及び信用組合": ("shinkin_and_credit_coops", "Shinkin banks and credit cooperatives"),
    "信用金庫": ("shinkin_banks", "Shinkin banks"),
    "信用組合": ("credit_cooperatives", "Credit cooperatives"),
    "金融商品取引業者（ネット証券会社）": ("online_securities", "Online securities firms"),
    "金融商品取引業者": ("securities_firms", "Securities firms"),
    "資金移動業者": ("funds_transfer", "Funds transfer service providers"),
    "暗号資産交換業者": ("crypto_exchanges", "Crypto-asset exchange service providers"),
    "貸金業者": ("money_lenders", "Money lenders (incl. credit card issuers)"),
    "保険会社": ("insurers", "Insurance companies"),
    "前払式支払手段発行者": ("prepaid_issuers", "Prepaid payment instrument issuers"),
}


#: English names of the report's themes (the circled sections of 事例), by theme id.
THEME_NAMES: dict[str, str] = {
    "third_party": "Failures caused by third parties",
    "legacy_expertise": "Shortage of legacy-system experts",
    "integration_renewal": "System integration and renewal",
    "transaction_volume": "Growth in transaction volume",
    "outsourcing": "Failures caused by outsourcing partners",
    "procedure_error": "Errors in work procedures",
    "product_understanding": "Poor understanding of product characteristics",
    "design_basics": "Basic design considerations overlooked",
}


_KEY_PREFIXES = (("cause.", CAUSE), ("cm.", COUNTERMEASURE), ("sector.", SECTOR), ("theme.", THEME))


def key_type(key: str) -> str:
    """The node type a graph key belongs to, from its prefix alone (no prefix: a case)."""
    lowered = key.lower()
    for prefix, node_type in _KEY_PREFIXES:
        if lowered.startswith(prefix):
            return node_type
    return CASE


def case_key_problem(case_id: str) -> str | None:
    """Why ``case_id`` cannot be a case node's key (None when it can)."""
    owner = key_type(case_id)
    if owner != CASE:
        return f"case id {case_id!r} is in the namespace of {owner} nodes"
    return None


def _add_typed_node(G: nx.MultiDiGraph, key: str, node_type: str, **attrs: Any) -> None:
    if key_type(key) != node_type:
        raise ValueError(f"{node_type} node {key!r} does not carry its type's key prefix")
    if key in G:
        raise ValueError(
            f"{node_type} node {key!r} collides with an existing {G.nodes[key]['type']} node"
        )
    G.add_node(key, type=node_type, **attrs)


_KNOWN_SECTOR_SLUGS = frozenset(slug for slug, _ in SECTOR_NAMES.values())


def sector_node_id(sector: str) -> str:
    """``sector.<slug>``: the English slug for known sectors, else the label itself when it
    is already id-safe, else the label made id-safe plus a short hash of it.

    The one normalisation is ``_norm_sector`` (surrounding spaces, bracket width): labels
    that differ after it are different sectors with different nodes ("Bank A", "bank-a"
    and "BANK_A!" are three), and filters compare the same normalised labels.
    """
    norm = _norm_sector(sector)
    known = SECTOR_NAMES.get(norm)
    if known:
        return f"sector.{known[0]}"
    slug = re.sub(r"[^\w]+", "_", norm).strip("_").lower()
    if slug and slug == norm and slug not in _KNOWN_SECTOR_SLUGS:
        return f"sector.{slug}"
    digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()[:8]
    return f"sector.{slug or 'x'}_{digest}"


def theme_node_id(theme_id: str) -> str:
    return f"theme.{theme_id}"


_norm_sector = normalise_sector


def sector_matches(wanted: str, sectors: list[str]) -> bool:
    """Whether a filter names one of ``sectors``: by its label (normalised as the nodes
    are, ``_norm_sector``) or by its node id."""
    norm = _norm_sector(wanted)
    return any(norm == _norm_sector(s) or wanted == sector_node_id(s) for s in sectors)


# -- per-case concept evidence ------------------------------------------------------------


@dataclass
class _Mention:
    """A concept found in one sentence (item) of a case."""

    kind: str  # cause | countermeasure
    concept: str
    sentence: str
    item: str  # item id within the case: c1, c2 … / m1, m2 …
    source: str
    confidence: float


@dataclass
class _CaseConcepts:
    mentions: list[_Mention] = field(default_factory=list)
    # (countermeasure concept, cause concept, countermeasure item, cause item)
    pairs: list[tuple[str, str, str, str]] = field(default_factory=list)
    source: str = ANNOTATION


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or mapping access, so plain dicts loaded from YAML work as well."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _from_annotation(case: Case, ann: Any) -> _CaseConcepts:
    out = _CaseConcepts(source=ANNOTATION)
    cause_items = list(_get(ann, "causes", []) or [])
    cm_items = list(_get(ann, "countermeasures", []) or [])
    cause_ids: dict[str, str] = {}
    concepts_of: dict[str, list[str]] = {}
    for i, item in enumerate(cause_items, start=1):
        item_id = str(_get(item, "id", None) or f"c{i}")
        cause_ids[item_id] = item_id
        concepts = list(_get(item, "concepts", []) or [])
        concepts_of[item_id] = concepts
        for concept in concepts:
            out.mentions.append(
                _Mention(CAUSE, concept, str(_get(item, "text", "")), item_id, ANNOTATION, 1.0)
            )
    for i, item in enumerate(cm_items, start=1):
        item_id = str(_get(item, "id", None) or f"m{i}")
        concepts = list(_get(item, "concepts", []) or [])
        for concept in concepts:
            out.mentions.append(
                _Mention(
                    COUNTERMEASURE, concept, str(_get(item, "text", "")), item_id, ANNOTATION, 1.0
                )
            )
        for addressed in _get(item, "addresses", []) or []:
            target = _resolve_cause_ref(addressed, cause_ids, concepts_of)
            for cause_item, cause_concepts in target:
                for cm_concept in concepts:
                    for cause_concept in cause_concepts:
                        out.pairs.append((cm_concept, cause_concept, item_id, cause_item))
    return out


def _resolve_cause_ref(
    ref: Any, cause_ids: dict[str, str], concepts_of: dict[str, list[str]]
) -> list[tuple[str, list[str]]]:
    """An ``addresses`` entry → [(cause item id, its concepts)].

    Entries may name a cause item (``c1``), give its 0-based index, or name a cause concept.
    """
    if isinstance(ref, int):
        item_id = list(cause_ids)[ref] if 0 <= ref < len(cause_ids) else None
        return [(item_id, concepts_of[item_id])] if item_id else []
    ref = str(ref)
    if ref in cause_ids:
        return [(ref, concepts_of[ref])]
    hits = [(item_id, [ref]) for item_id, concepts in concepts_of.items() if ref in concepts]
    return hits


def annotation_matches(case: Case, ann: Any) -> bool:
    """True when the annotation describes this exact text of the case.

    A case re-imported under a seed id with other wording must not inherit the seed's
    annotation: it falls back to extraction instead.
    """
    for key, items in (("causes", case.causes), ("countermeasures", case.countermeasures)):
        annotated = [str(_get(item, "text", "")).strip() for item in _get(ann, key, []) or []]
        if annotated != [item.strip() for item in items]:
            return False
    return True


def _from_extraction(
    case: Case, extractor: Any, known_pairs: set[tuple[str, str]], min_confidence: float
) -> _CaseConcepts:
    out = _CaseConcepts(source=EXTRACTION)
    for kind, items, prefix in (
        (CAUSE, case.causes, "c"),
        (COUNTERMEASURE, case.countermeasures, "m"),
    ):
        for i, sentence in enumerate(items, start=1):
            best: dict[str, float] = {}
            for tag in extractor.tag(sentence, kind):
                if tag.confidence >= min_confidence:
                    best[tag.concept_id] = max(best.get(tag.concept_id, 0.0), tag.confidence)
            for concept, conf in best.items():
                out.mentions.append(
                    _Mention(kind, concept, sentence, f"{prefix}{i}", EXTRACTION, float(conf))
                )
    if not any(m.kind == CAUSE for m in out.mentions):
        # No cause sentence named a concept (or the case has none, e.g. an event-only
        # report): look for the cause in the event text instead.
        from kizuki.search.analysis import split_sentences

        for i, sentence in enumerate(split_sentences(case.event) or [case.event], start=1):
            best = {}
            for tag in extractor.tag(sentence, CAUSE):
                if tag.confidence >= min_confidence:
                    best[tag.concept_id] = max(best.get(tag.concept_id, 0.0), tag.confidence)
            for concept, conf in best.items():
                out.mentions.append(
                    _Mention(CAUSE, concept, sentence, f"e{i}", EXTRACTION, float(conf))
                )
    causes = {(m.concept, m.item) for m in out.mentions if m.kind == CAUSE}
    for m in out.mentions:
        if m.kind != COUNTERMEASURE:
            continue
        known = sorted((c, item) for c, item in causes if (m.concept, c) in known_pairs)
        for cause_concept, cause_item in known or sorted(causes):
            out.pairs.append((m.concept, cause_concept, m.item, cause_item))
    return out


#: Keys in ``G.graph``: per-case extraction records, and what every extraction relied on.
EXTRACTIONS = "extractions"
KNOWN_PAIRS = "known_pairs"
MIN_CONFIDENCE = "min_confidence"


def _digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _case_key(context: str, case: Case) -> str:
    """What a case's extraction depends on, hashed: its event, causes, countermeasures."""
    text = "\x1f".join([context, case.event, *case.causes, "\x1e", *case.countermeasures])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _concepts_record(cc: _CaseConcepts) -> dict:
    """A ``_CaseConcepts`` as plain JSON (the graph is saved as JSON)."""
    return {
        "source": cc.source,
        "mentions": [list(astuple(m)) for m in cc.mentions],
        "pairs": [list(p) for p in cc.pairs],
    }


def _concepts_from_record(record: Mapping[str, Any]) -> _CaseConcepts:
    return _CaseConcepts(
        mentions=[_Mention(*m) for m in record["mentions"]],
        pairs=[tuple(p) for p in record["pairs"]],
        source=record["source"],
    )


# -- the graph ------------------------------------------------------------------------------


def _concepts(taxonomy: Any) -> list[Any]:
    concepts = _get(taxonomy, "concepts", None)
    if concepts is None:
        concepts = taxonomy
    if isinstance(concepts, Mapping):
        concepts = concepts.values()
    return list(concepts)


def _case_label(case: Case) -> str:
    if case.title:
        return case.title
    event = case.event.lstrip("○ 　")
    return event if len(event) <= 60 else event[:59] + "…"


def build_graph(
    cases: Iterable[Case],
    taxonomy: Any,
    annotations: Mapping[str, Any] | None = None,
    extractor: Any = None,
    searcher: Any = None,
    similar_k: int = 3,
    min_confidence: float = 0.0,
    previous: nx.MultiDiGraph | None = None,
    chains: Mapping[str, Any] | None = None,
) -> nx.MultiDiGraph:
    """The knowledge graph of ``cases``.

    Cases found in ``annotations`` use their hand annotation; the others are tagged by
    ``extractor`` (skipped when it is None). ``searcher`` (a ``search.engine.Searcher``)
    adds ``similar_to`` edges; without it the graph has none.

    Extraction results are kept in the graph (``G.graph["extractions"]``, saved with it) and
    taken from ``previous`` for every case whose text is unchanged: after a write, or after
    a restart that loaded the saved graph, only new or edited cases are tagged again (at
    10k cases, tagging them all would take minutes).

    ``chains``: the reviewed cause chains (``graph.chains``); when given, every case gets a
    chain (the reviewed one, else read from its text) and the ``leads_to`` edges.
    """
    cases = list(cases)
    annotations = annotations or {}
    G = nx.MultiDiGraph(name="kizuki")

    concepts = _concepts(taxonomy)
    for concept in concepts:
        kind = _get(concept, "kind")
        parent = _get(concept, "parent")
        _add_typed_node(
            G,
            _get(concept, "id"),
            CAUSE if kind == CAUSE else COUNTERMEASURE,
            label_ja=_get(concept, "label_ja", "") or "",
            label_en=_get(concept, "label_en", "") or "",
            definition=_get(concept, "definition", "") or "",
            definition_en=_get(concept, "definition_en", "") or "",
            parent=parent or "",
            is_group=parent is None,
        )
    for concept in concepts:
        parent = _get(concept, "parent")
        if parent is not None and parent in G:
            G.add_edge(_get(concept, "id"), parent, key=BROADER, type=BROADER)

    for case in cases:
        _add_case_node(G, case)

    per_case: dict[str, _CaseConcepts] = {}
    for case in cases:
        if case.id in annotations and annotation_matches(case, annotations[case.id]):
            per_case[case.id] = _from_annotation(case, annotations[case.id])
    known_pairs = {(cm, cause) for cc in per_case.values() for cm, cause, _, _ in cc.pairs}
    G.graph[KNOWN_PAIRS] = sorted(known_pairs)
    G.graph[MIN_CONFIDENCE] = min_confidence
    G.graph[EXTRACTIONS] = {}
    if extractor is not None:
        reuse = previous.graph.get(EXTRACTIONS, {}) if previous is not None else {}
        todo = [case for case in cases if case.id not in per_case]
        per_case.update(_extract(G, todo, extractor, reuse))

    for case_id, cc in per_case.items():
        _add_case_concepts(G, case_id, cc)
    _add_mitigates(G, per_case)
    if chains is not None:
        _add_chains(G, cases, chains, extractor)

    if searcher is not None and similar_k > 0:
        add_similar_edges(G, cases, searcher, similar_k)
    return G


def extend_graph(
    previous: nx.MultiDiGraph,
    new_cases: Sequence[Case],
    annotations: Mapping[str, Any] | None = None,
    extractor: Any = None,
    chains: Mapping[str, Any] | None = None,
) -> nx.MultiDiGraph | None:
    """``previous`` with ``new_cases`` added: the graph ``build_graph`` would give for all
    of them (``similar_to`` edges of the new cases aside), built without going over the
    cases already there. ``previous`` is not changed: searches may still be reading it.

    None when a full build is needed instead: a new case carries a hand annotation (it can
    change the pairs every extraction relies on), or ``previous`` predates this format.
    """
    annotations = annotations or {}
    if KNOWN_PAIRS not in previous.graph or EXTRACTIONS not in previous.graph:
        return None
    if any(c.id in annotations and annotation_matches(c, annotations[c.id]) for c in new_cases):
        return None
    if any(c.id in previous for c in new_cases):
        return None
    G = _sharing_copy(previous)
    G.graph[EXTRACTIONS] = dict(previous.graph[EXTRACTIONS])
    for case in new_cases:
        _add_case_node(G, case)
    fresh = _extract(G, list(new_cases), extractor, {}) if extractor is not None else {}
    for case_id, cc in fresh.items():
        _add_case_concepts(G, case_id, cc)
    _extend_mitigates(G, fresh)
    if chains is not None:
        _add_chains(G, new_cases, chains, extractor)
    return G


def _add_chains(
    G: nx.MultiDiGraph, cases: Sequence[Case], chains: Mapping[str, Any], extractor: Any
) -> None:
    """Chains of ``cases`` (reviewed, else read from the text with the taxonomy's patterns:
    no embedding per clause) into ``G``, and the ``leads_to`` edges of all chains."""
    from kizuki.graph.chain_extract import chains_for, pattern_tagger
    from kizuki.graph.chain_graph import set_chains

    tagger = pattern_tagger(extractor) if extractor is not None else None
    set_chains(G, chains_for(cases, chains, tagger))


def _sharing_copy(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``G`` that shares its node and edge attribute dicts (and its per-pair key
    dicts) with ``G``: only the adjacency maps are new. ``G.copy()`` copies every edge
    (1.5 s at 10k cases, more than the rest of a write); this takes milliseconds.

    Safe because a write only adds nodes and edges, which lands in the new maps, and
    changes an existing pair's edges only after ``_own_pair`` gave the copy its own.
    """
    H = nx.MultiDiGraph()
    H.graph.update(G.graph)
    H._node = dict(G._node)
    H._succ = H._adj = {u: dict(nbrs) for u, nbrs in G._succ.items()}
    H._pred = {v: dict(nbrs) for v, nbrs in G._pred.items()}
    for view in ("adj", "succ", "pred", "nodes", "edges", "in_edges", "out_edges", "degree"):
        H.__dict__.pop(view, None)  # cached views of the empty maps, if any were made
    return H


def _own_pair(G: nx.MultiDiGraph, u: str, v: str) -> None:
    """Give ``G`` its own key and attribute dicts for the edges ``u → v`` (see above)."""
    if v in G._succ.get(u, {}):
        keydict = {k: dict(d) for k, d in G._succ[u][v].items()}
        G._succ[u][v] = keydict
        G._pred[v][u] = keydict


def _add_case_node(G: nx.MultiDiGraph, case: Case) -> None:
    problem = case_key_problem(case.id)
    if problem:
        raise ValueError(f"case {case.id}: {problem}")
    _add_typed_node(
        G,
        case.id,
        CASE,
        label_ja=_case_label(case),
        label_en=case.id,
        title=case.title,
        event=case.event,
        sectors=list(case.sectors),
        theme=case.theme.id if case.theme else "",
        report=case.source.report if case.source else "",
    )
    for sector in case.sectors:
        node = sector_node_id(sector)
        if node not in G:
            english = SECTOR_NAMES.get(_norm_sector(sector), (None, sector))[1]
            _add_typed_node(G, node, SECTOR, label_ja=sector, label_en=english)
        G.add_edge(case.id, node, key=IN_SECTOR, type=IN_SECTOR)
    if case.theme is not None:
        node = theme_node_id(case.theme.id)
        if node not in G:
            _add_typed_node(
                G,
                node,
                THEME,
                label_ja=case.theme.label,
                label_en=THEME_NAMES.get(
                    case.theme.id, case.theme.id.replace("_", " ").capitalize()
                ),
            )
        G.add_edge(case.id, node, key=IN_THEME, type=IN_THEME)


def _extract(
    G: nx.MultiDiGraph, cases: list[Case], extractor: Any, reuse: Mapping[str, dict]
) -> dict[str, _CaseConcepts]:
    """Extraction for ``cases``, taken from ``reuse`` where a case's text is unchanged;
    each result is recorded in ``G.graph["extractions"]``."""
    known_pairs = {tuple(p) for p in G.graph[KNOWN_PAIRS]}
    min_confidence = G.graph[MIN_CONFIDENCE]
    context = _digest([G.graph[KNOWN_PAIRS], min_confidence])
    records = G.graph[EXTRACTIONS]
    out: dict[str, _CaseConcepts] = {}
    for case in cases:
        key = _case_key(context, case)
        stored = reuse.get(case.id)
        if stored is not None and stored["key"] == key:
            out[case.id] = _concepts_from_record(stored)
            records[case.id] = stored
        else:
            out[case.id] = _from_extraction(case, extractor, known_pairs, min_confidence)
            records[case.id] = {"key": key, **_concepts_record(out[case.id])}
    return out


def _add_case_concepts(G: nx.MultiDiGraph, case_id: str, cc: _CaseConcepts) -> None:
    grouped: dict[tuple[str, str], list[_Mention]] = defaultdict(list)
    for m in cc.mentions:
        if m.concept not in G:
            raise ValueError(f"case {case_id}: unknown concept {m.concept!r}")
        expected = CAUSE if m.kind == CAUSE else COUNTERMEASURE
        if G.nodes[m.concept]["type"] != expected:
            raise ValueError(f"case {case_id}: {m.concept!r} is not a {expected} concept")
        grouped[(m.kind, m.concept)].append(m)
    for (kind, concept), mentions in grouped.items():
        mentions.sort(key=lambda m: -m.confidence)
        sentences = list(dict.fromkeys(m.sentence for m in mentions))
        etype = HAS_CAUSE if kind == CAUSE else ADOPTED
        G.add_edge(
            case_id,
            concept,
            key=etype,
            type=etype,
            evidence=sentences[0],
            sentences=sentences,
            items=list(dict.fromkeys(m.item for m in mentions)),
            provenance=cc.source,
            confidence=max(m.confidence for m in mentions),
        )


def _support(G: nx.MultiDiGraph, per_case: Mapping[str, _CaseConcepts]):
    """(countermeasure, cause) → case id → the evidence rows of that case."""
    support: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(dict)
    for case_id, cc in per_case.items():
        text = {(m.kind, m.item): m.sentence for m in cc.mentions}
        for cm, cause, cm_item, cause_item in cc.pairs:
            if cm not in G or cause not in G:
                continue
            entry = {
                "case_id": case_id,
                "countermeasure": text.get((COUNTERMEASURE, cm_item), ""),
                "cause": text.get((CAUSE, cause_item), ""),
                "source": cc.source,
            }
            rows = support[(cm, cause)].setdefault(case_id, [])
            if entry not in rows:
                rows.append(entry)
    return support


def _add_mitigates(G: nx.MultiDiGraph, per_case: Mapping[str, _CaseConcepts]) -> None:
    cases_with_cause: dict[str, set[str]] = defaultdict(set)
    for case_id, cc in per_case.items():
        for m in cc.mentions:
            if m.kind == CAUSE:
                cases_with_cause[m.concept].add(case_id)
    for (cm, cause), by_case in _support(G, per_case).items():
        _set_mitigates(G, cm, cause, by_case, len(cases_with_cause[cause]))


def _set_mitigates(
    G: nx.MultiDiGraph, cm: str, cause: str, by_case: Mapping[str, list[dict]], holders: int
) -> None:
    case_ids = sorted(by_case)
    G.add_edge(
        cm,
        cause,
        key=MITIGATES,
        type=MITIGATES,
        support=case_ids,
        support_count=len(case_ids),
        strength=len(case_ids) / max(1, holders),
        evidence_pairs=[row for cid in case_ids for row in by_case[cid]],
    )


def _extend_mitigates(G: nx.MultiDiGraph, fresh: Mapping[str, _CaseConcepts]) -> None:
    """Add the new cases' support to ``mitigates`` edges (as ``_add_mitigates`` over all
    cases would), and re-weigh the edges into every cause the new cases have."""
    touched = {m.concept for cc in fresh.values() for m in cc.mentions if m.kind == CAUSE}
    support = _support(G, fresh)
    touched |= {cause for _, cause in support}
    # the adjacency maps, not networkx's edge views: a cause can have 10³ cases
    holders = {
        cause: sum(1 for keys in G._pred[cause].values() if HAS_CAUSE in keys)
        for cause in touched
        if cause in G
    }
    for (cm, cause), new_rows in support.items():
        _own_pair(G, cm, cause)
        by_case: dict[str, list[dict]] = {}
        old = G.get_edge_data(cm, cause, key=MITIGATES)
        for row in old["evidence_pairs"] if old else ():
            by_case.setdefault(row["case_id"], []).append(row)
        by_case.update(new_rows)
        _set_mitigates(G, cm, cause, by_case, holders[cause])
    for cause in holders:
        mitigating = [
            (u, keys[MITIGATES]) for u, keys in G._pred[cause].items() if MITIGATES in keys
        ]
        for cm, d in mitigating:
            if (cm, cause) not in support:
                _own_pair(G, cm, cause)
                G.add_edge(
                    cm, cause, key=MITIGATES, strength=d["support_count"] / max(1, holders[cause])
                )


def add_similar_edges(G: nx.MultiDiGraph, cases: Iterable[Case], searcher: Any, k: int) -> None:
    """``similar_to`` edges: each case's top ``k`` other cases by the search engine.

    The query is the case's event and causes, the text an analyst would paste.
    """
    for case in cases:
        if case.id not in G:
            continue
        query = "\n".join([case.title, case.event, *case.causes]).strip()
        response = searcher.search(query, k=k + 1)
        rank = 0
        for result in response.results:
            if result.case_id == case.id or result.case_id not in G:
                continue
            rank += 1
            G.add_edge(
                case.id,
                result.case_id,
                key=SIMILAR_TO,
                type=SIMILAR_TO,
                score=float(result.score),
                rank=rank,
            )
            if rank >= k:
                break


# -- small accessors shared by navigation, analytics and recommendation ------------------


def nodes_of_type(G: nx.MultiDiGraph, node_type: str) -> list[str]:
    return [n for n, t in G.nodes(data="type") if t == node_type]


def edges_of_type(G: nx.MultiDiGraph, edge_type: str) -> list[tuple[str, str, dict]]:
    return [(u, v, d) for u, v, k, d in G.edges(keys=True, data=True) if k == edge_type]


def case_causes(G: nx.MultiDiGraph, case_id: str) -> dict[str, dict]:
    """Cause concept → its ``has_cause`` edge data, for one case."""
    return {v: d for _, v, k, d in G.out_edges(case_id, keys=True, data=True) if k == HAS_CAUSE}


def case_countermeasures(G: nx.MultiDiGraph, case_id: str) -> dict[str, dict]:
    return {v: d for _, v, k, d in G.out_edges(case_id, keys=True, data=True) if k == ADOPTED}


def cases_with_concept(G: nx.MultiDiGraph, concept: str) -> dict[str, dict]:
    """Case → edge data of the ``has_cause`` / ``adopted`` edge to ``concept``."""
    return {
        u: d
        for u, _, k, d in G.in_edges(concept, keys=True, data=True)
        if k in (HAS_CAUSE, ADOPTED)
    }


def narrower(G: nx.MultiDiGraph, concept: str) -> list[str]:
    """The concept itself and every concept below it in the hierarchy."""
    out, stack = [], [concept]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(u for u, _, k in G.in_edges(node, keys=True) if k == BROADER)
    return out


def group_of(G: nx.MultiDiGraph, concept: str) -> str:
    """The top-level group a concept belongs to (itself when it is a group)."""
    seen = {concept}
    while True:
        parents = [v for _, v, k in G.out_edges(concept, keys=True) if k == BROADER]
        if not parents or parents[0] in seen:
            return concept
        concept = parents[0]
        seen.add(concept)
