"""The FastAPI application: JSON API, OpenAPI docs at /docs, and the web page at /."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.limits import BodySizeLimitMiddleware
from api.routers import analytics, cases, concepts, export, graph, health, search, web
from api.service import KizukiService
from corpus.settings import Settings, get_settings

log = logging.getLogger("kizuki.api")

STATIC_DIR = Path(__file__).parent / "static"

#: How often the server looks for writes made to the store by another process (seconds).
REFRESH_INTERVAL_S = 5.0

DESCRIPTION = """
Similar-incident search and a cause ↔ countermeasure knowledge graph over the IT-system
failure cases that Japanese financial institutions reported to the FSA (2019).

* Every error is a JSON body `{"error": {"code", "message"}}` with a 4xx/5xx status.
* Limits (defaults; see `GET /health` for the values in force): request body 2,000,000
  bytes (413 above), search text 5,000 characters, `k` 1..100, 1,000 cases per
  `POST /cases`, page size 200, graph depth 3 (422 above).
* Writes (`POST /cases`, `DELETE /cases/{id}`) need the API key configured with
  `KIZUKI_API_KEY`, sent as `X-API-Key` or `Authorization: Bearer`; without a configured
  key the server refuses writes.
"""


def create_app(settings: Settings | None = None, service: KizukiService | None = None) -> FastAPI:
    """Build the app; the service starts (store seeded, index and graph ready) on startup."""
    settings = settings or get_settings()
    service = service or KizukiService(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        url = getattr(app.state, "public_url", None)
        if url:
            print(f"Kizuki is ready: {url}  (API docs: {url}docs)", flush=True)
        refresher = asyncio.create_task(_refresh_loop(service))
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher

    app = FastAPI(
        title="Kizuki (気づき) API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    install_error_handlers(app)

    for module in (health, search, cases, concepts, graph, analytics, export):
        app.include_router(module.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _refresh_loop(service: KizukiService) -> None:
    """Serve writes that other processes (e.g. ``kizuki corpus import``) commit to the store."""
    while True:
        await asyncio.sleep(REFRESH_INTERVAL_S)
        try:
            await run_in_threadpool(service.refresh_if_stale)
        except Exception:  # keep serving the current snapshot; the log has the details
            log.exception("refreshing from the store failed")
