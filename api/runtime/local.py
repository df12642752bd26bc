"""The runtime in a process without a server: the CLI, scripts and notebooks.

``local_service(settings)`` is a started ``KizukiService`` for the settings' store: the
service ``kizuki serve`` runs, so the CLI, the API and the evaluation see one index, one
graph and one ranking, built by one code path. There is one per configuration and
process; each later call first takes in what another process wrote to the store since
(``refresh_if_stale``: new cases, new judgements), so repeated calls cost nothing until the
store changes. ``local_snapshot`` is its current snapshot.
"""

from __future__ import annotations

import threading

from kizuki.api.runtime.loader import embedder_key
from kizuki.api.runtime.service import KizukiService
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.settings import Settings

__all__ = ["local_service", "local_snapshot"]

_lock = threading.Lock()
_services: dict[tuple, KizukiService] = {}


def _key(settings: Settings) -> tuple:
    """What makes two settings serve the same snapshot: the store, the data dir (its saved
    index and graph), the ranking's weights and the models."""
    ranker = str(settings.ranker_file) if settings.ranker_file else None
    where = (str(settings.data_dir), settings.database_url, str(settings.embedding_cache_dir))
    return (*where, ranker, *embedder_key(settings))


def local_service(settings: Settings) -> KizukiService:
    """The started service for these settings (the store seeded with the bundled corpus on
    first use, the index and graph loaded or built), up to date with the store."""
    key = _key(settings)
    with _lock:
        service = _services.get(key)
        if service is None:
            service = KizukiService(settings)
            service.start()
            _services[key] = service
        else:
            service.refresh_if_stale()
            service.judgements.refresh_if_stale()
        return service


def local_snapshot(settings: Settings) -> Snapshot:
    """Everything served for the store's current cases: index, ranker, graph, extractor."""
    return local_service(settings).snapshot
