"""The web page in a real headless browser (Debian's chromium driven by Playwright).

Paste an incident and read the results; walk cause → countermeasure → case → cause; the
graph view draws; a case holding markup stays inert text. Screenshots of each step are
written to ``tests/artifacts/`` (git-ignored) for a person to look at.

The browser sees none of the machine's Japanese, Chinese or Korean fonts (its fontconfig
lists only the others), as on a bare machine: Japanese must render in the font the app
serves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
from kizuki.graph.chains import load_chains
from kizuki_http import ARTIFACTS, make_case

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (scripts/test.sh installs it)",
)

INCIDENT = (
    "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMや窓口の取引が"
    "できなかった。前日のプログラム変更のテストが不十分だった。"
)
XSS_ID = "xss-browser-1"


def _fc_files(*pattern: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        ["fc-list", "--format", "%{file}\n", *pattern],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return {line for line in out.splitlines() if line}


@pytest.fixture(scope="module")
def fontless_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose fontconfig offers the machine's fonts minus every font that
    covers Japanese, Chinese or Korean (checked with fc-list)."""
    root = tmp_path_factory.mktemp("fontless")
    fonts = root / "fonts"
    fonts.mkdir()
    if shutil.which("fc-list"):
        cjk = set().union(*(_fc_files(f":lang={lang}") for lang in ("ja", "zh-cn", "zh-tw", "ko")))
        for i, path in enumerate(sorted(_fc_files() - cjk)):
            (fonts / f"{i:03d}-{Path(path).name}").symlink_to(path)
    conf = root / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>'
        f"<dir>{fonts}</dir><cachedir>{root / 'cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    if shutil.which("fc-list"):
        assert not _fc_files(":lang=ja", env=env), "the test browser must have no Japanese font"
    return env


@pytest.fixture(scope="module")
def browser(fontless_env):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=fontless_env)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, server):
    """``open_page(**context_options)``: a new page in its own browser context (its own
    cookies and viewport). Nothing may leave the machine: a request to another host, a
    console error or a dialog fails the test (a test lists the errors it expects in
    ``page.allowed_errors``). ``base_url`` may name another server (e.g. a spawned one)."""
    opened = []

    def _open(**options):
        options = {
            "viewport": {"width": 1360, "height": 900},
            "locale": "ja-JP",
            "base_url": server.url,
            **options,
        }
        base = options["base_url"]
        context = browser.new_context(**options)
        outside: list[str] = []

        def guard(route):
            url = route.request.url
            if url.startswith(base):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        pg = context.new_page()
        pg.set_default_timeout(120_000)  # a loaded 2-core CI machine can be slow to search
        pg.allowed_errors = []  # substrings of console errors a test expects
        problems: list[str] = []
        pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: problems.append(str(e)))
        pg.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
        opened.append((context, pg, outside, problems))
        return pg

    yield _open
    for context, pg, outside, problems in opened:
        context.close()
        assert not outside, f"requests left the machine: {outside}"
        unexpected = [m for m in problems if not any(a in m for a in pg.allowed_errors)]
        assert not unexpected, f"browser errors: {unexpected}"


@pytest.fixture
def page(open_page):
    return open_page()


