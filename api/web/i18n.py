"""Interface labels of the web page: Japanese first, English available (``?lang=en``).

Case text is the report's Japanese and is shown as is; graph nodes carry their own
``label_ja`` / ``label_en``.
"""

from __future__ import annotations

from kizuki.graph.build import SECTOR_NAMES
from kizuki.search.confidence import PARTIAL_AT, STRONG_AT
from kizuki.search.facets import vocabulary as facet_vocabulary

LANGS = ("ja", "en")
#: Where the graded match strengths begin (``search.confidence``), as the page shows them.
_STRONG, _PARTIAL = f"{STRONG_AT:.0%}", f"{PARTIAL_AT:.0%}"
DEFAULT_LANG = "ja"

LABELS: dict[str, tuple[str, str]] = {
    # navigation
    "brand_sub": ("金融機関システム障害 事例検索・原因グラフ", "Incident search & cause graph"),
    "nav_search": ("事例検索", "Search"),
    "nav_cases": ("事例一覧", "Cases"),
    "nav_causes": ("原因", "Causes"),
    "nav_countermeasures": ("対策", "Countermeasures"),
    "nav_analytics": ("分析", "Analytics"),
    "nav_graph": ("グラフ", "Graph"),
    "api_docs": ("API ドキュメント", "API docs"),
    # search page
    "search_title": ("類似事例検索", "Find similar incidents"),
    "search_lead": (
        "障害の状況を貼り付けると、過去の類似事例と考えられる原因・対策を示します。",
        "Paste what happened: Kizuki finds similar past cases, likely causes and countermeasures.",
    ),
    "paste_label": ("障害の内容", "Incident description"),
    "paste_placeholder": (
        "例: 夜間バッチが終わらず、翌朝のオンライン開始が遅れてATMが使えなかった。"
        "原因は前日のプログラム変更のテスト不足とみられる。",
        "e.g. The night batch did not finish, so online services and ATMs opened late. "
        "A program change made the day before was not tested enough.",
    ),
    "k_label": ("表示件数", "Results"),
    "sector_label": ("業態", "Sector"),
    "theme_label": ("テーマ", "Theme"),
    "year_label": ("年版", "Edition"),
    "trends_title": ("年版ごとの推移", "Trends over the editions"),
    "trends_lead": (
        "各年版の事例のうち、その原因を持つ事例の割合。実線はすべての年版に現れる原因。",
        "Share of each edition's cases that have the cause. Solid lines: causes found in "
        "every edition.",
    ),
    "trends_one_edition": (
        "年版が1つだけです。別の年版をインポートすると比較できます（kizuki corpus import REPORT.pdf）。",
        "Only one edition: import another to compare (kizuki corpus import REPORT.pdf).",
    ),
    "trends_mark": ("傾向", "Trend"),
    "trends_every": ("全年版", "every edition"),
    "trends_rising": ("増加", "rising"),
    "trends_share": ("事例の割合（%）", "share of cases (%)"),
    "trends_edition": ("{y}年版", "{y} edition"),
    "all": ("すべて", "All"),
    "search_button": ("検索", "Search"),
    "searching": ("検索中…", "Searching…"),
    "similar_cases": ("類似事例", "Similar cases"),
    # analysts' judgements (POST /feedback)
    "judge_similar": ("類似", "Similar"),
    "judge_not_similar": ("類似ではない", "Not similar"),
    "judge_grade": ("評価", "Grade"),
    "grade_2": ("2 類似", "2 similar"),
    "grade_1": ("1 一部類似", "1 partly similar"),
    "grade_0": ("0 類似ではない", "0 not similar"),
    "judge_note": ("メモ（任意）", "Note (optional)"),
    "judge_saving": ("保存中…", "Saving…"),
    "judge_saved": ("判定を保存しました", "Judgement saved"),
    "judge_failed": ("保存できませんでした", "Could not save"),
    "judge_need_key": (
        "判定の保存にはAPIキーが必要です。上の「判定の設定」で入力してください。",
        "Saving a judgement needs the API key: enter it under Judgement settings above.",
    ),
    "judgements_here": ("この検索での判定", "Judgements for this search"),
    "feedback_settings": ("判定の設定", "Judgement settings"),
    "feedback_key": ("APIキー", "API key"),
    "feedback_analyst": ("分析者名（任意）", "Analyst name (optional)"),
    "feedback_stored": (
        "この端末のブラウザに保存されます。",
        "Kept in this browser only.",
    ),
    "feedback_open": (
        "このサーバはAPIキーなしで判定を受け付けます。",
        "This server accepts judgements without the API key.",
    ),
    "feedback_why": ("分析者の判定", "Analysts' judgements"),
    "feedback_similar_for": (
        "分析者が「{q}」について類似と判定（{d}）",
        "an analyst judged this case similar for 「{q}」 on {d}",
    ),
    "feedback_similar_redacted": (
        "分析者が類似の検索でこの事例を類似と判定（詳細はAPIキーで表示）",
        "an analyst judged this case similar for a similar earlier search (details with the API key)",
    ),
    "feedback_not_similar_redacted": (
        "分析者が類似の検索でこの事例を類似ではないと判定（詳細はAPIキーで表示）",
        "an analyst judged this case not similar for a similar earlier search (details with the API key)",
    ),
    "feedback_not_similar_for": (
        "分析者が「{q}」について類似ではないと判定（{d}）",
        "an analyst judged this case not similar for 「{q}」 on {d}",
    ),
    "out_of_scope": (
        "この文章は{k}のように読めます。収録された{n}件はシステム障害の事例で、これにあたる事例はありません。",
        "This reads like {k}; the {n} cases held are IT-system failures, and none is of that kind.",
    ),
    "mechanisms_read": ("読み取った障害の仕組み", "Mechanism read in your text"),
    "both_mechanisms": ("共通する仕組み", "Both"),
    "no_good_match": (
        "十分に近い事例は見つかりませんでした。参考として近い順に表示しています。",
        "No case is a close match; the nearest cases are shown for reference.",
    ),
    "no_results": ("該当する事例がありません。", "No cases match."),
    "likely_causes": ("考えられる原因", "Likely causes"),
    "recommended_cms": ("推奨される対策", "Recommended countermeasures"),
    "evidence_text": ("入力文の根拠", "In your text"),
    "evidence_cases": ("類似事例の根拠", "From similar cases"),
    "addresses": ("対応する原因", "Addresses"),
    "score": ("スコア", "Score"),
    "match_strength": ("一致の強さ", "Match strength"),
    "confidence": ("確からしさ", "Confidence"),
    "threshold": ("しきい値", "threshold"),
    "strength_strong": ("強い一致", "Strong match"),
    "strength_partial": ("部分的な一致", "Partial match"),
    "strength_weak": ("弱い一致", "Weak match"),
    "strength_none": ("該当なし", "No good match"),
    "strength_rule_strong": (f"確からしさ {_STRONG} 以上", f"confidence {_STRONG} or more"),
    "strength_rule_partial": (
        f"確からしさ {_PARTIAL} 以上 {_STRONG} 未満",
        f"confidence {_PARTIAL} to {_STRONG}",
    ),
    "strength_rule_weak": (
        f"確からしさ {{t}} (しきい値) 以上 {_PARTIAL} 未満",
        f"confidence from the threshold ({{t}}) to {_PARTIAL}",
    ),
    "strength_rule_none": (
        "確からしさがしきい値 {t} 未満: 十分に近い事例はない",
        "confidence below the threshold ({t}): no good match",
    ),
    "strength_desc_strong": (
        "同じ種類の障害が過去の事例にある可能性が高いです。上位の事例を参考にしてください。",
        "The corpus very likely holds an incident of the same kind: start with the top results.",
    ),
    "strength_desc_partial": (
        "原因や症状の一部が共通する事例がある見込みです。違いに注意して参考にしてください。",
        "Cases that share part of the causes or symptoms are likely: read them for the differences too.",
    ),
    "strength_desc_weak": (
        "近い事例はありますが、共通点は限られる見込みです。",
        "There are nearby cases, but what they share is probably limited.",
    ),
    "legend_summary": ("数値の見方", "What the numbers mean"),
    "confidence_help": (
        "確からしさは、入力した障害に本当に類似した事例がコーパスにある確率の推定値です"
        "(評価用の事例で較正済み。検索をまたいで比較できます)。一致の強さはこれを段階に分けたものです。",
        "Confidence is the estimated probability that the corpus holds a real analogue of "
        "your incident (calibrated on graded queries; comparable across searches). The "
        "match strength grades it.",
    ),
    "score_help": (
        "各事例のスコアは、学習した順位付けによる値で、この検索の結果の並び順を決めるためのものです。"
        "値そのものに絶対的な意味はなく、別の検索の値とは比べられません。バーは1位の事例に対する比です。",
        "Each case's score comes from the learned ranking and only orders the results of "
        "this search: it has no absolute meaning and cannot be compared across searches. "
        "The bar is its ratio to the top result.",
    ),
    "score_tip": (
        "この検索内での相対値 (1位の {p})",
        "relative within this search ({p} of the top)",
    ),
    "lexical": ("語の一致", "terms"),
    "dense": ("意味の近さ", "meaning"),
    "cause_score_help": (
        "0〜1 の値。入力文にその原因の記述がある度合いと、類似事例にその原因が記録されている割合を"
        "半分ずつ合わせたものです。",
        "From 0 to 1: half how clearly your text states the cause, half how many of the "
        "similar cases (closest first) recorded it.",
    ),
    "cause_score_tip": (
        "入力文 {t}・類似事例 {n} (各半分)",
        "your text {t}, similar cases {n} (half each)",
    ),
    "cm_score_help": (
        "考えられる原因それぞれの値に、その原因に対してこの対策が取られた事例の割合を掛けて合計した値です。"
        "大きいほど多くの原因に、多くの事例で用いられた対策です(相対値)。",
        "The sum, over the likely causes, of each cause's value times the share of its "
        "cases that adopted this countermeasure: larger means it answers more of the "
        "causes, in more cases (relative).",
    ),
    "matched_fields": ("一致箇所", "Matched in"),
    "shared_terms": ("共通する語", "Shared terms"),
    "via_synonym": ("同義語", "synonym"),
    "share_link": ("この検索のリンク", "Link to this search"),
    "translation_note": (
        "Kizuki チームによる訳です。記録は日本語の原文です。",
        "English translation by the Kizuki team; the Japanese original is the record.",
    ),
    "japanese_original": ("日本語の原文", "Japanese original (日本語の原文)"),
    "similar_to_this": ("この事例に似た事例を探す", "Find cases similar to this one"),
    "none_found": ("なし", "None"),
    # case fields
    "field_title": ("件名", "Title"),
    "field_event": ("事象", "Event"),
    "field_causes": ("原因", "Causes"),
    "field_countermeasures": ("対策", "Countermeasures"),
    "field_sectors": ("業態", "Sectors"),
    "field_theme": ("テーマ", "Theme"),
    "field_outside": ("想定される見え方", "How it looks from outside"),
    "nav_review": ("変更レビュー", "Change review"),
    "review_title": ("変更レビュー", "Change review"),
    "review_lead": (
        "計画中の変更・作業計画を貼り付けると、繰り返すおそれのある過去の障害、計画から読み取れるリスク、"
        "他の金融機関が採った対策のチェックリストを示します。",
        "Paste a planned change or work plan: the past failures it risks repeating, the risks "
        "its statements point to, and a checklist of the countermeasures others adopted.",
    ),
    "plan_label": ("変更・作業計画", "Change or work plan"),
    "plan_placeholder": (
        "例: 来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が行う。",
        "e.g. Next month we replace the ATM monitoring server; the vendor migrates the data overnight.",
    ),
    "review_button": ("レビュー", "Review"),
    "checklist": ("変更前の確認事項", "Checklist before the change"),
    "checklist_note": (
        "各項目は、同じ原因に対して過去の事例で採られた対策です（根拠の事例と文を添えています）。",
        "Each item is a countermeasure past cases adopted against the same cause, with the cases and sentences behind it.",
    ),
    "supporting_cases": ("件の事例", "supporting cases"),
    "export_markdown": ("Markdown で保存", "Save as Markdown"),
    "export_csv": ("CSV で保存", "Save as CSV"),
    "print": ("印刷", "Print"),
    "similar_failures": ("似た過去の障害", "Similar past failures"),
    "matched_steps": ("該当する記述", "matching statements"),
    "risks": ("計画から読み取れるリスク", "Risks read in the plan"),
    "plan_sentence": ("計画の記述", "plan"),
    "plan_steps": ("記述ごとの類似事例", "Statement by statement"),
    "no_step_match": ("該当する事例はありません", "no close case"),
    "outside_note": (
        "Kizuki が事例ごとに書き添えた補助記述（報告書の本文ではありません）",
        "written by Kizuki's team for this case; not the report's text",
    ),
    "field_source": ("出典", "Source"),
    "source_section": ("・事例集「{s}」", ", case studies: {s}"),
    "source_edition": ("{e}版", "edition of {e}"),
    "source_page": ("{p}ページ", "page {p}"),
    "source_original": ("原本（金融庁）", "the original (FSA)"),
    "source_lines": (
        "報告書のテキスト版の {a}–{b} 行目から抽出",
        "extracted from lines {a}–{b} of the report's text version",
    ),
    "origin": ("登録元", "Origin"),
    "origin_seed": ("同梱コーパス", "bundled corpus"),
    "origin_api": ("API 登録", "added via API"),
    "origin_import": ("インポート", "imported"),
    # case / concept pages
    "case": ("事例", "Case"),
    "cause": ("原因", "Cause"),
    "countermeasure": ("対策", "Countermeasure"),
    "cause_nodes": ("原因(分類)", "Cause concepts"),
    "countermeasure_nodes": ("対策(分類)", "Countermeasure concepts"),
    "similar_cases_graph": ("類似事例", "Similar cases"),
    "related_cases": ("原因が共通する事例", "Cases sharing a cause"),
    "shared_causes": ("共通の原因", "Shared causes"),
    "neighbourhood": ("周辺グラフ", "Neighbourhood"),
    "open_graph": ("グラフを拡大表示", "Open the graph view"),
    "definition": ("定義", "Definition"),
    "group": ("分類グループ", "Group"),
    "narrower": ("下位の分類", "Narrower concepts"),
    "cases_with_cause": ("この原因がみられた事例", "Cases with this cause"),
    "cms_for_cause": ("この原因への対策 (支持事例数順)", "Countermeasures against it (by support)"),
    "causes_for_cm": ("この対策が対応する原因", "Causes it addresses"),
    "cases_with_cm": ("この対策を講じた事例", "Cases that adopted it"),
    "support": ("支持事例", "supporting cases"),
    "strength": ("強さ", "strength"),
    "n_cases": ("事例数", "Cases"),
    "n_linked_cause": ("対策数", "Countermeasures"),
    "n_linked_cm": ("原因数", "Causes"),
    "source_annotation": ("人手注釈", "annotated"),
    "source_extraction": ("自動抽出", "extracted"),
    "addresses_causes": ("対応する原因", "addresses"),
    # lists
    "cases_title": ("事例一覧", "Cases"),
    "filter": ("絞り込み", "Filter"),
    "keyword": ("キーワード", "Keyword"),
    "apply": ("適用", "Apply"),
    "prev": ("前へ", "Previous"),
    "next": ("次へ", "Next"),
    "showing": ("件中", "of"),
    "causes_title": ("原因の分類", "Cause concepts"),
    "cms_title": ("対策の分類", "Countermeasure concepts"),
    # analytics
    "analytics_title": ("繰り返し現れる原因", "Recurring causes"),
    "analytics_lead": (
        "原因(分類)ごとの事例数。業態・テーマで絞り込めます。",
        "Number of cases per cause concept; filter by sector and theme.",
    ),
    "level": ("集計単位", "Level"),
    "level_concept": ("個別の原因", "Concepts"),
    "level_group": ("原因グループ", "Groups"),
    "cooccurrence": ("同時に現れる原因", "Causes that occur together"),
    "coverage": ("対策の記録が少ない原因", "Causes with few recorded countermeasures"),
    "coverage_help": (
        "その原因を持つ事例のうち、原因に効く対策が記録された事例の割合（低い順）。",
        "Of the cases with the cause, the share that record a countermeasure addressing it "
        "(lowest first).",
    ),
    "coverage_cases": ("対策の記録がある事例", "Cases with one"),
    "coverage_rate": ("対策記録率", "Coverage"),
    "same_as_item": ("項目 {n} と同じ対策", "same countermeasure as item {n}"),
    "ev_measure": ("対策", "Measure"),
    "ev_cause": ("原因", "cause"),
    "pair": ("組み合わせ", "Pair"),
    "lift": ("リフト", "Lift"),
    "cases_in_scope": ("対象事例", "cases in scope"),
    "more_rows": ("ほか %d 件", "%d more"),
    "examples": ("例を試す", "Try an example"),
    # graph
    "graph_title": ("グラフ表示", "Graph view"),
    "depth": ("深さ", "Depth"),
    "legend": ("凡例", "Legend"),
    "graph_help": (
        "ノードをクリックで詳細とつながりの展開、ダブルクリックでそのノードを中心に表示。"
        "ノードは種類ごとに並び、薄い文字は 2 段以上先のノードです。",
        "Click a node for details and to expand its links; double-click to centre on it. "
        "Nodes are grouped by kind; grey labels are two or more links away.",
    ),
    "open_page": ("ページを開く", "Open page"),
    "expand_node": ("つながりを展開", "Expand its links"),
    "graph_failed": ("グラフを表示できませんでした", "The graph could not be drawn"),
    "sector": ("業態", "Sector"),
    "theme": ("テーマ", "Theme"),
    # cause chains, failure paths and control frameworks (issue 24)
    "chain_title": ("障害の連鎖", "How the failure unfolded"),
    "chain_lead": (
        "障害がどう広がったかを順に示します。各段階にマウスを重ねると根拠の文が表示されます。",
        "The steps in the order they happened; hover a step to see its evidence sentence.",
    ),
    "chain_source_annotation": ("レビュー済み", "reviewed"),
    "chain_source_extraction": ("本文から自動抽出", "read from the text"),
    "paths_title": ("よくある障害の経路", "Common failure paths"),
    "paths_lead": (
        "事例の連鎖に繰り返し現れる原因の並び。線の太さは事例数。",
        "Cause sequences that recur in the cases' chains; line width is the number of cases.",
    ),
    "paths_support": ("事例数", "Cases"),
    "paths_cut": ("最も早く断てた段階と対策", "Earliest step a countermeasure cut"),
    "paths_none": (
        "2件以上の事例に共通する経路はありません",
        "No path shared by two or more cases",
    ),
    "controls_title": ("管理策の観点（NIST CSF 2.0）", "Control frameworks (NIST CSF 2.0)"),
    "controls_functions": ("原因が集中する機能", "Where the failures concentrate"),
    "controls_unanswered": (
        "対策が記録されていない失敗した管理策",
        "Failed controls with no recorded countermeasure",
    ),
    "controls_csv": ("監査調書用CSV", "CSV for the audit working paper"),
    # errors
    "error_title": ("エラー", "Error"),
    "back_home": ("検索に戻る", "Back to search"),
    "source_note": (
        "出典: 金融庁「金融機関のシステム障害に関する分析レポート」(2019年6月)を加工して作成",
        "Source: FSA, Analysis report on system failures at financial institutions "
        "(June 2019), adapted",
    ),
}


