"""Request dependencies: the one way routes (JSON and the web page's) get shared state.

The service, the settings, the current snapshot (taken once per request), the analysts'
judgements, the bounded pool searches run on, and the API-key checks. No route reads
``app.state`` itself (below the routes, the error handlers and the JSON body parser read
the app's settings and error renderer).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, Request
from kizuki.api.http.errors import ApiError
from kizuki.api.http.workpool import WorkPool
from kizuki.api.runtime.judgements import JudgementBook
from kizuki.api.runtime.service import KizukiService
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.settings import Settings

__all__ = [
    "JudgementsDep",
    "KeyHeld",
    "PoolDep",
    "ServiceDep",
    "SettingsDep",
    "SnapshotDep",
    "WriteAccess",
    "holds_api_key",
    "require_api_key",
]


def get_service(request: Request) -> KizukiService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_pool(request: Request) -> WorkPool:
    """The bounded pool searches and reviews run on (503 when it is full)."""
    return request.app.state.search_pool


def get_snapshot(service: Annotated[KizukiService, Depends(get_service)]) -> Snapshot:
    """The snapshot this request works on, taken once so it never changes mid-request
    (``ServiceNotReady`` while the service starts: 503 ``starting``)."""
    return service.snapshot


def get_judgements(service: Annotated[KizukiService, Depends(get_service)]) -> JudgementBook:
    return service.judgements


def require_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    x_api_key: Annotated[str | None, Header(description="API key for writes")] = None,
    authorization: Annotated[str | None, Header(description="`Bearer <API key>`")] = None,
) -> None:
    """Writes need the configured key (``X-API-Key`` or ``Authorization: Bearer``).

    With no key configured, writes are refused outright rather than left open.
    """
    if settings.api_key is None or not settings.api_key.get_secret_value():
        raise ApiError(
            403, "writes_disabled", "writes are disabled: the server has no API key configured"
        )
    given = x_api_key
    if given is None and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
    if not given:
        raise ApiError(
            401,
            "missing_api_key",
            "this endpoint needs an API key (X-API-Key header or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = settings.api_key.get_secret_value()
    if not secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(403, "invalid_api_key", "the API key is not valid")


def holds_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    x_api_key: Annotated[str | None, Header(description="API key (optional here)")] = None,
    authorization: Annotated[str | None, Header(description="`Bearer <API key>`")] = None,
) -> bool:
    """Whether the request carries the configured key (never raises: for reads whose
    answer is fuller with the key, such as the analysts' judgements behind a result)."""
    try:
        require_api_key(settings, x_api_key, authorization)
    except ApiError:
        return False
    return True


ServiceDep = Annotated[KizukiService, Depends(get_service)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[WorkPool, Depends(get_pool)]
JudgementsDep = Annotated[JudgementBook, Depends(get_judgements)]
WriteAccess = Depends(require_api_key)
#: True when the request carries the API key (see ``holds_api_key``).
KeyHeld = Annotated[bool, Depends(holds_api_key)]
