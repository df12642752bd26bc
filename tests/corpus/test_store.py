"""The SQLite case store: all-or-nothing batches, persistence, seeding once, versioning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from corpus.schema import Case
from corpus.store import CaseStore, DuplicateCaseError


def make_case(i: int, event: str = "ATMが停止した") -> Case:
    return Case(
        id=f"user-{i:03d}", event=event, causes=["作業ミス"], countermeasures=["再鑑の徹底"]
    )


def test_add_get_and_persist_across_instances(tmp_path):
    path = tmp_path / "cases.sqlite3"
    store = CaseStore(path)
    assert store.add_cases([make_case(1), make_case(2)]) == 2
    reopened = CaseStore(path)
    assert [c.id for c in reopened.all_cases()] == ["user-001", "user-002"]
    assert reopened.get("user-002") == make_case(2)
    assert reopened.get("missing") is None


def test_batch_with_clash_is_rejected_whole(tmp_path):
    store = CaseStore(tmp_path / "s.sqlite3")
    store.add_cases([make_case(1)])
    version = store.version()
    with pytest.raises(DuplicateCaseError, match="user-001"):
        store.add_cases([make_case(5), make_case(1)])
    with pytest.raises(DuplicateCaseError, match="twice"):
        store.add_cases([make_case(6), make_case(6)])
    assert [c.id for c in store.all_cases()] == ["user-001"]
    assert store.version() == version


def test_delete_and_version_and_fingerprint(tmp_path):
    store = CaseStore(tmp_path / "s.sqlite3")
    empty = store.fingerprint()
    v0 = store.version()
    store.add_cases([make_case(1)])
    assert store.version() == v0 + 1
    assert store.fingerprint() != empty
    assert store.delete_case("user-001") is True
    assert store.delete_case("user-001") is False
    assert store.fingerprint() == empty
    assert store.count() == 0


def test_seed_is_loaded_once(tmp_path):
    store = CaseStore(tmp_path / "s.sqlite3")
    assert store.ensure_seeded([make_case(1), make_case(2)]) is True
    store.delete_case("user-001")
    # A restart must not resurrect a case the user deleted.
    assert CaseStore(tmp_path / "s.sqlite3").ensure_seeded([make_case(1), make_case(2)]) is False
    assert [c.id for c in store.all_cases()] == ["user-002"]
    assert store.origins() == {"user-002": "seed"}


def test_acknowledged_writes_survive_sigkill(tmp_path):
    """A writer killed mid-stream loses nothing it had acknowledged."""
    path = tmp_path / "s.sqlite3"
    script = textwrap.dedent(
        f"""
        import sys
        from corpus.schema import Case
        from corpus.store import CaseStore
        store = CaseStore({str(path)!r})
        for i in range(100000):
            store.add_cases([Case(id=f"k-{{i}}", event="障害", causes=["x"], countermeasures=["y"])])
            print(i, flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acked = []
    for line in proc.stdout:
        acked.append(int(line))
        if len(acked) >= 30:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = {c.id for c in CaseStore(path).all_cases()}
    assert {f"k-{i}" for i in acked} <= stored
