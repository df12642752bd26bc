"""HTTP routers, one module per area (FastAPI's tutorial layout); ``ROUTERS`` in the order
the app includes them."""

from __future__ import annotations

from kizuki.api.http.routers import (
    analytics,
    cases,
    chains,
    concepts,
    export,
    feedback,
    graph,
    health,
    review,
    search,
)

__all__ = ["ROUTERS"]

ROUTERS = tuple(
    module.router
    for module in (
        health,
        search,
        review,
        feedback,
        cases,
        chains,
        concepts,
        graph,
        analytics,
        export,
    )
)
