"""The API docs pages (``/docs``: Swagger UI, ``/redoc``: ReDoc), served without a CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and ReDoc its fonts from Google
Fonts), so on a machine without outside network ``/docs`` was a blank page. The assets
come from the ``fastapi-offline`` package (MIT; it ships Swagger UI's and ReDoc's release
bundles) and are served from ``/static/docs/``. The pages are FastAPI's, pointed at those
files, with Google Fonts off and Swagger UI's online validator badge off (it would send
the schema's URL to validator.swagger.io). A Content-Security-Policy keeps both pages on
this server: ReDoc's "API docs by Redocly" link carries a logo from cdn.redoc.ly, which is
refused (ReDoc then drops the image) instead of fetched.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
    swagger_ui_default_parameters,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the docs' assets are served (under ``/static/``: not rate limited).
ASSETS_URL = "/static/docs"
FAVICON_URL = "/static/favicon.svg"
#: The docs pages run inline start-up scripts (FastAPI's templates); everything they load
#: comes from this server. ReDoc's search runs in a worker made from a blob.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


#: The schema's Japanese (the title, examples) in the app's font where the machine has no
#: Japanese font: it is added after each page's own fonts, so it only fills the gaps.
FONT_HEAD = (
    '<link rel="stylesheet" href="/static/fonts/kizuki-gothic.css">'
    "<style>"
    "body, body *:not(pre):not(code):not(pre *):not(code *) "
    '{ font-family: sans-serif, "Kizuki Gothic" !important; }'
    'pre, code, pre *, code * { font-family: monospace, "Kizuki Gothic" !important; }'
    "</style>"
)


def _local(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode("utf-8").replace("</head>", FONT_HEAD + "</head>", 1)
    response = HTMLResponse(html, status_code=page.status_code)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def assets_dir() -> Path:
    """The folder of ``swagger-ui-bundle.js``, ``swagger-ui.css`` and ``redoc.standalone.js``."""
    return Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, its OAuth2 redirect page and ``/redoc``; the app must be created with
    ``docs_url=None, redoc_url=None``. Mount before any ``/static`` mount."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
    parameters = {**swagger_ui_default_parameters, "validatorUrl": None}

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _local(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=redirect_url,
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=FAVICON_URL,
                swagger_ui_parameters=parameters,
            )
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _local(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=FAVICON_URL,
                with_google_fonts=False,
            )
        )
