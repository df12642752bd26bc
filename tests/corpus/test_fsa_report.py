"""The FSA report parser against the real seed text.

The expectations below were read off the seed by hand; the completeness test re-derives
every case's text from the seed lines with simple rules of its own, so a parser that
drops, adds, reorders or garbles text fails it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kizuki.corpus.fsa_report import ReportParseError, parse_report
from kizuki.corpus.io import dumps_jsonl

from kizuki import corpus

SEED = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "seeds"
    / "fsa-2019-system-failure-report.txt"
)

TITLES = [
    "サードパーティサービスの障害による自社サービス提供不可",
    "リスクベース認証サービス提供元のミスによる個人 IB ログイン障害",
    "IB 共同センターの作業手順不備による IB 障害",
    "有識者不足による振込等のサービス提供不可",
    "各システム及び処理の連携・前後関係の認識不足によるサービス開始遅延",
    "システム及び処理に係る仕様の認識不足、ドキュメント化の不足による振込遅延",
    "手順書記載の不足及び障害対応不備による表示不正",
    "大規模プロジェクトに係る知見、経験等の不足による ATM 停止及び残高情報の誤更新",
    "システムリスク管理態勢の整備不足によるサービス停止",
    "ネットワーク接続変更作業の管理ミスによる取引障害",
    "カウンター上限値超過によるシステム停止",
    "システムの処理能力不足による取引処理遅延",
    "業容拡大に伴い急増した事務作業の漏れによる支払不可",
    "不正オーソリの大量集中発生によるキャッシングサービス利用不可",
    "委託先における基本ソフトウェアの既知の不具合対処漏れによるサービス停止",
    "委託先におけるガバナンスの欠如、自社による委託先管理の不足によるサービス停止",
    "委託先が招いた設計不備、自社によるテスト不足による送金不可",
    "システムインフラ提供元との連携不足によるウェブサイトアクセス不可",
    "各種作業手順誤りによるサービス停止",
    "ジョブスケジュールの設定誤りによる ATM 利用不可",
    "システム環境変更作業時の事前の作業手順検証不足による ATM 開局遅延",
    "リリース作業の引継ぎ誤りによるサービス開始遅延",
    "リリース資材のバージョン管理不備による約定金額不正",
    "SSL 証明書の期限管理不備によるウェブサイト表示不可",
    "ネットワーク機器増設時の作業ミスによる Web システム全面停止",
    "リリース作業ミスによる ATM、IB 障害",
    "作業指示書の記載ミスによる ATM 提携サービスの誤停止",
    "本番環境と開発環境の取違えによる送金障害",
    "業務部門の為替レート登録誤りによる取引金額不正",
    "業務部門の銘柄情報の登録不備による預り区分不正",
    "NISA の商品特性の理解不足による各種取引処理の不備",
    "通貨の補助単位に係る設計不備による手数料誤り",
    "プログラミングミスによる取引失敗及びその後の不正な残高更新",
    "外部ベンダーのパッケージ製品の仕様確認不足による取引処理遅延",
    "ウェブサイトの画面入力チェック不備による不正取引実行",
    "プログラムの修正不備による買付余力金額不正",
    "ログ出力仕様の誤りによる取引開始遅延",
    "取引パターンの一部考慮漏れによる取引処理順序の誤り",
    "外部接続先の仕様変更への対応漏れによる金額計算不備",
    "設計における要件漏れによる信用情報の誤提供",
    "本番環境とテスト環境の相違に起因する設計不具合の検出漏れ",
]

#: theme id -> (label over the cases, first case number, last case number)
THEMES = {
    "third_party": ("サードパーティに起因する障害", 1, 3),
    "legacy_expertise": ("レガシーシステムにおける有識者不足に起因する障害", 4, 7),
    "integration_renewal": ("システム統合・更改に関する障害", 8, 13),
    "transaction_volume": ("取引量増加に伴う障害", 14, 17),
    "outsourcing": ("委託先に起因する障害", 18, 21),
    "procedure_error": ("作業手順誤りに起因する障害", 22, 33),
    "product_understanding": ("固有の商品特性の理解不足に起因する障害", 34, 34),
    "design_basics": ("設計時の基本的な事項の考慮漏れに起因する障害", 35, 44),
}

#: footnote number -> (glossary term, how its reference is glued in the text, first words)
FOOTNOTES = {
    1: ("API", "API1", "「API（Application Programming Interface）」とは、あるアプリケーション"),
    2: ("サードパーティ", "パーティ2", "「サードパーティ」とは、業務上の関係"),
    3: (
        "各種ガイドライン等",
        "ガイドライン等3",
        "金融機関に活用されている各種ガイドライン等として",
    ),
    4: ("レガシーシステム", "システム4", "「レガシーシステム」とは、技術革新による"),
    5: ("オーソリ", "オーソリ5", "「オーソリ」とは、オーソリゼーションのことで"),
    6: ("リスクベース認証", "認証6", "「リスクベース認証」とは、利用者の環境"),
    7: ("データパッチ", "パッチ7", "「データパッチ」とは、不具合の修正を行うために"),
    8: ("SSL 証明書", "証明書8", "「SSL 証明書」とは、接続先のサイト運営組織"),
}

EVENT_TYPES = {
    "ソフトウエア障害": 36.0,
    "管理面・人的要因": 25.0,
    "その他非意図的要因": 10.0,
    "ハードウエア障害": 7.0,
    "情報通信分野からの波及": 6.0,
    "外部不正アクセス等": 6.0,
    "電力分野からの波及": 4.0,
    "その他意図的要因": 2.0,
    "その他の波及": 1.0,
    "その他": 1.0,
    "ウイルス感染": 1.0,
    "疾病や災害": 1.0,
}

SECTOR_NAMES = {
    "主要行等",
    "地域銀行",
    "信用金庫及び信用組合",
    "資金移動業者",
    "暗号資産交換業者",
    "貸金業者",
    "金融商品取引業者（ネット証券会社）",
}

JAPANESE = r"[\u3040-\u30ff\u4e00-\u9fff]"


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def parsed():
    return parse_report(SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cases(parsed):
    return {c.id: c for c in parsed.cases}


@pytest.fixture(scope="module")
def footnote_lines(seed_lines) -> dict[int, list[int]]:
    """0-based seed lines of each footnote: from its start line to the first line in 。."""
    out: dict[int, list[int]] = {}
    for number, (_, _, start) in FOOTNOTES.items():
        first = next(i for i, s in enumerate(seed_lines) if s.startswith(f"{number} {start}"))
        span = [first]
        while not seed_lines[span[-1]].rstrip().endswith("。"):
            span.append(
                next(i for i in range(span[-1] + 1, len(seed_lines)) if seed_lines[i].strip())
            )
        out[number] = span
    return out


def all_texts(parsed) -> list[tuple[str, str]]:
    """(where, text) for every text the parser returns for cases and trends."""
    out = []
    for c in parsed.cases:
        out.append((f"{c.id}.title", c.title))
        out.append((f"{c.id}.event", c.event))
        out += [(f"{c.id}.sectors", s) for s in c.sectors]
        out += [(f"{c.id}.causes", s) for s in c.causes]
        out += [(f"{c.id}.countermeasures", s) for s in c.countermeasures]
        out.append((f"{c.id}.theme", c.theme.label))
    out += [(f"trend {t.key}", t.text) for t in parsed.trends]
    out += [(f"trend {t.key}.label", t.label) for t in parsed.trends]
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -- ids, counts, completeness ------------------------------------------------------------


def test_44_cases_in_the_order_of_the_event_markers(parsed, seed_lines):
    ids = [c.id for c in parsed.cases]
    assert ids == [f"fsa2019-{n:02d}" for n in range(1, 45)]
    markers = [i + 1 for i, s in enumerate(seed_lines) if s.strip() == "＜事象＞"]
    assert len(markers) == 44
    for case, marker in zip(parsed.cases, markers, strict=True):
        first, last = case.source.lines
        assert first <= marker <= last, case.id
        # exactly one ＜事象＞ inside the case's own line range
        assert sum(first <= m <= last for m in markers) == 1, case.id


def test_every_case_is_complete(parsed):
    for c in parsed.cases:
        assert c.event and c.causes and c.countermeasures, c.id
        assert c.title and c.sectors and c.theme, c.id
        assert c.source.report == "金融庁「金融機関のシステム障害に関する分析レポート」"
        assert c.source.year == 2019


def test_case_text_is_exactly_the_seed_text_of_its_lines(parsed, seed_lines, footnote_lines):
    """Nothing lost, nothing added, order kept: the fields equal the seed lines of the
    case minus markers, headings, footnotes and page numbers (whitespace ignored)."""
    skip = {i for span in footnote_lines.values() for i in span}
    refs = [glued for _, glued, _ in FOOTNOTES.values()]
    for c in parsed.cases:
        first, last = c.source.lines
        kept = []
        for i in range(first - 1, last):
            s = seed_lines[i].strip()
            if not s or i in skip or s.startswith("➢") or re.fullmatch(r"\d+|＜.+＞", s):
                continue
            s = re.sub(r"^[○\uf075\uf06c]", "", s)
            for glued in refs:
                s = s.replace(glued, glued[:-1])
            kept.append(s)
        own_sectors = seed_lines[first - 1].strip() == "＜業態等＞"
        fields = ("、".join(c.sectors) if own_sectors else "") + c.event
        fields += "".join(c.causes) + "".join(c.countermeasures)
        assert squash(fields) == squash("".join(kept)), c.id


def test_items_are_clean_text(parsed):
    for where, text in all_texts(parsed):
        assert text == text.strip() and "  " not in text, where
        assert not re.search(f"{JAPANESE} {JAPANESE}", text), where
        assert not re.search(r"[\uf000-\uf8ff➢＜＞○【】]", text), where
    for c in parsed.cases:
        for item in c.causes + c.countermeasures + c.sectors:
            assert "\n" not in item, c.id


def test_sentences_are_rejoined_across_line_breaks(cases):
    assert cases["fsa2019-01"].event == (
        "複数の金融機関において、IB に関する OTP 認証システムのエラーにより、"
        "個人 IB、法人 IB のログインが不可となる障害が発生した。"
    )
    # a parenthesised continuation line stays with its bullet
    assert cases["fsa2019-04"].countermeasures[0] == (
        "資金決済等の重要機能のレビュー時に有識者を参画させることを規定"
        "（有識者の作業状況（作業負荷等）を上位管理職が適切に管理徹底することが前提）"
    )
    assert len(cases["fsa2019-04"].countermeasures) == 2
    # a line break between Japanese and Latin text gets the PDF's usual space
    assert "作業翌日の ATM の開局が遅延した" in cases["fsa2019-24"].event
    # a cause interrupted by a footnote on the next page
    assert cases["fsa2019-26"].causes == [
        "リリースする資材のバージョン管理のために資材に付与する ID の採番に不備があり、"
        "新資材の ID として、既にリリース済みの別資材の ID を付与してしまった結果、"
        "別資材が上書きされた。"
    ]
    # a cause after the page-top headings of the next page still belongs to its case
    assert (
        cases["fsa2019-05"].causes[-1]
        == "影響範囲の広い大規模障害を想定した CPが策定されていなかった。"
    )
    # a countermeasure after a page number and a footnote
    assert cases["fsa2019-09"].countermeasures[-1] == (
        "サーバーの高負荷を防止するよう商品ルールを変更し、アプリケーションを改修"
    )


# -- titles, sectors, themes ----------------------------------------------------------------


def test_all_41_headings_are_used_in_order(parsed):
    used = list(dict.fromkeys(c.title for c in parsed.cases))
    assert used == TITLES


def test_title_spot_checks(cases):
    # headings of the next page printed in the middle of fsa2019-05 do not name it
    assert cases["fsa2019-05"].title == TITLES[4]
    assert cases["fsa2019-06"].title == TITLES[5]
    assert cases["fsa2019-07"].title == TITLES[6]
    # wrapped headings
    assert cases["fsa2019-08"].title.endswith("残高情報の誤更新")
    assert cases["fsa2019-19"].title.endswith("委託先管理の不足によるサービス停止")
    # cases without their own ＜業態等＞ continue the title group
    for n in (10, 11, 12):
        assert cases[f"fsa2019-{n}"].title == cases["fsa2019-09"].title == TITLES[8]
    assert cases["fsa2019-13"].title == TITLES[9]
    assert cases["fsa2019-44"].title == TITLES[40]


def test_sectors(cases):
    assert cases["fsa2019-01"].sectors == ["主要行等", "地域銀行", "信用金庫及び信用組合"]
    assert cases["fsa2019-14"].sectors == ["主要行等", "資金移動業者"]
    assert cases["fsa2019-15"].sectors == ["資金移動業者", "暗号資産交換業者"]
    assert cases["fsa2019-27"].sectors == ["金融商品取引業者（ネット証券会社）", "暗号資産交換業者"]
    assert cases["fsa2019-24"].sectors == ["信用金庫及び信用組合"]
    assert cases["fsa2019-05"].sectors == ["主要行等"]  # printed without its leading space
    assert cases["fsa2019-44"].sectors == ["暗号資産交換業者"]
    for n in (10, 11, 12):  # inherited from fsa2019-09
        assert cases[f"fsa2019-{n}"].sectors == cases["fsa2019-09"].sectors == ["主要行等"]
    assert {s for c in cases.values() for s in c.sectors} == SECTOR_NAMES


def test_themes(parsed, cases):
    for theme_id, (label, first, last) in THEMES.items():
        members = [c.id for c in parsed.cases if c.theme.id == theme_id]
        assert members == [f"fsa2019-{n:02d}" for n in range(first, last + 1)], theme_id
        assert cases[members[0]].theme.label == label
    assert [(t.id, t.label) for t in parsed.metadata.themes] == [
        (k, v[0]) for k, v in THEMES.items()
    ]


# -- footnotes, page numbers, headings: no leakage -------------------------------------------


def test_no_footnote_text_in_any_field(parsed, seed_lines, footnote_lines):
    texts = all_texts(parsed)
    for number, span in footnote_lines.items():
        for i in span:
            line = (
                re.sub(rf"^{number} ", "", seed_lines[i].strip())
                if i == span[0]
                else seed_lines[i].strip()
            )
            for where, text in texts:
                assert squash(line) not in squash(text), (number, where)
    for where, text in texts:
        assert not re.search(r"「[^」]+」とは", text), where


def test_no_footnote_reference_digits(parsed, cases):
    texts = all_texts(parsed)
    for number, (_term, glued, _) in FOOTNOTES.items():
        for where, text in texts:
            assert glued not in text, (number, where)
    for where, text in texts:
        if not where.startswith("trend"):
            # the 2019 cases hold no ASCII digits at all, so any digit would be an artefact
            assert not re.search(r"[0-9]", text), where
        assert not re.search(f"{JAPANESE}[0-9]", text), where
    # the referenced words themselves stay
    assert "データパッチにより対処" in cases["fsa2019-12"].event
    assert cases["fsa2019-02"].title.startswith("リスクベース認証サービス")
    assert cases["fsa2019-27"].title.startswith("SSL 証明書の期限管理")


def test_no_page_numbers_or_headings_in_case_text(parsed, seed_lines):
    page_numbers = [s.strip() for s in seed_lines if re.fullmatch(r"\s*\d{1,3}\s*", s)]
    assert page_numbers == ["14"]
    for c in parsed.cases:
        for field in (c.event, *c.causes, *c.countermeasures, *c.sectors):
            assert not re.search(r"(?<![0-9])14(?![0-9])", field), c.id
            assert "以上" != field[-2:], c.id
            for title in TITLES:
                assert title not in field, (c.id, title)


# -- glossary, figure, trends ---------------------------------------------------------------


def test_glossary_has_every_footnote(parsed, seed_lines, footnote_lines):
    glossary = parsed.glossary
    assert list(glossary) == [term for term, _, _ in FOOTNOTES.values()]
    for number, (term, _, start) in FOOTNOTES.items():
        definition = glossary[term]
        assert definition.startswith(start) and definition.endswith("。"), number
        printed = "".join(seed_lines[i].strip() for i in footnote_lines[number])
        assert squash(definition) == squash(printed[len(str(number)) :]), number
    assert "「不正オーソリ」とは不正なカード情報を含むオーソリをいう。" in glossary["オーソリ"]


def test_event_type_figure_is_complete(parsed):
    assert parsed.event_types == EVENT_TYPES
    assert list(parsed.event_types) == list(EVENT_TYPES)
    assert sum(parsed.event_types.values()) == pytest.approx(100)
    assert parsed.metadata.event_types_title == "障害事象別割合（全業態）"


def test_trends_per_theme_and_sector(parsed):
    by_scope: dict[str, list] = {}
    for t in parsed.trends:
        by_scope.setdefault(t.scope, []).append(t)
    assert [t.key for t in by_scope["theme"]] == list(THEMES)
    assert [t.key for t in by_scope["sector"]] == [
        "暗号資産交換業者",
        "資金移動業者等",
        "金融商品取引業者（ネット証券会社）",
    ]
    assert [t.key for t in by_scope["overall"]] == ["all"]
    themes = {t.key: t for t in by_scope["theme"]}
    assert themes["transaction_volume"].label == "取引量増加に起因する障害"
    assert "不正オーソリの大量集中" in themes["transaction_volume"].text
    assert themes["legacy_expertise"].label == "レガシーシステムにおける有識者不足に起因する障害"
    assert themes["outsourcing"].section == "事例"
    assert themes["third_party"].text.count("\n・") == 2
    assert by_scope["overall"][0].text.startswith("業態全体の障害傾向（事象別）として")


# -- committed data, other editions ---------------------------------------------------------


def test_committed_corpus_is_the_parser_output(parsed):
    assert corpus.SEED_CASES_PATH.read_bytes() == dumps_jsonl(parsed.cases).encode("utf-8")
    assert corpus.seed_cases() == parsed.cases
    assert corpus.report_metadata() == parsed.metadata


def test_another_edition_year_gives_its_own_ids():
    other = parse_report(SEED.read_text(encoding="utf-8"), year=2020)
    assert [c.id for c in other.cases][:2] == ["fsa2020-01", "fsa2020-02"]
    assert other.cases[-1].id == "fsa2020-44"
    assert {c.source.year for c in other.cases} == {2020}


MINI = """\
 【事例集】

