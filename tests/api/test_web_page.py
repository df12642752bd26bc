"""The web page over HTTP (no browser): searches in the address, and error messages in
the page's language while the JSON API keeps its codes and English messages."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from kizuki.api.web.errors import CODE_MESSAGES_JA, STATUS_MESSAGES_JA, error_message

INCIDENT = "夜間バッチが異常終了し、翌朝のオンライン開始が遅れてATMが使えなかった。"
#: A word of English (three Latin letters or more) in a Japanese message.
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def message_of(html: str, cls: str) -> str:
    found = re.search(rf'<p class="{cls}"[^>]*>(.*?)</p>', html, re.S)
    assert found, html[:2000]
    return found.group(1).strip()


def ids(html: str) -> list[str]:
    return re.findall(r'<article class="result card" data-case-id="([^"]+)"', html)


# -- searches in the address ------------------------------------------------------------


def test_get_with_q_runs_the_search_and_post_gives_the_same(client):
    page = client.get("/?" + urlencode({"q": INCIDENT, "k": 5}))
    assert page.status_code == 200
    found = ids(page.text)
    assert len(found) == 5
    assert client.get("/?" + urlencode({"text": INCIDENT, "k": 5})).text.count("data-case-id") == 5
    posted = client.post("/", data={"q": INCIDENT, "k": "5"})
    assert ids(posted.text) == found
    # The link to the search is the address that gives it.
    link = re.search(r'id="share-link" href="([^"]+)"|href="([^"]+)" id="share-link"', page.text)
    href = (link.group(1) or link.group(2)).replace("&amp;", "&")
    assert ids(client.get(href).text) == found


def test_get_filters_by_sector_and_theme(client):
    page = client.get("/?" + urlencode({"q": INCIDENT, "sector": "地域銀行", "k": 30}))
    assert page.status_code == 200
    found = ids(page.text)
    assert found
    for case_id in found:
        assert "地域銀行" in client.get(f"/cases/{case_id}").json()["case"]["sectors"]
    assert '<option value="地域銀行" selected>' in page.text


def test_the_plain_page_runs_no_search(client):
    page = client.get("/")
    assert page.status_code == 200 and "data-case-id" not in page.text
    assert 'method="get"' in page.text and 'name="q"' in page.text


# -- errors in the page's language -------------------------------------------------------

#: (method, path, form) → expected status, a fragment of the Japanese message.
PAGE_ERRORS = [
    ("GET", "/?q=", None, 422, "障害の内容を入力してください"),
    ("GET", "/?q=%20%20", None, 422, "障害の内容を入力してください"),
    ("GET", "/?" + urlencode({"q": INCIDENT, "k": "abc"}), None, 422, "表示件数は整数"),
    ("GET", "/?" + urlencode({"q": INCIDENT, "k": "0"}), None, 422, "表示件数は 1 から 100"),
    ("GET", "/?" + urlencode({"q": INCIDENT, "k": "101"}), None, 422, "表示件数は 1 から 100"),
    ("GET", "/?" + urlencode({"q": "ATM\x01停止"}), None, 422, "使えない文字"),
    ("POST", "/", {"q": "あ" * 5001}, 422, "5001 文字"),
]
ERROR_PAGES = [
    ("GET", "/ui/cases/does-not-exist", 404, "事例「does-not-exist」は見つかりません"),
    ("GET", "/ui/cases/bad%20id!", 404, "は見つかりません"),
    ("GET", "/ui/causes/cause.nope", 404, "原因「cause.nope」は見つかりません"),
    ("GET", "/ui/countermeasures/cm.nope", 404, "対策「cm.nope」は見つかりません"),
    ("GET", "/ui/graph?node=nope", 404, "「nope」というノードはありません"),
    ("GET", "/ui/graph?node=fsa2019-01&depth=0", 422, "深さは 1 以上"),
    ("GET", "/ui/graph?node=fsa2019-01&depth=x", 422, "深さは整数"),
    ("GET", "/ui/cases?page=0", 422, "ページ番号は 1 以上"),
    ("GET", "/ui/cases?q=" + "x" * 201, 422, "200 文字以内"),
    ("GET", "/ui/analytics?level=nope", 422, "集計単位の値が正しくありません"),
    ("GET", "/ui/nothing-here", 404, "ページが見つかりません"),
    ("PUT", "/ui/cases", 405, "PUT は使えません"),
]


@pytest.mark.parametrize(("method", "path", "form", "status", "ja"), PAGE_ERRORS)
def test_search_form_errors_are_japanese_and_english_with_lang_en(
    client, method, path, form, status, ja
):
    page = client.request(method, path, data=form)
    assert page.status_code == status
    message = message_of(page.text, "form-error")
    assert ja in message and not ENGLISH.search(message), message
    sep = "&" if "?" in path else "?"
    english = client.request(method, path + sep + "lang=en", data=form)
    assert english.status_code == status
    assert ENGLISH.search(message_of(english.text, "form-error"))
    client.cookies.clear()


@pytest.mark.parametrize(("method", "path", "status", "ja"), ERROR_PAGES)
def test_error_pages_are_japanese_and_english_with_lang_en(client, method, path, status, ja):
    page = client.request(method, path)
    assert page.status_code == status
    message = message_of(page.text, "error-message")
    # Only the id or path the person typed may be Latin.
    typed = re.sub(r"「[^」]*」|/\S*|PUT", "", message)
    assert ja in message and not ENGLISH.search(typed), message
    sep = "&" if "?" in path else "?"
    english = client.request(method, path + sep + "lang=en")
    assert english.status_code == status
    assert ENGLISH.search(message_of(english.text, "error-message"))
    client.cookies.clear()


def test_the_api_keeps_its_codes_and_english_messages(client):
    cases = [
        ("/cases/does-not-exist", 404, "case_not_found", "no case with id"),
        ("/causes/cause.nope", 404, "cause_not_found", "cause.nope"),
        ("/countermeasures/cm.nope", 404, "countermeasure_not_found", "cm.nope"),
        ("/graph/neighbourhood/nope", 404, "node_not_found", "no graph node"),
        ("/nothing-here", 404, "not_found", "no such endpoint"),
    ]
    for path, status, code, english in cases:
        answer = client.get(path, headers={"Accept-Language": "ja"})
        body = answer.json()
        assert answer.status_code == status
        assert body["error"]["code"] == code and english in body["error"]["message"], body
        assert "params" not in body["error"]
    body = client.post("/search", json={"text": " "}).json()
    assert body["error"] == {"code": "validation_error", "message": "text: must not be empty"}
    body = client.post("/search", json={"text": "ATM", "k": 0}).json()
    assert (
        body["error"]["code"] == "validation_error"
        and "k: must be between" in (body["error"]["message"])
    )


def test_every_error_code_the_api_raises_has_a_japanese_wording():
    """A new error code must be worded for the Japanese page (or listed here as one the
    page can never show: writes, and JSON bodies, which the page never sends)."""
    api_only = {
        "duplicate_case",
        "indexing_failed",
        "invalid_api_key",
        "missing_api_key",
        "not_indexable",
        "too_many_cases",
        "writes_disabled",
        "invalid_json",
        "json_too_deep",
        "bad_request",
        "validation_error",  # worded by field and kind (tested above)
    }
    root = Path(__file__).resolve().parents[2] / "api"
    raised = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        raised |= set(re.findall(r"ApiError\(\s*\d{3},\s*\"([a-z_]+)\"", text))
        raised |= set(re.findall(r"send_(?:json|error)\([^)]*?\d{3},\s*\"([a-z_]+)\"", text, re.S))
    assert {"case_not_found", "busy", "rate_limited"} <= raised
    missing = raised - set(CODE_MESSAGES_JA) - api_only
    assert not missing, f"no Japanese wording for {sorted(missing)} (api/web/errors.py)"


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("busy", {"retry": 1}),
        ("search_timeout", {"seconds": "30"}),
        ("rate_limited", {"retry": 3}),
        ("payload_too_large", {"limit": "2,000,000 バイト"}),
        ("starting", {}),
        ("graph_unavailable", {}),
        ("internal_error", {}),
        ("request_timeout", {}),
    ],
)
def test_server_side_failures_are_worded_in_japanese(code, params):
    message = error_message("ja", 503, code, "an English message", params)
    assert message == CODE_MESSAGES_JA[code].format(**params)
    assert not ENGLISH.search(message)
    assert error_message("en", 503, code, "an English message", params) == "an English message"


def test_unknown_codes_fall_back_to_the_status_in_japanese():
    for status, wording in STATUS_MESSAGES_JA.items():
        assert error_message("ja", status, "some_new_code", "English") == wording
        assert not ENGLISH.search(wording)
    assert not ENGLISH.search(error_message("ja", 418, "teapot", "I'm a teapot"))


def test_search_answers_confidence_threshold_and_strength(client):
    from kizuki.search.confidence import PARTIAL_AT, STRONG_AT

    for text in (INCIDENT, "ランサムウェアに感染し、身代金を要求する脅迫文が届いた。"):
        body = client.post("/search", json={"text": text, "k": 3}).json()
        p, threshold, strength = body["confidence"], body["threshold"], body["match_strength"]
        assert 0 <= p <= 1 and 0 < threshold < 1
        expected = (
            "none"
            if p < threshold
            else "strong"
            if p >= STRONG_AT
            else "partial"
            if p >= PARTIAL_AT
            else "weak"
        )
        assert strength == expected and body["no_good_match"] == (strength == "none")
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SearchResult"]
    assert schema["properties"]["match_strength"]["enum"] == ["strong", "partial", "weak", "none"]
    assert "relative" not in schema["properties"]["confidence"]["description"]


def test_the_case_page_names_the_report_year_and_section_not_a_line_range(client):
    page = client.get("/ui/cases/fsa2019-26").text
    found = re.search(
        r'<p class="source muted" id="case-source" title="([^"]+)">(.*?)</p>', page, re.S
    )
    assert found, page
    tooltip, shown = found.group(1), re.sub(r"<[^>]+>", "", found.group(2))
    assert shown.startswith("出典: 金融庁「金融機関のシステム障害に関する分析レポート」 (2019年)")
    assert "・事例集「作業手順誤りに起因する障害」" in shown
    assert not re.search(r"\d+\s*[–-]\s*\d+", shown), "no bare line range"
    assert re.fullmatch(r"報告書のテキスト版の \d+–\d+ 行目から抽出", tooltip)


def test_recommended_countermeasures_list_each_evidence_sentence_once(client):
    text = "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。手順書の記載が不十分だった。"
    raw = client.post("/search", json={"text": text}).json()["recommended_countermeasures"]
    pairs = [[(c["case_id"], c["countermeasure"]) for c in m["cases"][:3]] for m in raw]
    assert any(len(set(p)) < len(p) for p in pairs), "the data repeats sentences (one per cause)"
    page = client.get("/?" + urlencode({"q": text})).text
    block = page.split('id="recommended-countermeasures"', 1)[1].split("</section>", 1)[0]
    items = block.split("<li>")[1:]
    assert items
    for item in items:
        evidence = re.findall(
            r'<span class="case-id">([^<]+)</span>.*?<span class="ev-sentence">([^<]*)</span>',
            item,
            re.S,
        )
        assert len(evidence) == len(set(evidence)), evidence


def test_term_chips_name_each_word_once_and_leave_out_generic_words():
    """Issue 22: ATM matched exactly ("atm") and through its synonym ("ATM") is one chip;
    a word matched only through a synonym names it; 発生, 行っ and fragments are no chips."""
    from kizuki.api.runtime.results import SharedTerm
    from kizuki.api.web.terms import telling_terms, term_chips

    def term(text: str, normalized: str, synonym: bool = False) -> SharedTerm:
        return SharedTerm(
            term=text,
            normalized=normalized,
            via_synonym=synonym,
            weight=1.0,
            query_spans=[],
            spans=[],
        )

    terms = [
        term("オンライン開始", "開局", True),
        term("ATM", "atm"),
        term("ATM", "ATM", True),
        term("遅れ", "遅延", True),
        term("遅れ", "遅れ"),
        term("発生", "発生"),
        term("行っ", "行う"),
        term("日", "日"),
    ]
    chips = term_chips(terms)
    assert [c.term for c in chips] == ["オンライン開始", "ATM", "遅れ"]
    online, atm, late = chips
    assert online.via_synonym and online.synonyms == ["開局"]
    assert atm.exact and atm.detail_synonyms == []  # the same word in another case
    assert late.exact and late.detail_synonyms == ["遅延"]
    assert [t.term for t in telling_terms(terms)] == [
        "オンライン開始",
        "ATM",
        "ATM",
        "遅れ",
        "遅れ",
    ]
    assert len(term_chips(terms, limit=2)) == 2
