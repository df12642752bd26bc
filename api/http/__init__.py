"""Kizuki's JSON API over HTTP: routers (one module per area, in ``routers``), the one
dependencies module they get shared state from, the error bodies and the runtime errors'
statuses, the middlewares that bound each request, and the OpenAPI schema. The domain is
the runtime's (``api.runtime``); ``api.app`` assembles this, the web page and the docs.
"""

from __future__ import annotations

from kizuki.api.http.errors import ApiError, error_response, install_error_handlers, set_page_errors
from kizuki.api.http.routers import ROUTERS

__all__ = ["ROUTERS", "ApiError", "error_response", "install_error_handlers", "set_page_errors"]
