"""Rendering of the web page: one Jinja2 environment with autoescape always on, the page's
addresses, and its error page.

Every piece of case text reaches the browser through ``{{ … }}`` and is escaped, so a case
holding ``<script>`` shows it as text. No template uses ``|safe``. ``page_error`` is the
error renderer the page registers with the HTTP layer (``api.http.errors``): a failed
request of the page's own paths gets the error page in its language, every other the JSON
body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from kizuki.api.runtime.reads import distinct_evidence
from kizuki.api.web.errors import error_message
from kizuki.api.web.i18n import (
    DEFAULT_LANG,
    EXAMPLES,
    LANGS,
    facet_label,
    node_label,
    sector_name,
    theme_name,
    translator,
)

__all__ = [
    "DEFAULT_K",
    "is_page_request",
    "node_url",
    "page_error",
    "page_lang",
    "render",
    "search_url",
]

#: The templates stay beside the static files, in ``api/templates``.
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
LANG_COOKIE = "kizuki_lang"
#: How many similar cases a search shows unless the address says otherwise.
DEFAULT_K = 10
#: The longest search address a form sends by GET; a longer text is posted instead
#: (uvicorn's HTTP parser refuses a request head over 16 KiB, and a Japanese character
#: takes 9 characters in a URL).
MAX_SEARCH_URL = 8000

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _probability(value: float) -> str:
    """A probability as a percentage that never claims certainty: 0.998 is "99%", not 100%."""
    pct = value * 100
    shown = min(round(pct), 99) if pct < 100 else 100
    shown = max(shown, 1) if pct > 0 else 0
    return f"{shown}%"


_env.filters["percent"] = _percent
_env.filters["probability"] = _probability


def page_lang(request: Request) -> str:
    """``?lang=`` wins (and is remembered in a cookie), then the cookie, then Japanese."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return lang if lang in LANGS else DEFAULT_LANG


def node_url(node_id: str, node_type: str) -> str:
    """The page of a graph node (sectors and themes go to the filtered case list)."""
    if node_type == "case":
        return f"/ui/cases/{quote(node_id, safe='')}"
    if node_type == "cause":
        return f"/ui/causes/{quote(node_id, safe='')}"
    if node_type == "countermeasure":
        return f"/ui/countermeasures/{quote(node_id, safe='')}"
    if node_type == "sector":
        return "/ui/analytics?" + urlencode({"sector": node_id})
    if node_type == "theme":
        return "/ui/analytics?" + urlencode({"theme": node_id})
    return "/"


def search_url(text: str, sector: str = "", theme: str = "", k: int = DEFAULT_K) -> str:
    """The address of a search (what the form's GET submits)."""
    params = {"q": text}
    if sector:
        params["sector"] = sector
    if theme:
        params["theme"] = theme
    if k != DEFAULT_K:
        params["k"] = str(k)
    return "/?" + urlencode(params)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    other = "en" if lang == "ja" else "ja"
    query = dict(request.query_params)
    query["lang"] = other
    html = _env.get_template(template).render(
        request=request,
        lang=lang,
        t=t,
        label=lambda node: node_label(node, lang),
        sector_name=lambda s: sector_name(s, lang),
        facet_label=lambda f: facet_label(f, lang),
        theme_name=lambda th: theme_name(th.id, th.label, lang) if th else "",
        node_url=node_url,
        switch_lang_url=f"{request.url.path}?{urlencode(query)}",
        path=request.url.path,
        examples=EXAMPLES,
        search_url=search_url,
        distinct_evidence=distinct_evidence,
        max_url=MAX_SEARCH_URL,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    # The page loads only its own scripts and styles; inline script is never needed.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def is_page_request(request: Request) -> bool:
    """Requests of the HTML page get HTML errors; everything else gets JSON."""
    path = request.url.path
    return path == "/" or path.startswith("/ui")


def page_error(
    request: Request,
    status: int,
    code: str,
    message: str,
    params: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> HTMLResponse | None:
    """The error page for a request of the page's paths, worded in the page's language
    (``api.web.errors``); None for any other (the HTTP layer then answers with the JSON
    error body)."""
    if not is_page_request(request):
        return None
    text = error_message(page_lang(request), status, code, message, params, errors)
    return render(request, "error.html", status_code=status, status=status, code=code, message=text)
