"""The knowledge graph saved beside the index, so a restart does not rebuild it.

The saved file is used only when its key matches: the exact cases (the index's corpus
hash), the embedding model, the taxonomy and annotation files and the graph package's own
code. Anything else — a new case, an edited taxonomy, a changed extractor — makes it
stale and the graph is rebuilt from the store. Writes are atomic (temp file, fsync,
rename). The file's first line is a header with the key and the sha256 and size of the
graph that follows, so a truncated or altered file is detected and rebuilt, never served;
temporary files that a killed process left behind are removed on load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
from kizuki.search.snapshot_files import process_alive

from kizuki import graph as graph_pkg

__all__ = ["clean_debris", "code_key", "graph_key", "load", "load_extractions", "save"]

log = logging.getLogger("kizuki.graph_cache")

FORMAT = 3
#: node-link field names that cannot clash with attribute names (edges carry a ``source``
#: attribute — annotation or extraction — which the default field name would overwrite).
_LINK_KEYS = {"source": "_u", "target": "_v", "key": "_key", "name": "_id", "edges": "edges"}


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_key(index_manifest: dict[str, Any], similar_k: int) -> str:
    """What the graph depends on besides the cases (code, taxonomy, examples, model), as one
    hash: a saved graph with the same code key holds extraction results that still hold."""
    root = Path(graph_pkg.__file__).parent
    parts = {
        "format": FORMAT,
        "model": index_manifest.get("model"),
        "code_and_data": _hash_files(
            [p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml", ".yml")]
        ),
        "similar_k": similar_k,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def graph_key(index_manifest: dict[str, Any], similar_k: int) -> str:
    """What the graph depends on, as one hash: the code key and the cases."""
    parts = [code_key(index_manifest, similar_k), index_manifest.get("corpus_sha256")]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def load(
    directory: Path, key: str, report: Callable[[str], None] | None = None
) -> nx.MultiDiGraph | None:
    """The saved graph when it matches ``key`` and its checksum; None otherwise."""
    say = report or (lambda line: None)
    removed = clean_debris(directory)
    if removed:
        say(f"removed crash debris beside the graph: {', '.join(removed)}")
    path = directory / "graph.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if directory.is_dir():  # saved before, gone now: not a first start
            say(f"saved graph {path} is missing; rebuilding it from the store")
        return None
    except OSError as exc:
        say(f"saved graph {path} cannot be read ({exc.strerror}); rebuilding it from the store")
        return None
    head, _, body = raw.partition(b"\n")
    try:
        header = json.loads(head)
        if not isinstance(header, dict):
            raise ValueError("no header")
    except ValueError:
        say("saved graph unreadable; rebuilding it from the store")
        return None
    if header.get("format") != FORMAT:
        return None  # another version's file: stale, not an error
    # Damage is reported even when the graph is stale anyway: the disk under it is suspect.
    if len(body) != header.get("size") or hashlib.sha256(body).hexdigest() != header.get("sha256"):
        say(f"saved graph {path} fails its checksum; rebuilding it from the store")
        log.warning("saved graph %s fails its checksum; rebuilding", path)
        return None
    if header.get("key") != key:
        return None  # stale: not an error
    try:
        data = json.loads(body)
        return nx.node_link_graph(data, directed=True, multigraph=True, **_LINK_KEYS)
    except (KeyError, TypeError, ValueError, nx.NetworkXError):
        say("saved graph unreadable; rebuilding it from the store")
        return None


def load_extractions(directory: Path, code: str) -> dict[str, Any] | None:
    """The per-case extraction records of the saved graph when it is stale only because the
    cases changed (another process imported some, or the server stopped before it saved its
    newest graph): same format and code key, intact. A rebuild then tags only the cases
    that are new or edited (at 10k cases, tagging all of them takes minutes)."""
    try:
        raw = (directory / "graph.json").read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        if header.get("format") != FORMAT or header.get("code") != code:
            return None
        if len(body) != header.get("size") or hashlib.sha256(body).hexdigest() != header.get(
            "sha256"
        ):
            return None
        records = json.loads(body).get("graph", {}).get("extractions")
    except (OSError, ValueError, AttributeError):
        return None
    return records if isinstance(records, dict) else None


def save(directory: Path, key: str, G: nx.MultiDiGraph, code: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    body = json.dumps(nx.node_link_data(G, **_LINK_KEYS), ensure_ascii=False, default=str).encode(
        "utf-8"
    )
    header = {
        "format": FORMAT,
        "key": key,
        "code": code,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    tmp = directory / f".graph.json.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(json.dumps(header).encode("utf-8") + b"\n" + body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / "graph.json")
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_debris(directory: Path) -> list[str]:
    """Temporary graph files of processes that are no longer running."""
    removed = []
    for path in directory.glob(".graph.json.tmp-*"):
        try:
            pid = int(path.name.removeprefix(".graph.json.tmp-").split("-")[0])
        except ValueError:
            pid = None
        if pid is not None and pid != os.getpid() and process_alive(pid):
            continue
        if pid == os.getpid():
            continue
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
