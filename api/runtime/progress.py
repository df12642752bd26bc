"""Telling people what a long wait is for.

* ``kizuki serve``: the port opens at once while the service seeds the store and loads or
  builds the search index and the graph (a first start on many imported cases embeds each
  of them). ``start_message`` prints what is being prepared, ``Heartbeat`` prints a line
  every 15 s with the phase and its counts (``BuildProgress``) until it is done, and
  ``/health`` answers 503 ``building`` with the same progress meanwhile.
* CLI commands that need the index and graph (``kizuki search``, ``kizuki graph …``,
  ``kizuki causes`` …): ``building`` shows a spinner with the elapsed time on a terminal
  (stderr), and nothing when stderr is not a terminal, so scripts and pipes get clean
  output. ``kizuki eval`` and ``kizuki train`` show a progress bar over their queries.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from kizuki.corpus.settings import Settings
from rich.console import Console

__all__ = ["BuildProgress", "Heartbeat", "building", "has_saved_index", "start_message"]

#: Seconds between two "still preparing" lines of ``kizuki serve``.
HEARTBEAT_S = 15.0


def has_saved_index(settings: Settings) -> bool:
    return settings.index_dir.exists()


def start_message(settings: Settings) -> str:
    """What the server is about to prepare (printed before the port opens)."""
    if not settings.database_url and not settings.store_path.exists():
        return (
            f"Kizuki: first start in {settings.data_dir}: loading the 44 bundled cases into a "
            "new case store and building the search index and the knowledge graph (their "
            "vectors ship with Kizuki: seconds) ..."
        )
    if not has_saved_index(settings):
        return (
            f"Kizuki: building the search index and the knowledge graph from "
            f"{'the PostgreSQL store' if settings.database_url else settings.store_path} (cases not bundled with Kizuki are embedded first; with "
            "many of them that takes a while) ..."
        )
    return (
        f"Kizuki: loading the saved search index and knowledge graph from {settings.data_dir} "
        "(rebuilt if the store changed) ..."
    )


class BuildProgress:
    """What a starting server is doing, for ``/health`` and its console lines.

    ``update`` is the ``search.embeddings.Progress`` callback the build is given; plain
    attribute writes, read by other threads as they are (a line may be one step behind).
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phase = "opening the case store"
        self.done = 0
        self.total = 0

    def update(self, phase: str, done: int = 0, total: int = 0) -> None:
        self.phase, self.done, self.total = phase, done, total

    def to_dict(self) -> dict:
        out = {"phase": self.phase, "elapsed_s": round(time.monotonic() - self.started, 1)}
        if self.total:
            out.update(done=self.done, total=self.total)
        return out

    def line(self) -> str:
        count = f" {self.done:,}/{self.total:,}" if self.total else ""
        return f"{self.phase}{count}"


class Heartbeat:
    """Prints ``  ... <what> (<n> s)`` every ``every`` seconds while the block runs."""

    def __init__(
        self,
        what: str,
        every: float = HEARTBEAT_S,
        out: Callable[[str], None] | None = None,
        detail: Callable[[], str] | None = None,
    ) -> None:
        self.what = what
        self.detail = detail
        self.every = every
        self.out = out or (lambda line: print(line, flush=True))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            now = f": {self.detail()}" if self.detail else ""
            self.out(f"  ... {self.what}{now} ({time.monotonic() - self.started:.0f} s)")

    def __enter__(self) -> Heartbeat:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="kizuki-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


@contextlib.contextmanager
def building(
    settings: Settings, what: str = "loading the search index and the knowledge graph"
) -> Iterator[None]:
    """A spinner with the elapsed time on stderr while the block runs (terminals only);
    ``settings`` say where the index is (a first build says it takes a while)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    hint = (
        "" if has_saved_index(settings) else " (the first run embeds every case: a minute or two)"
    )
    started = time.monotonic()
    with console.status(f"{what}{hint}…") as status:
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(1.0):
                status.update(f"{what}{hint}… {time.monotonic() - started:.0f} s")

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