def translator(lang: str):
    """``t(key)`` for a language; unknown keys show themselves so gaps are visible."""
    i = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = LABELS.get(key)
        return pair[i] if pair else key

    return t


#: Example incidents on the search page, written as staff would paste them (not report text).
EXAMPLES: tuple[str, ...] = (
    "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMや窓口の取引ができなかった。",
    "委託先のクラウドサービスで障害が起き、インターネットバンキングに数時間ログインできなかった。",
    "プログラム改修のリリース後、一部の振込で手数料が二重に引き落とされていたことが判明した。",
    "The certificate on the payment gateway expired and card payments failed until it was renewed.",
)


def facet_label(facet: str, lang: str) -> str:
    """A mechanism facet's name (発端 / trigger, …) in the page's language."""
    ja, en = facet_vocabulary().facet_labels.get(facet, (facet, facet))
    return ja if lang == "ja" else en


def sector_name(sector: str, lang: str) -> str:
    """A sector label in the page language (the report's labels are Japanese)."""
    if lang != "en":
        return sector

    key = sector.strip().replace("(", "（").replace(")", "）")
    return SECTOR_NAMES.get(key, (None, sector))[1]


def theme_name(theme_id: str, label: str, lang: str) -> str:
    return theme_id.replace("_", " ").capitalize() if lang == "en" else label


def node_label(data: dict | object, lang: str) -> str:
    """A graph node's (or NodeRef's) label in the page language, falling back to Japanese."""
    get = data.get if isinstance(data, dict) else lambda k, d="": getattr(data, k, d)
    if get("type", "") == "case":
        # A case's title exists only in Japanese (its graph label_en is the case id).
        return get("label_ja", "") or get("label_en", "")
    if lang == "en":
        return get("label_en", "") or get("label_ja", "")
    return get("label_ja", "") or get("label_en", "")
