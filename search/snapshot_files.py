"""Snapshot directories on disk: checksums, an atomic swap, and crash debris.

A saved index is a directory of files. Three things keep what is served honest:

* **Checksums.** ``checksums`` records every file's size and sha256 in the manifest when
  the snapshot is saved; ``verify`` compares them on load. A flipped, truncated,
  overwritten or deleted file is a mismatch, and the caller rebuilds from the store
  instead of serving wrong rankings.
* **One atomic swap.** The served path (``<data>/index``) is a symbolic link to a
  versioned directory (``<data>/.index.v-<ns>-<pid>``). ``publish`` writes a complete new
  version beside the old one and then replaces the link with ``rename(2)``, one atomic
  step: a crash at any moment leaves the old or the new snapshot, never none.
* **Debris.** ``clean_debris`` (run at start) removes what a killed process left behind:
  unpublished or superseded versions and the temporary names of the old two-rename
  layout, but nothing a live process may still be writing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

#: The manifest is the one file not covered by its own checksums.
MANIFEST = "manifest.json"


def checksums(directory: Path) -> dict[str, list]:
    """``relative path → [size, sha256]`` for every file under ``directory`` but the manifest."""
    out: dict[str, list] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel == MANIFEST:
            continue
        out[rel] = [path.stat().st_size, _sha256(path)]
    return out


def total_bytes(files: dict[str, list]) -> int:
    return sum(int(size) for size, _ in files.values())


def verify(directory: Path, files: dict[str, list] | None, full: bool = True) -> str | None:
    """The first problem with the snapshot's files (None when all match).

    ``full=False`` checks presence and sizes only (cheap at any size); ``full=True``
    hashes every file as well.
    """
    if not isinstance(files, dict) or not files:
        return "the manifest records no file checksums"
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} - {
        MANIFEST
    }
    extra = sorted(present - set(files))
    if extra:
        return f"unexpected file {extra[0]}"
    for rel, entry in files.items():
        path = directory / rel
        try:
            size, digest = int(entry[0]), str(entry[1])
        except (TypeError, ValueError, IndexError):
            return f"{rel}: unreadable checksum entry"
        try:
            actual = path.stat().st_size
        except OSError:
            return f"{rel}: missing"
        if actual != size:
            return f"{rel}: {actual} bytes, expected {size}"
        if full and _sha256(path) != digest:
            return f"{rel}: checksum mismatch"
    return None


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# -- versions and the atomic swap -----------------------------------------------------------


def new_version_dir(link: Path) -> Path:
    """A fresh, empty directory for the next version of the snapshot served at ``link``."""
    link.parent.mkdir(parents=True, exist_ok=True)
    path = link.with_name(f".{link.name}.v-{time.time_ns()}-{os.getpid()}")
    path.mkdir()
    return path


def publish(version: Path, link: Path) -> None:
    """Serve ``version`` at ``link`` in one atomic step, then drop the version it replaced.

    Everything in ``version`` is fsynced first, so the link never points at a directory
    whose files are not yet on disk.
    """
    _fsync_tree(version)
    previous = current_version(link)
    if link.exists() and not link.is_symlink():
        # The layout before versioned snapshots: a plain directory. Moved aside once
        # (a crash right here leaves no snapshot, which only costs a rebuild).
        aside = link.with_name(f".{link.name}.old-{os.getpid()}-{time.time_ns()}")
        link.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    tmp_link = link.with_name(f".{link.name}.link-{os.getpid()}-{time.time_ns()}")
    os.symlink(version.name, tmp_link)
    os.replace(tmp_link, link)  # rename(2): atomic
    _fsync_dir(link.parent)
    if previous is not None and previous != version and previous.exists():
        # Readers of the old snapshot keep working: its arrays are memory-mapped and its
        # case file is held open, so removing the names does not take the data away.
        shutil.rmtree(previous, ignore_errors=True)


def current_version(link: Path) -> Path | None:
    """The versioned directory ``link`` points to (None when it is not a link)."""
    if not link.is_symlink():
        return None
    return link.parent / os.readlink(link)


def clean_debris(link: Path) -> list[str]:
    """Remove leftovers of killed processes next to ``link``; the names removed.

    Versions other than the served one, half-written versions, temporary links and the
    old layout's ``.index.tmp-*`` / ``.index.old-*`` directories go, except those whose
    writer (the pid in the name) is still running: it may be about to publish them.
    """
    if not link.parent.is_dir():
        return []
    current = current_version(link)
    removed = []
    for path in link.parent.glob(f".{link.name}.*"):
        if current is not None and path.name == current.name:
            continue
        pid = _pid_of(path.name)
        if pid is not None and pid != os.getpid() and process_alive(pid):
            continue
        if pid == os.getpid() and ".v-" in path.name:
            continue  # this process's own versions are managed by publish
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    if link.is_symlink() and not link.exists():
        link.unlink()  # a dangling link: its version was lost; the caller rebuilds
        removed.append(link.name)
    return sorted(removed)


def _pid_of(name: str) -> int | None:
    """The writer's pid in a debris name (``.index.v-<ns>-<pid>``, ``.index.tmp-<pid>-<ns>``)."""
    kind, _, rest = name.rpartition(".")[2].partition("-")
    parts = rest.split("-")
    try:
        if kind == "v" and len(parts) == 2:
            return int(parts[1])
        if kind in ("tmp", "old", "link") and parts:
            return int(parts[0])
    except ValueError:
        return None
    return None


def process_alive(pid: int) -> bool:
    """Whether a process of this id exists (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    for path in [directory, *(p for p in directory.rglob("*") if p.is_dir())]:
        _fsync_dir(path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