def shot(pg, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def wait_for_graph(pg) -> int:
    panel = pg.locator(".graph-panel").first
    pg.wait_for_selector(".graph-panel[data-ready]")
    assert panel.get_attribute("data-ready") == "1", panel.inner_text()
    assert pg.locator(".graph-panel canvas").count() > 0
    drawn = pg.evaluate("document.querySelector('.graph-panel')._cy.nodes().length")
    assert drawn == int(panel.get_attribute("data-nodes")) and drawn > 1
    return drawn


def test_paste_an_incident_and_see_explained_results(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "類似事例検索"
    page.fill("textarea[name=q]", INCIDENT)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results")
    results = page.locator("#results article.result")
    assert results.count() == 10
    first = results.first
    assert first.locator("mark").count() > 0, "shared terms are highlighted"
    assert first.locator(".chip-cause").count() > 0, "the case's causes link to cause pages"
    assert page.locator("#likely-causes li .chip-cause").count() > 0
    assert page.locator("#likely-causes .evidence").count() > 0
    assert page.locator("#recommended-countermeasures li .chip-countermeasure").count() > 0
    assert page.locator("textarea[name=q]").input_value() == INCIDENT
    shot(page, "search-results")

    page.goto("/?lang=en")
    assert page.locator("h1").inner_text() == "Find similar incidents"
    page.goto("/ui/causes")  # the choice is remembered
    assert page.locator("h1").inner_text() == "Cause concepts"
    page.goto("/?lang=ja")


def test_walk_cause_countermeasure_case_cause(page):
    page.goto("/ui/causes")
    page.locator(".concept-group tbody a").first.click()
    page.wait_for_selector("#linked-concepts")
    cause_title = page.locator("h1").inner_text()
    assert page.locator("p.kind-cause").count() == 1
    wait_for_graph(page)
    shot(page, "cause-page")

    page.locator("#linked-concepts .chip-countermeasure").first.click()
    page.wait_for_selector("p.kind-countermeasure")
    cm_url = page.url
    assert "/ui/countermeasures/" in cm_url
    # The countermeasure page lists the cause we came from among the causes it addresses.
    assert cause_title in page.locator("#linked-concepts").inner_text()
    shot(page, "countermeasure-page")

    page.locator("#concept-cases a.case-link").first.click()
    page.wait_for_selector("article[data-case-id]")
    assert "/ui/cases/" in page.url
    case_id = page.locator("article[data-case-id]").get_attribute("data-case-id")
    assert page.locator("#case-causes li").count() > 0
    shot(page, "case-page")

    page.locator("#case-causes .chip-cause").first.click()
    page.wait_for_selector("p.kind-cause")
    assert case_id in page.locator("#concept-cases").inner_text(), "the cause lists the case"


def test_graph_view_draws_the_neighbourhood(page):
    page.goto("/ui/graph?node=fsa2019-07&depth=2")
    drawn = wait_for_graph(page)
    assert drawn > 10
    # Clicking a node shows its label and a link to its page.
    page.evaluate("document.querySelector('.graph-panel')._cy.$id('fsa2019-07').emit('tap')")
    info = page.locator(".graph-info")
    assert info.is_visible() and "fsa2019-07" in info.inner_text()
    assert info.locator("a").get_attribute("href") == "/ui/cases/fsa2019-07"
    shot(page, "graph-view")


def test_recurring_causes_chart_filters_by_sector(page):
    page.goto("/ui/analytics")
    bars = page.locator("#recurring-chart .barrow")
    assert bars.count() > 5
    widths = [float(bars.nth(i).locator("rect.bar-fg").get_attribute("width")) for i in range(3)]
    assert widths[0] == 100.0 and widths == sorted(widths, reverse=True)
    everything = page.locator("#analytics-filter .muted").inner_text()
    page.select_option("select[name=sector]", "地域銀行")
    page.click("#analytics-filter button")
    page.wait_for_url("**/ui/analytics?*")
    assert page.locator("#analytics-filter .muted").inner_text() != everything
    assert page.locator("#recurring-chart .barrow").count() > 0
    shot(page, "analytics")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_analytics_names_the_coverage_table_and_opens_the_rest(page, lang):
    """Issue 22: the table of causes whose cases rarely record a countermeasure is named
    for what it shows (not "without one") with each rate, and "N more" opens the rest."""
    page.goto(f"/ui/analytics?lang={lang}")
    coverage = page.locator("#coverage")
    heading = coverage.locator("h2").inner_text()
    assert heading == (
        "対策の記録が少ない原因" if lang == "ja" else "Causes with few recorded countermeasures"
    )
    rows = coverage.locator("tbody tr")
    assert rows.count() > 0
    for i in range(rows.count()):
        rate = float(rows.nth(i).get_attribute("data-coverage"))
        assert 0 <= rate < 1
        assert rows.nth(i).locator("td.num").last.inner_text().endswith("%")
    # The recurring chart's "N more" is a control that shows the N other causes.
    more = page.locator("#recurring-more")
    summary = more.locator("summary").inner_text()
    hidden = int("".join(ch for ch in summary if ch.isdigit()))
    assert hidden > 0
    assert page.locator("#recurring-chart .barrow:visible").count() == 25
    more.locator("summary").click()
    assert more.locator(".barrow:visible").count() == hidden
    assert page.locator("#recurring-chart .barrow:visible").count() == 25 + hidden
    shot(page, f"analytics-more-{lang}")


NAV_ON_SCREEN = """
() => {
  const W = window.innerWidth, nav = document.querySelector('.mainnav');
  const links = [...nav.querySelectorAll('a')].map(a => {
    const r = a.getBoundingClientRect();
    return {text: a.textContent, href: a.getAttribute('href'),
            inside: r.width > 0 && r.left >= 0 && r.right <= W && r.top >= 0};
  });
  return {links, navScrolls: nav.scrollWidth > nav.clientWidth,
          pageScrolls: document.scrollingElement.scrollWidth > W};
}
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_nav_link_is_on_a_phone_screen(open_page, lang):
    """Issue 22: at 390 px the nav hid 分析 and グラフ past the right edge (a row that
    scrolled sideways, with no cue); every link is on screen without scrolling sideways."""
    phone = open_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    for path in ("/", "/ui/analytics", "/ui/graph?node=fsa2019-07"):
        phone.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        got = phone.evaluate(NAV_ON_SCREEN)
        assert len(got["links"]) == 7
        assert all(link["inside"] for link in got["links"]), got["links"]
        assert not got["navScrolls"] and not got["pageScrolls"], (path, got)
    shot(phone, f"phone-nav-{lang}", full_page=False)
    # The graph is one list there, still readable, the centre's label whole.
    assert_readable(phone, f"phone graph ({lang})")
    shown, full = phone.evaluate(CENTRE_LABEL)
    assert shown.replace("\n", "").replace(" ", "") == full.replace(" ", ""), (shown, full)
    phone.locator(".graph-panel").scroll_into_view_if_needed()
    shot(phone, f"phone-graph-{lang}", full_page=False)
    analytics = "分析" if lang == "ja" else "Analytics"
    phone.locator(".mainnav a", has_text=analytics).click()
    phone.wait_for_url("**/ui/analytics")
    graph = "グラフ" if lang == "ja" else "Graph"
    phone.locator(".mainnav a", has_text=graph).click()
    phone.wait_for_url("**/ui/graph")


def test_a_case_holding_markup_stays_inert(page, writer, server):
    payload = make_case(
        XSS_ID,
        "エックスエスエス",
        title="<script>window.__xss = 1; alert('xss')</script>勘定系停止",
        event='<img src=x onerror="window.__xss = 2"> 夜間バッチの異常終了で勘定系が停止した。',
        causes=["<b onmouseover=alert(3)>作業手順書</b> の記載不備"],
    )
    assert writer.post("/cases", json=payload).status_code == 201
    try:
        page.goto(f"/ui/cases/{XSS_ID}")
        assert page.locator("h1").inner_text().startswith("<script>")
        assert "<img src=x" in page.locator("article").inner_text()
        assert page.locator("article img").count() == 0
        assert page.locator("article b").count() == 0
        wait_for_graph(page)
        assert page.evaluate("window.__xss") is None
        shot(page, "xss-case")

        page.goto("/")
        page.fill(
            "textarea[name=q]",
            '<img src=x onerror="window.__xss = 3"> 夜間バッチの異常終了で勘定系が停止した',
        )
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#results")
        assert XSS_ID in page.locator("#results").inner_html()
        assert page.locator("#results img").count() == 0
        assert page.evaluate("window.__xss") is None
        shot(page, "xss-search")
    finally:
        writer.delete(f"/cases/{XSS_ID}")


def test_error_pages_are_html(page):
    page.allowed_errors.append("status of 404")
    response = page.goto("/ui/cases/does-not-exist")
    assert response.status == 404
    assert "does-not-exist" in page.locator(".error-message").inner_text()
    assert page.locator("nav.mainnav a").count() == 7  # the full navigation, review included


def test_api_docs_render_offline(page):
    """Swagger UI and ReDoc come from the app: no CDN, no Google Fonts, no validator badge
    (the page fixture fails the test on any request to another host)."""
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() >= 15
    assert "Kizuki" in page.locator(".swagger-ui .info .title").inner_text()
    # An operation opens with its documented limits.
    page.locator(".opblock-summary-path", has_text="/search").first.click()
    page.wait_for_selector(".opblock.is-open")
    shot(page, "api-docs", full_page=False)

    # ReDoc's footer logo lives on cdn.redoc.ly; the page's CSP refuses it (ReDoc then
    # drops the image), so nothing is requested from outside.
    page.allowed_errors.append("cdn.redoc.ly")
    page.goto("/redoc")
    page.wait_for_selector(".api-content h1")
    assert "Kizuki" in page.locator(".api-content h1").first.inner_text()
    assert page.locator(".menu-content [role=menuitem]").count() >= 10
    shot(page, "api-redoc", full_page=False)


def result_ids(pg) -> list[str]:
    cards = pg.locator("#results article.result")
    return [cards.nth(i).get_attribute("data-case-id") for i in range(cards.count())]


def test_a_search_is_in_its_address_and_can_be_shared(page, open_page):
    from urllib.parse import parse_qs, urlsplit

    page.goto("/")
    page.fill("textarea[name=q]", INCIDENT)
    page.select_option("select[name=k]", "5")
    page.select_option("select[name=sector]", "地域銀行")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results")
    query = parse_qs(urlsplit(page.url).query)
    assert query["q"] == [INCIDENT] and query["k"] == ["5"] and query["sector"] == ["地域銀行"]
    ids = result_ids(page)
    assert 0 < len(ids) <= 5
    assert all("地域銀行" in t for t in page.locator("#results .meta").all_inner_texts())
    share = page.locator("#share-link").get_attribute("href")
    assert parse_qs(urlsplit(share).query) == query
    assert page.evaluate("window.scrollY") == 0, "a wide screen keeps the form in view"

    # The address alone gives the same search in another browser (bookmark, shared link),
    # and on a phone-sized screen the results are scrolled into view.
    phone = open_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(share)
    phone.wait_for_selector("#results")
    assert result_ids(phone) == ids
    assert phone.locator("textarea[name=q]").input_value() == INCIDENT
    assert phone.locator("select[name=k]").input_value() == "5"
    assert phone.locator("select[name=sector]").input_value() == "地域銀行"
    assert phone.evaluate("window.scrollY") > 300
    top = phone.evaluate("document.getElementById('results-top').getBoundingClientRect().top")
    assert 0 <= top < 200, top
    shot(phone, "search-results-phone", full_page=False)

    # ?text= is the same search; an example is a link to its search.
    page.goto("/?" + urlencode({"text": INCIDENT, "k": "5", "sector": "地域銀行"}))
    assert result_ids(page) == ids
    page.goto("/")
    example = page.locator(".example-list a.example").first
    example_text = example.inner_text()
    example.click()
    page.wait_for_selector("#results")
    assert parse_qs(urlsplit(page.url).query)["q"] == [example_text]


def test_a_text_too_long_for_an_address_is_posted(page):
    long_text = (INCIDENT * 40)[:4000]  # over 8,000 characters once percent-encoded
    page.goto("/")
    page.fill("textarea[name=q]", long_text)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results")
    assert urlsplit_path(page.url) == "/" and "q=" not in page.url
    assert page.locator("#results article.result").count() == 10
    assert page.locator("textarea[name=q]").input_value() == long_text


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def test_messages_on_the_japanese_page_are_japanese(page):
    import re

    english = re.compile(r"[A-Za-z]{3,}")
    page.allowed_errors += ["status of 404", "status of 422", "status of 503"]
    page.goto("/?q=")
    message = page.locator(".form-error").inner_text()
    assert message == "障害の内容を入力してください。"
    page.goto("/ui/graph?node=nope")
    message = page.locator(".error-message").inner_text()
    assert "ノードはありません" in message and not english.search(message.replace("nope", ""))
    page.goto("/ui/cases?page=0")
    assert page.locator(".error-message").inner_text() == "ページ番号は 1 以上にしてください。"

    # A graph that cannot be fetched says so in Japanese; the info box names node kinds
    # in Japanese.
    page.route(
        "**/graph/neighbourhood/**",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"code": "graph_unavailable", "message": "the knowledge graph is not available"}}',
        ),
    )
    page.goto("/ui/graph?node=fsa2019-07")
    page.wait_for_selector(".graph-panel[data-ready=error]")
    text = page.locator(".graph-canvas").inner_text()
    assert text.startswith("グラフを表示できませんでした") and "not available" not in text
    page.unroute("**/graph/neighbourhood/**")
    page.goto("/ui/graph?node=fsa2019-07")
    wait_for_graph(page)
    page.evaluate("document.querySelector('.graph-panel')._cy.$id('fsa2019-07').emit('tap')")
    assert page.locator(".graph-info-kind").inner_text() == "事例 · fsa2019-07"
    shot(page, "graph-info-ja", full_page=False)


OUT_OF_SCOPE = (
    "ランサムウェアに感染し、ファイルサーバーのデータが暗号化された。犯行グループから"
    "身代金を要求する脅迫文が届いた。"
)
STRENGTH_JA = {
    "strong": "強い一致",
    "partial": "部分的な一致",
    "weak": "弱い一致",
    "none": "該当なし",
}


def test_the_page_explains_match_strength_and_scores(page):
    page.goto("/?" + urlencode({"q": INCIDENT}))
    box = page.locator("#match-strength")
    strength = box.get_attribute("data-strength")
    assert strength in ("strong", "partial", "weak")
    confidence = float(box.get_attribute("data-confidence"))
    badge = box.locator(".match-badge").first
    assert badge.inner_text() == STRENGTH_JA[strength]
    assert "確からしさ" in badge.get_attribute("title")
    shown = min(max(round(confidence * 100), 1), 99)
    assert f"{shown}%" in box.locator(".match-p").inner_text()
    assert page.locator("#no-good-match").count() == 0

    # The legend is folded until asked for; it says what each number means.
    legend = page.locator("#score-legend")
    assert not legend.locator("dl").is_visible()
    legend.locator("summary").click()
    assert legend.locator("dl").is_visible()
    text = legend.inner_text()
    assert "確率の推定値" in text and "別の検索の値とは比べられません" in text
    assert legend.locator("tr.current").count() == 1
    assert STRENGTH_JA[strength] in legend.locator("tr.current").inner_text()
    # Each number carries its own explanation as a tooltip.
    scores = page.locator("#results .score")
    assert "この検索内での相対値 (1位の 100%)" in scores.first.get_attribute("title")
    assert "1位の" in scores.nth(1).get_attribute("title")
    cause_tip = page.locator("#likely-causes .score-num").first.get_attribute("title")
    assert "入力文" in cause_tip and "類似事例" in cause_tip
    assert "割合" in page.locator("#recommended-countermeasures .score-num").first.get_attribute(
        "title"
    )
    shot(page, "search-legend")

    page.goto("/?" + urlencode({"q": OUT_OF_SCOPE}))
    box = page.locator("#match-strength")
    assert box.get_attribute("data-strength") == "none"
    assert box.locator(".match-badge").first.inner_text() == "該当なし"
    assert page.locator("#no-good-match").is_visible()
    assert page.locator("#results article.result").count() == 10  # closest cases still shown


def faces_loaded(pg) -> int:
    return pg.evaluate(
        "[...document.fonts].filter(f => f.family.replace(/\"/g, '') === 'Kizuki Gothic'"
        " && f.status === 'loaded').length"
    )


def drawn_with(pg, selector: str) -> list[dict]:
    """The fonts the browser drew an element's text with (DevTools protocol)."""
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_japanese_renders_in_the_apps_font_on_a_browser_without_one(page):
    page.goto("/")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.evaluate("document.fonts.check('16px \"Kizuki Gothic\"', '類似事例検索')")
    # Only the files holding the page's characters are fetched (most pages need one).
    assert 1 <= faces_loaded(page) <= 3
    fonts = drawn_with(page, "h1")
    assert fonts and all(f["isCustomFont"] and f["familyName"] == "Kizuki Gothic" for f in fonts)
    shot(page, "font-search-page", full_page=False)

    page.goto("/?" + urlencode({"q": INCIDENT}))
    page.evaluate("document.fonts.ready.then(() => true)")
    title = "#results article.result .title-link"
    assert all(f["familyName"] == "Kizuki Gothic" for f in drawn_with(page, title))
    shot(page, "font-search-results", full_page=False)

    # The API docs and the graph's canvas labels use it too.
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert faces_loaded(page) >= 1
    assert any(f["familyName"] == "Kizuki Gothic" for f in drawn_with(page, ".info .title"))
    page.goto("/ui/graph?node=fsa2019-07&depth=2")
    wait_for_graph(page)
    labels = page.evaluate(
        "document.querySelector('.graph-panel')._cy.nodes().map(n => n.data('fullLabel')).join('')"
    )
    assert page.evaluate("t => document.fonts.check('10px \"Kizuki Gothic\"', t)", labels)


#: Every label's drawn box (``renderedBoundingBox`` with its label) against the others and
#: the frame: the pairs that overlap, the nodes reaching outside the canvas, the nodes whose
#: label is drawn under 11 px.
LABEL_CHECK = """
() => {
  const cy = document.querySelector('.graph-panel')._cy;
  const W = cy.width(), H = cy.height(), nodes = cy.nodes();
  const boxes = nodes.map(n => n.renderedBoundingBox({includeLabels: true, includeOverlays: false}));
  const overlaps = [], outside = [], small = [];
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    if (a.x1 < 0 || a.y1 < 0 || a.x2 > W || a.y2 > H) outside.push(nodes[i].id());
    if (parseFloat(nodes[i].renderedStyle('font-size')) < 11) small.push(nodes[i].id());
    for (let j = i + 1; j < boxes.length; j++) {
      const b = boxes[j];
      if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2)
        overlaps.push(nodes[i].id() + ' / ' + nodes[j].id());
    }
  }
  return {n: boxes.length, overlaps, outside, small};
}
"""


def assert_readable(pg, where: str) -> int:
    """No two labels overlap, none is outside the frame or drawn under 11 px."""
    drawn = wait_for_graph(pg)
    check = pg.evaluate(LABEL_CHECK)
    assert check["n"] == drawn
    assert not check["overlaps"], f"{where}: overlapping labels {check['overlaps'][:5]}"
    assert not check["outside"], f"{where}: cropped {check['outside'][:5]}"
    assert not check["small"], f"{where}: labels under 11 px {check['small'][:5]}"
    return drawn


CENTRE_LABEL = (
    "(() => { const cy = document.querySelector('.graph-panel')._cy;"
    " const c = cy.nodes('[center = 1]'); return [c.data('label'), c.data('fullLabel')]; })()"
)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_graph_labels_never_overlap_and_stay_in_the_frame(page, lang):
    """Issue 22: depth 1 and 2 around a case and a cause, and the case and cause pages'
    panels: every label readable, none on another, none cropped; the centre's label whole."""
    for url in (
        "/ui/graph?node=fsa2019-07&depth=1",
        "/ui/graph?node=fsa2019-07&depth=2",
        "/ui/graph?node=cause.missing_peer_review&depth=1",
        "/ui/graph?node=cause.missing_peer_review&depth=2",
        "/ui/cases/fsa2019-07",
        "/ui/causes/cause.missing_peer_review",
    ):
        page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
        drawn = assert_readable(page, f"{url} ({lang})")
        if "depth=2" in url:
            assert drawn > 40
        shown, full = page.evaluate(CENTRE_LABEL)
        assert shown.replace("\n", "").replace(" ", "") == full.replace(" ", ""), (shown, full)
        name = url.strip("/").replace("/", "-").replace("?", "-").replace("&", "-")
        shot(page, f"graph-{name}-{lang}", full_page=False)

    # Expand on demand: a node's own links join the view, still readable.
    page.goto(f"/ui/graph?node=fsa2019-07&depth=1&lang={lang}")
    before = wait_for_graph(page)
    page.evaluate(
        "document.querySelector('.graph-panel')._cy.nodes('[type = \"cause\"]')[0].emit('tap')"
    )
    page.locator(".graph-info .graph-expand").click()
    page.wait_for_selector(".graph-panel[data-ready='1']")
    after = assert_readable(page, f"expanded ({lang})")
    assert after > before
    shot(page, f"graph-expanded-{lang}", full_page=False)


def test_the_english_graph_page_names_a_case_by_its_title(page):
    """Issue 22: cases have only a Japanese title; the English page shows it, not the id."""
    page.goto("/ui/graph?node=fsa2019-07&lang=en")
    heading = page.locator("h1").inner_text()
    page.goto("/ui/graph?node=fsa2019-07&lang=ja")
    title = page.locator("h1 a").inner_text()
    assert title != "fsa2019-07" and title in heading, heading


def test_graph_labels_show_in_full_on_hover(page):
    page.goto("/ui/graph?node=fsa2019-07&depth=2")
    wait_for_graph(page)
    # A long label is cut on the canvas and shown whole on hover.
    long = page.evaluate(
        "document.querySelector('.graph-panel')._cy.nodes()"
        ".filter(n => n.data('type') !== 'case' && n.data('fullLabel').length > 22)[0].id()"
    )
    full = page.evaluate(
        f"document.querySelector('.graph-panel')._cy.$id({long!r}).data('fullLabel')"
    )
    assert page.evaluate(
        f"document.querySelector('.graph-panel')._cy.$id({long!r}).data('label')"
    ).endswith("…")
    tip = page.locator(".graph-tip")
    assert tip.is_hidden()
    page.evaluate(f"document.querySelector('.graph-panel')._cy.$id({long!r}).emit('mouseover')")
    assert tip.is_visible() and tip.inner_text() == full
    page.evaluate(f"document.querySelector('.graph-panel')._cy.$id({long!r}).emit('mouseout')")
    assert tip.is_hidden()
    shot(page, "graph-view-depth2", full_page=False)


#: An incident worded with the generic words every case shares (事象, 発生, 利用, 行っ).
GENERIC_INCIDENT = (
    "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMや窓口の取引が"
    "できなかった。前日のプログラム変更のテストが不十分だった。事象が発生し、利用者への"
    "連絡を行った。"
)
GENERIC_WORDS = {"事象", "発生", "利用", "行っ", "行う"}

SHARED_TERMS = """
() => [...document.querySelectorAll('#results article.result')].map(a => ({
  chips: [...a.querySelectorAll('.matched .term')].map(c => [c.textContent, c.title]),
  marks: [...a.querySelectorAll('mark')].map(m => m.textContent),
}))
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_shared_terms_show_once_and_never_generic_words(page, lang):
    """Issue 22: ATM matched exactly and through its synonym is one chip (the synonym a
    detail); 事象, 発生, 利用, 行っ and one-character fragments are neither chips nor marks."""
    page.goto("/?" + urlencode({"q": GENERIC_INCIDENT, "lang": lang}))
    page.wait_for_selector("#results")
    results = page.evaluate(SHARED_TERMS)
    assert len(results) == 10
    chips = [text for r in results for text, _ in r["chips"]]
    assert "ATM" in chips and "夜間バッチ" in chips  # telling words still show
    for r in results:
        words = [text for text, _ in r["chips"]]
        assert len(words) == len({w.casefold() for w in words}), words
        assert not GENERIC_WORDS & set(words), words
        assert all(len(w) > 1 for w in words), words
        assert r["marks"], "telling words are still highlighted"
        assert not GENERIC_WORDS & set(r["marks"]), r["marks"]
        assert all(len(m) > 1 for m in r["marks"]), r["marks"]
    synonym = "同義語" if lang == "ja" else "synonym"
    titles = [title for r in results for _, title in r["chips"]]
    assert any(synonym in title for title in titles), titles
    shot(page, f"shared-terms-{lang}")


def test_change_review_page_shows_a_cited_checklist_and_exports_it(page):
    """Paste a plan, see the checklist beside the similar failures and risks, export it."""
    page.goto("/ui/review")
    page.fill(
        "#plan",
        "・SSLサーバ証明書の更新は保守ベンダーに一任する。\n"
        "・有効期限は当社では管理しておらず、ベンダーからの連絡を待つ。",
    )
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("#checklist")
    items = page.locator("#checklist > li")
    assert items.count() > 0
    first = items.nth(0)
    assert "計画に含まれているか" in first.inner_text()
    assert first.locator(".case-link").count() >= 1  # every item cites its cases
    assert "fsa2019-27" in page.locator("#similar-failures").inner_text()
    assert page.locator("#risks li").count() > 0
    href = page.get_attribute("#export-md", "href")
    import base64

    markdown = base64.b64decode(href.split("base64,", 1)[1]).decode()
    assert markdown.startswith("# 変更レビュー") and "- [ ] " in markdown
    assert page.get_attribute("#export-csv", "download") == "checklist.csv"
    shot(page, "review-page")
    page.goto("/ui/review")
    page.click("#review-form button[type=submit]")  # empty: the browser refuses (required)
    assert page.locator("#review-error").count() == 0


#: The README's example plan ("Plan review").
README_PLAN = (
    "来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が行い、"
    "移行後の確認は担当者本人のみで行う。委託先の作業内容は把握していない。"
)

CHECKLIST = """
() => {
  const list = document.querySelector('#checklist');
  // Per item, each cited row: [case, countermeasure sentence, printed in full].
  const items = [...list.querySelectorAll(':scope > li')].map(li => [
    ...li.querySelectorAll('.evidence > li')].map(e => {
      const full = e.querySelector('.ev-cm');
      return [e.dataset.case, full ? full.textContent : e.querySelector('a[title]').title, !!full];
    }));
  const style = getComputedStyle(list);
  const line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
  return {items, line, height: list.getBoundingClientRect().height};
}
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_review_checklist_cites_each_countermeasure_sentence_once(page, lang):
    """Issue 22: a countermeasure sentence several items cite is printed once (later items
    point back to it), each (case, sentence) once per item, so the checklist's height
    follows its distinct sentences: at most 2 lines per item and 3 per distinct sentence."""
    page.goto(f"/ui/review?lang={lang}")
    page.fill("#plan", README_PLAN)
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("#checklist")
    page.evaluate("document.fonts.ready.then(() => true)")  # lines wrap in the page's font
    got = page.evaluate(CHECKLIST)
    shot(page, f"review-readme-plan-{lang}")
    items = got["items"]
    assert items and all(items), "every item cites its cases"
    for rows in items:
        assert len(rows) == len({(case, text) for case, text, _ in rows}), rows
    printed = [(case, text) for rows in items for case, text, full in rows if full]
    distinct = {(case, text) for rows in items for case, text, _ in rows}
    assert sorted(printed) == sorted(distinct), "each sentence printed once, none missing"
    assert len(distinct) < sum(len(rows) for rows in items), "the plan cites some twice"
    bound = (2 * len(items) + 3 * len(distinct)) * got["line"]
    assert got["height"] <= bound, (got["height"], bound, len(items), len(distinct))


def test_judge_two_results_reload_and_the_same_search_ranks_the_judged_case_first(open_page, spawn):
    """Issue 15: judge two results with the buttons (the key typed once into the page and
    kept in localStorage), reload: the judgements show; the same search again ranks the
    case judged similar first and says why. A server of its own: judgements move rankings."""
    from kizuki_http import API_KEY

    srv = spawn()
    pg = open_page(base_url=srv.url)
    pg.goto("/?" + urlencode({"q": INCIDENT}))
    pg.wait_for_selector("#results")
    results = pg.locator("#results article.result")
    ids = [results.nth(i).get_attribute("data-case-id") for i in range(results.count())]
    liked, disliked = ids[2], ids[0]
    pg.click("#feedback-settings summary")
    pg.fill("#feedback-key", API_KEY)
    pg.fill("#feedback-analyst", "田中")
    box = pg.locator(f'article[data-case-id="{liked}"] .judge')
    box.locator(".judge-note").fill("同じく夜間バッチの遅延")
    box.locator(".judge-yes").click()
    pg.wait_for_selector(f'article[data-case-id="{liked}"] .judge-status.ok')
    other = pg.locator(f'article[data-case-id="{disliked}"] .judge')
    other.locator(".judge-no").click()
    pg.wait_for_selector(f'article[data-case-id="{disliked}"] .judge-status.ok')
    assert box.locator(".judge-yes").get_attribute("aria-pressed") == "true"
    shot(pg, "feedback-judged")

    pg.reload()
    pg.wait_for_selector('#results[data-judgements-loaded="full"]')
    first = pg.locator("#results article.result").first
    assert first.get_attribute("data-case-id") == liked
    mine = first.locator(".judged-item")
    assert mine.count() == 1 and mine.get_attribute("data-grade") == "2"
    assert "田中" in mine.inner_text() and "同じく夜間バッチの遅延" in mine.inner_text()
    assert "2 類似" in mine.inner_text()
    why = first.locator(".feedback-reason")
    assert why.count() == 1
    assert why.inner_text().startswith("分析者が「夜間バッチが予定時刻までに")
    assert "について類似と判定" in why.inner_text()
    demoted = pg.locator(f'article[data-case-id="{disliked}"]')
    assert demoted.locator(".judged-item").get_attribute("data-grade") == "0"
    assert "類似ではないと判定" in demoted.locator(".feedback-reason").inner_text()
    # The key and the name were kept in this browser.
    assert pg.locator("#feedback-key").input_value() == API_KEY
    assert pg.locator("#feedback-analyst").input_value() == "田中"
    shot(pg, "feedback-reloaded")

    # Through the API too: the judged-similar case is first, with the reason.
    with srv.client(headers={"X-API-Key": API_KEY}) as c:
        hits = c.post("/search", json={"text": INCIDENT, "k": 10}).json()["results"]
    assert hits[0]["case_id"] == liked and hits[0]["feedback"][0]["analyst"] == "田中"

    # Issue 20 (3): without the key the page says only *that* the cases were judged.
    pg.evaluate("window.localStorage.removeItem('kizuki-api-key')")
    pg.reload()
    pg.wait_for_selector('#results[data-judgements-loaded="redacted"]')
    page_text = pg.locator("#results").inner_text()
    assert "田中" not in page_text and "同じく夜間バッチの遅延" not in page_text
    assert "夜間バッチが予定時刻までに" not in page_text.replace(INCIDENT, "")
    first = pg.locator("#results article.result").first
    assert first.get_attribute("data-case-id") == liked
    assert "類似と判定" in first.locator(".feedback-reason").inner_text()
    assert first.locator(".judged-item").get_attribute("data-grade") == "2"


# -- cause chains, failure paths and control frameworks (issue 24) -----------------------

CHAINS = load_chains()


def test_a_case_page_shows_its_chain_left_to_right_with_evidence_on_hover(page):
    page.goto("/ui/cases/fsa2019-05")
    steps = page.locator("#case-chain .chain-step")
    reviewed = CHAINS["fsa2019-05"].steps
    assert steps.count() == len(reviewed)
    boxes = [steps.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"], "steps run left to right"
    assert "潜在的な弱点" in steps.nth(0).inner_text()
    tip = steps.nth(2).locator(".step-evidence")
    assert tip.is_hidden()
    steps.nth(2).hover()
    assert tip.is_visible() and reviewed[2].evidence in tip.inner_text()
    page.evaluate("document.fonts.ready.then(() => true)")
    fonts = drawn_with(page, "#case-chain .step-type")
    assert fonts and all(f["familyName"] == "Kizuki Gothic" for f in fonts)
    shot(page, "case-chain")
    page.goto("/ui/cases/fsa2019-05?lang=en")
    assert "Latent condition" in page.locator("#case-chain .chain-step").first.inner_text()


def test_the_paths_flow_and_the_control_view_render_with_japanese_labels(page):
    page.goto("/ui/analytics")
    page.wait_for_selector(".paths-flow[data-drawn]")
    drawn = int(page.locator(".paths-flow").get_attribute("data-drawn"))
    assert drawn >= 3 and page.locator(".paths-flow canvas").count() > 0
    labels = page.evaluate(
        "document.querySelector('.paths-flow')._cy.nodes().map(n => n.data('label')).join('')"
    )
    assert any("\u3040" <= ch <= "\u9fff" for ch in labels), labels
    assert page.evaluate("t => document.fonts.check('11px \"Kizuki Gothic\"', t)", labels)
    xs = page.evaluate(
        "document.querySelector('.paths-flow')._cy.edges()"
        ".map(e => e.target().position('x') - e.source().position('x'))"
    )
    assert xs and all(dx > 0 for dx in xs), "every transition runs left to right"
    assert page.locator("#paths-table tbody tr").count() >= 1
    functions = page.locator("#controls-functions .barrow")
    assert functions.count() == 6 and "防御" in functions.nth(2).inner_text()
    assert page.locator("#controls-unanswered li").count() >= 1
    shot(page, "analytics-paths")
    page.goto("/ui/analytics?lang=en")
    page.wait_for_selector(".paths-flow[data-drawn]")
    assert "Protect" in page.locator("#controls-functions").inner_text()


#: Draws ``text`` on a scratch canvas in a font and returns its pixels: the same label drawn
#: in the app's font and in a family the browser lacks (its fallback shows boxes) differ
#: only if the app's font really drew the Japanese glyphs.
GLYPHS = """
([text, family]) => {
  const c = document.createElement('canvas'); c.width = 400; c.height = 30;
  const ctx = c.getContext('2d'); ctx.font = '16px ' + family; ctx.fillText(text, 2, 22);
  return Array.from(ctx.getImageData(0, 0, 400, 30).data).join(',');
}
"""


def test_the_trends_chart_draws_japanese_labels_in_the_apps_font(open_page, editions_server):
    """The analytics page's trends chart (Chart.js, served by the app) draws the editions
    and the causes in Japanese on a browser that has no Japanese font."""
    page = open_page(base_url=editions_server.url)
    page.goto("/ui/analytics")
    page.wait_for_selector("#trends-canvas[data-drawn='1']")
    labels, series, family = page.evaluate(
        "(() => { const c = Chart.getChart(document.getElementById('trends-canvas'));"
        " return [c.data.labels, c.data.datasets.map(d => d.label),"
        " c.options.plugins.legend.labels.font.family]; })()"
    )
    assert labels == ["2019年版", "2020年版", "2024年版"]
    assert series and all(any("\u3040" <= ch <= "\u9fff" for ch in s) for s in series), series
    assert "Kizuki Gothic" in family
    text = "".join(labels + series)
    assert page.evaluate("t => document.fonts.check('12px \"Kizuki Gothic\"', t)", text)
    drawn = page.evaluate(GLYPHS, [series[0], '"Kizuki Gothic"'])
    boxes = page.evaluate(GLYPHS, [series[0], '"No Such Font Kizuki", sans-serif'])
    assert drawn != boxes, "the Japanese labels were not drawn in the app's font"
    inked = page.evaluate(
        "(() => { const c = document.getElementById('trends-canvas');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })()"
    )
    assert inked > 5000, "the chart drew nothing"
    shot(page, "trends-chart")
