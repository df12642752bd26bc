"""The FastAPI application: the JSON API (``api.http``), OpenAPI docs at /docs and /redoc
(served locally), and the web page at / (``api.web``), over one ``KizukiService``
(``api.runtime``). The one module that assembles them: ``kizuki serve`` runs what
``create_app`` returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from kizuki.api import web
from kizuki.api.http import ROUTERS
from kizuki.api.http.connections import quiet_accept_errors
from kizuki.api.http.docs import install_docs
from kizuki.api.http.errors import install_error_handlers
from kizuki.api.http.middlewares import (
    BodySizeLimitMiddleware,
    CatchAllMiddleware,
    MethodsMiddleware,
    RateLimitMiddleware,
)
from kizuki.api.http.openapi import declare_limits
from kizuki.api.http.workpool import WorkPool
from kizuki.api.runtime.progress import Heartbeat, start_message
from kizuki.api.runtime.service import KizukiService
from kizuki.corpus.settings import Settings, get_settings
from kizuki.corpus.store import StoreUnavailable
from starlette.concurrency import run_in_threadpool

__all__ = ["create_app"]

log = logging.getLogger("kizuki.api")

STATIC_DIR = Path(__file__).parent / "static"

#: How often the server looks for writes made to the store by another process (seconds).
#: A PostgreSQL store also notifies every server of each write, at once; this is the
#: fallback (and SQLite's only way).
REFRESH_INTERVAL_S = 5.0

DESCRIPTION = """
Similar-incident search and a cause ↔ countermeasure knowledge graph over the IT-system
failure cases that Japanese financial institutions reported to the FSA (2019).

* Every error is a JSON body `{"error": {"code", "message"}}` with a 4xx/5xx status.
* Limits (the values in force are in this schema and in `GET /health`): request body
  2,000,000 bytes (413 above), JSON nesting depth 32 (400 above), search text 5,000
  characters (of which the first 1,500 characters / 16 sentences are analysed), `k`
  1..100 (an integer), 1,000 cases per `POST /cases`, page size 200, graph depth 3 (422
  above). Text must not contain control characters (other than tab and line breaks) or
  lone surrogates (422). Case ids: 1-64 of `[A-Za-z0-9_.-]`, starting with a letter or
  digit, never starting with `cause.`, `cm.`, `sector.` or `theme.` (422).
* Clients without the API key get 600 requests a minute per address (429 with
  `Retry-After` above). Searches run on a bounded pool: when it is full, or a search
  takes over 30 s, the answer is 503 with `Retry-After`.
* Writes (`POST /cases`, `DELETE /cases/{id}`) need the API key configured with
  `KIZUKI_API_KEY`, sent as `X-API-Key` or `Authorization: Bearer`; without a configured
  key the server refuses writes.
* Analysts' judgements (`POST /feedback`) need the key too, unless the server runs with
  `KIZUKI_ANONYMOUS_FEEDBACK=true`; reading them (`GET /feedback`) needs the key.
"""


def create_app(settings: Settings | None = None, service: KizukiService | None = None) -> FastAPI:
    """Build the app; the service starts (store seeded, index and graph ready) on startup."""
    settings = settings or get_settings()
    # Judged before the service opens (and so creates) the store.
    preparing = start_message(settings)
    service = service or KizukiService(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = getattr(app.state, "public_url", None)
        loop, wake = asyncio.get_running_loop(), asyncio.Event()
        tasks: list[asyncio.Task] = []
        listeners: list = []

        async def follow_the_store() -> None:
            listeners.append(service.store.listen(lambda: loop.call_soon_threadsafe(wake.set)))
            wake.set()  # a write another server made while this one was starting
            tasks.append(asyncio.create_task(_refresh_loop(service, wake)))

        if url:
            quiet_accept_errors(loop)
            # kizuki serve: listen at once; /health answers 503 "building" with progress
            # until the store, index and graph are ready.
            # app.state.stop_server is set by kizuki serve: it ends uvicorn's loop, no signal
            stop = getattr(app.state, "stop_server", None) or (
                lambda: os.kill(os.getpid(), signal.SIGTERM)
            )
            tasks.append(
                asyncio.create_task(_start_serving(service, url, preparing, follow_the_store, stop))
            )
        else:
            await run_in_threadpool(service.start)
            await follow_the_store()
        try:
            yield
        finally:
            for listener in listeners:
                if listener is not None:
                    listener.stop()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            app.state.search_pool.shutdown()
            await run_in_threadpool(service.flush, 120)  # the newest snapshot, saved

    app = FastAPI(
        title="Kizuki (気づき) API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.http.docs from local assets, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.search_pool = WorkPool(
        settings.search_workers,
        settings.search_queue,
        settings.search_timeout_s,
        long_workers=settings.search_long_workers,
        long_chars=settings.search_long_chars,
    )
    # Added innermost first: the last one added wraps all the others.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        timeout_s=settings.body_timeout_s,
    )
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(CatchAllMiddleware)
    install_error_handlers(app)

    for router in ROUTERS:
        app.include_router(router)
    web.install(app)
    install_docs(app)  # mounts /static/docs: before /static
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    declare_limits(app, settings)
    return app


async def _start_serving(
    service: KizukiService,
    url: str,
    preparing: str,
    then: Callable[[], Awaitable[None]],
    stop: Callable[[], None],
) -> None:
    """Start the service while the port already answers; stop the server if it cannot."""
    print(preparing, flush=True)
    try:
        with Heartbeat(
            "still preparing the case store, search index and graph",
            detail=service.progress.line,
        ) as beat:
            snap = await run_in_threadpool(service.start)
    except Exception as exc:  # nothing to serve: say why and stop (exit status 1)
        log.debug("the service could not start", exc_info=True)
        service.start_error = f"{type(exc).__name__}: {exc}"
        print(f"error: Kizuki could not start: {service.start_error}", file=sys.stderr, flush=True)
        stop()
        return
    print(f"Kizuki: {len(snap.cases)} cases ready in {beat.seconds:.0f} s", flush=True)
    print(f"Kizuki is ready: {url}  (API docs: {url}docs)", flush=True)
    await then()


async def _refresh_loop(service: KizukiService, wake: asyncio.Event) -> None:
    """Serve writes that other processes (other servers, ``kizuki corpus import``) commit to
    the store: when the store says so (``wake``), else every ``REFRESH_INTERVAL_S``."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), REFRESH_INTERVAL_S)
        wake.clear()  # notifications that arrive during the refresh wake the next round
        try:
            await run_in_threadpool(service.refresh_if_stale)
            await run_in_threadpool(service.judgements.refresh_if_stale)
            service.store_answered()
        except StoreUnavailable as exc:  # e.g. PostgreSQL restarting: the next round retries
            service.store_failed(exc)
            log.warning("cannot look for new writes: %s", exc)
        except Exception:  # keep serving the current snapshot; the log has the details
            log.exception("refreshing from the store failed")
