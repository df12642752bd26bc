"""The English page in a real browser (fixtures of ``test_browser.py``): a bundled case reads
in English, marked as the team's translation, and its Japanese original opens in one click,
on the case page and in search results."""

from __future__ import annotations

import json
from pathlib import Path

import test_browser as tb
from kizuki.corpus import seed_cases

# The browser without Japanese fonts and its page, as test_browser.py makes them.
pytestmark = tb.pytestmark
fontless_env, browser, open_page, page = tb.fontless_env, tb.browser, tb.open_page, tb.page

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = {
    row["id"]: row
    for row in map(json.loads, (ROOT / "corpus/data/fsa2019_en.jsonl").open(encoding="utf-8"))
}


def test_a_case_reads_in_english_with_the_original_one_click_away(page):
    page.goto("/ui/cases/fsa2019-05?lang=en")
    assert page.locator("h1").inner_text() == ENGLISH["fsa2019-05"]["title"]
    assert page.locator("#translation-note").is_visible()
    causes = page.locator("#case-causes li p").all_inner_texts()
    assert causes == ENGLISH["fsa2019-05"]["causes"]
    original = page.locator("#japanese-original h3")
    assert not original.is_visible()
    page.click("#japanese-original > summary")
    japanese = next(c for c in seed_cases() if c.id == "fsa2019-05")
    assert original.is_visible() and original.inner_text() == japanese.title
    tb.shot(page, "case-english")


def test_english_search_results_read_in_english(page):
    page.goto("/?lang=en")
    page.fill("textarea[name=q]", tb.INCIDENT)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results")
    first = page.locator("#results article.result").first
    title = first.locator(".title-link").inner_text()
    assert title in {row["title"] for row in ENGLISH.values()}
    assert first.locator(".result-english .translation-note").is_visible()
    folded = first.locator("details.japanese-original .result-body")
    assert not folded.is_visible()
    first.locator("details.japanese-original > summary").click()
    assert folded.is_visible() and folded.locator("mark").count() > 0
    tb.shot(page, "search-english")
