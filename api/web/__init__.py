"""Kizuki's web page: server-rendered pages over the runtime (``api.runtime``), in Japanese
and English, with an HTML error page for its own paths.

``install(app)`` adds the page's routes to an app and registers its error renderer with the
HTTP layer. Templates are in ``api/templates``, scripts, styles and fonts in ``api/static``
(served by the app at ``/static``).
"""

from __future__ import annotations

from fastapi import FastAPI
from kizuki.api.http.errors import set_page_errors
from kizuki.api.web.render import page_error
from kizuki.api.web.routes import router

__all__ = ["install", "page_error", "router"]


def install(app: FastAPI) -> None:
    """The page's routes, and its error page for the requests of its paths."""
    app.include_router(router)
    set_page_errors(app, page_error)