２．事例

① 新しいテーマの障害

➢ 一件目の見出し

➢ 二件目の見出し用語1

1 「用語」とは、説明の文である。

＜業態等＞

 地域銀行、貸金業者

＜事象＞

○ 一件目の事象が発

生した。

＜原因＞

\uf075 原因の文。

＜対策＞

\uf06c 対策の文

＜業態等＞

 主要行等

＜事象＞

○ 二件目の事象。

＜原因＞

\uf075 原因A

\uf075 原因B

＜対策＞

\uf06c 対策

＜事象＞

○ 三件目は前の見出しを継ぐ。

＜原因＞

\uf075 原因

＜対策＞

\uf06c 対策
"""


def test_a_small_report_in_the_same_layout():
    report = parse_report(MINI, year=2021)
    assert [c.id for c in report.cases] == ["fsa2021-01", "fsa2021-02", "fsa2021-03"]
    first, second, third = report.cases
    assert first.theme.id == "theme_1" and first.theme.label == "新しいテーマの障害"
    assert first.title == "一件目の見出し" and first.sectors == ["地域銀行", "貸金業者"]
    assert first.event == "一件目の事象が発生した。"
    assert second.title == "二件目の見出し用語" and second.causes == ["原因A", "原因B"]
    assert third.title == second.title and third.sectors == ["主要行等"]
    assert report.glossary == {"用語": "「用語」とは、説明の文である。"}


def test_layout_errors_name_the_line():
    extra_heading = MINI.replace("➢ 二件目の見出し用語1", "➢ 二件目の見出し用語1\n\n➢ 余った見出し")
    with pytest.raises(ReportParseError, match=r"line \d+: 1 ➢ heading\(s\) name no case"):
        parse_report(extra_heading)
    no_heading = MINI.replace("➢ 一件目の見出し\n", "")
    with pytest.raises(ReportParseError, match=r"line 30: ＜業態等＞ without a ➢ heading"):
        parse_report(no_heading)
    with pytest.raises(ReportParseError, match="no ＜事象＞"):
        parse_report("ただの文章。\n")
    no_cause = MINI.replace("\uf075 原因の文。", "")
    with pytest.raises(ReportParseError, match="fsa2019-01.*no ＜原因＞ item"):
        parse_report(no_cause)
