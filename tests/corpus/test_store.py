"""The case store, SQLite and PostgreSQL alike: all-or-nothing batches, persistence, seeding
once, versioning, refused stale writes, and no acknowledged write lost to a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import DuplicateCaseError, StoreChanged, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path) -> Settings:
    """Settings naming a new, empty store of each kind."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def pg_cluster_if_pg(request, settings):
    """The PostgreSQL server behind a PostgreSQL store (None for SQLite)."""
    return request.getfixturevalue("pg_cluster") if settings.database_url else None


@pytest.fixture
def opened(settings):
    """Opens the store (again: a new instance over the same database); all closed at the end."""
    stores = []

    def _open():
        stores.append(open_store(settings))
        return stores[-1]

    yield _open
    for store in stores:
        store.close()


def make_case(i: int, event: str = "ATMが停止した") -> Case:
    return Case(
        id=f"user-{i:03d}", event=event, causes=["作業ミス"], countermeasures=["再鑑の徹底"]
    )


def test_add_get_and_persist_across_instances(opened):
    store = opened()
    assert store.add_cases([make_case(1), make_case(2)]) == 2
    reopened = opened()
    assert [c.id for c in reopened.all_cases()] == ["user-001", "user-002"]
    assert reopened.get("user-002") == make_case(2)
    assert reopened.get("missing") is None


def test_batch_with_clash_is_rejected_whole(opened):
    store = opened()
    store.add_cases([make_case(1)])
    version = store.version()
    with pytest.raises(DuplicateCaseError, match="user-001"):
        store.add_cases([make_case(5), make_case(1)])
    with pytest.raises(DuplicateCaseError, match="twice"):
        store.add_cases([make_case(6), make_case(6)])
    assert [c.id for c in store.all_cases()] == ["user-001"]
    assert store.version() == version


def test_delete_and_version_and_fingerprint(opened):
    store = opened()
    empty = store.fingerprint()
    v0 = store.version()
    store.add_cases([make_case(1)])
    assert store.version() == v0 + 1
    assert store.fingerprint() != empty
    assert store.delete_case("user-001") is True
    assert store.delete_case("user-001") is False
    assert store.fingerprint() == empty
    assert store.count() == 0


def test_seed_is_loaded_once(opened):
    store = opened()
    assert store.ensure_seeded([make_case(1), make_case(2)]) is True
    store.delete_case("user-001")
    # A restart must not resurrect a case the user deleted.
    assert opened().ensure_seeded([make_case(1), make_case(2)]) is False
    assert [c.id for c in store.all_cases()] == ["user-002"]
    assert store.origins() == {"user-002": "seed"}


def test_write_at_a_stale_version_is_refused(opened):
    """``expected_version``: a write derived from an older state stores nothing."""
    first, second = opened(), opened()
    seen = first.version()
    second.add_cases([make_case(1)])  # another server writes meanwhile
    with pytest.raises(StoreChanged):
        first.add_cases([make_case(2)], expected_version=seen)
    with pytest.raises(StoreChanged):
        first.delete_case("user-001", expected_version=seen)
    assert [c.id for c in first.all_cases()] == ["user-001"]
    assert first.version() == seen + 1
    first.add_cases([make_case(2)], expected_version=seen + 1)
    assert second.version() == seen + 2


def test_acknowledged_writes_survive_sigkill(settings, opened):
    """A writer killed mid-stream loses nothing it had acknowledged."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from kizuki.corpus.schema import Case
        from kizuki.corpus.settings import Settings
        from kizuki.corpus.store import open_store
        store = open_store(
            Settings(data_dir=Path({str(settings.data_dir)!r}), database_url={settings.database_url!r})
        )
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
    stored = {c.id for c in opened().all_cases()}
    assert {f"k-{i}" for i in acked} <= stored


def test_writes_are_announced_to_listeners(settings, opened, pg_cluster_if_pg):
    """PostgreSQL notifies every listener of each write, also after a restart of its own;
    SQLite cannot (servers poll ``version()``)."""
    store, other = opened(), opened()
    changed = threading.Event()
    listener = store.listen(changed.set)
    if settings.database_url is None:
        assert listener is None
        return
    try:
        _until_announced(changed, other, first=1)
        pg_cluster_if_pg.stop()
        pg_cluster_if_pg.start()
        changed.clear()
        _until_announced(changed, other, first=100)  # reconnected, with a fresh pool too
    finally:
        listener.stop()


def _until_announced(changed: threading.Event, writer, first: int) -> None:
    # The listener connects in the background: write until it has heard one (bounded).
    for i in range(first, first + 30):
        writer.add_cases([make_case(i)])
        if changed.wait(timeout=2):
            return
    pytest.fail("no write was announced")
