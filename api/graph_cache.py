"""The knowledge graph saved beside the index, so a restart does not rebuild it.

The saved file is used only when its key matches: the exact cases (the index's corpus
hash), the embedding model, the taxonomy and annotation files and the graph package's own
code. Anything else — a new case, an edited taxonomy, a changed extractor — makes it
stale and the graph is rebuilt from the store. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import networkx as nx

log = logging.getLogger("kizuki.graph_cache")

FORMAT = 2
#: node-link field names that cannot clash with attribute names (edges carry a ``source``
#: attribute — annotation or extraction — which the default field name would overwrite).
_LINK_KEYS = {"source": "_u", "target": "_v", "key": "_key", "name": "_id", "edges": "edges"}


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def graph_key(index_manifest: dict[str, Any], similar_k: int) -> str:
    """What the graph depends on, as one hash."""
    import graph as graph_pkg

    root = Path(graph_pkg.__file__).parent
    parts = {
        "format": FORMAT,
        "corpus": index_manifest.get("corpus_sha256"),
        "model": index_manifest.get("model"),
        "code_and_data": _hash_files(
            [p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml", ".yml")]
        ),
        "similar_k": similar_k,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def load(directory: Path, key: str) -> nx.MultiDiGraph | None:
    path = directory / "graph.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    try:
        return nx.node_link_graph(data["graph"], directed=True, multigraph=True, **_LINK_KEYS)
    except (KeyError, TypeError, ValueError, nx.NetworkXError):
        log.warning("saved graph unreadable; rebuilding")
        return None


def save(directory: Path, key: str, G: nx.MultiDiGraph) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    payload = {"key": key, "graph": nx.node_link_data(G, **_LINK_KEYS)}
    tmp = directory / f".graph.json.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, directory / "graph.json")
