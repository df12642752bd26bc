"""Error messages of the web page in the page's language.

The JSON API answers in English with a stable ``code`` (clients key on it); the Japanese
page shows the same failure in Japanese. A message is chosen by the error's code and
filled from its ``params`` (``ApiError(..., params={"id": …})``); validation errors are
worded from pydantic's error types and the field's Japanese name. A code without a
Japanese wording gets the status's general message, so no English sentence reaches the
Japanese page. The English page keeps the API's message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Japanese wording per error code; ``{name}`` is filled from the error's params.
CODE_MESSAGES_JA: dict[str, str] = {
    "form_fields": "フォームの項目が多すぎます（上限 {limit} 項目）。",
    "case_not_found": "事例「{id}」は見つかりません。事例一覧から選んでください。",
    "node_not_found": "グラフに「{id}」というノードはありません。",
    "cause_not_found": "原因「{id}」は見つかりません。原因の分類から選んでください。",
    "countermeasure_not_found": "対策「{id}」は見つかりません。対策の分類から選んでください。",
    "not_found": "ページが見つかりません: {path}",
    "method_not_allowed": "このページでは {method} は使えません。",
    "graph_unavailable": "知識グラフが利用できません。しばらくしてから再度お試しください。",
    "starting": "サービスを起動しています。しばらくしてから再度お試しください。",
    "busy": "検索が混み合っています。少し待ってから再度お試しください。",
    "search_timeout": "検索が {seconds} 秒以内に終わりませんでした。しばらくしてから再度お試しください。",
    "rate_limited": "短時間のアクセスが多すぎます。{retry} 秒後に再度お試しください。",
    "payload_too_large": "送信された内容が大きすぎます(上限 {limit})。",
    "request_timeout": "送信が時間内に完了しませんでした。再度お試しください。",
    "text_too_long": "障害の内容が長すぎます({length} 文字)。{limit} 文字以内にしてください。",
    "empty_text": "障害の内容を入力してください。",
    "k_range": "表示件数は 1 から {max_k} までの整数にしてください。",
    "k_integer": "表示件数は整数で指定してください。",
    "invalid_text": "入力に使えない文字が含まれています。",
    "unknown_sector": "業態「{value}」はありません。選べる業態: {known}",
    "unknown_theme": "テーマ「{value}」はありません。選べるテーマ: {known}",
    "feedback_limit": "判定の上限に達しました。しばらくしてから再度お試しください。",
    "internal_error": "サーバー内部でエラーが発生しました。詳細はサーバーのログにあります。",
}

#: The general message of a status, for codes without their own wording.
STATUS_MESSAGES_JA: dict[int, str] = {
    400: "リクエストの形式が正しくありません。",
    401: "認証が必要です。",
    403: "この操作は許可されていません。",
    404: "ページが見つかりません。",
    405: "この操作はこのページでは使えません。",
    408: "送信が時間内に完了しませんでした。再度お試しください。",
    409: "すでに同じものがあります。",
    413: "送信された内容が大きすぎます。",
    422: "入力内容を確認してください。",
    429: "短時間のアクセスが多すぎます。少し待ってから再度お試しください。",
    500: "サーバー内部でエラーが発生しました。詳細はサーバーのログにあります。",
    503: "サービスが一時的に利用できません。しばらくしてから再度お試しください。",
}

#: Japanese names of the fields a person can set on the page (form fields, query params).
FIELD_NAMES_JA: dict[str, str] = {
    "text": "障害の内容",
    "q": "障害の内容",
    "k": "表示件数",
    "sector": "業態",
    "sectors": "業態",
    "theme": "テーマ",
    "themes": "テーマ",
    "page": "ページ番号",
    "depth": "深さ",
    "node": "ノード",
    "level": "集計単位",
    "case_id": "事例ID",
    "cause_id": "原因ID",
    "cm_id": "対策ID",
    "lang": "言語",
}

#: Wording per pydantic error type; ``{field}`` and the error's ``ctx`` fill it.
VALIDATION_MESSAGES_JA: dict[str, str] = {
    "missing": "{field}を入力してください。",
    "string_too_short": "{field}を入力してください。",
    "string_too_long": "{field}は {max_length} 文字以内にしてください。",
    "too_long": "{field}は {max_length} 個までです。",
    "greater_than_equal": "{field}は {ge} 以上にしてください。",
    "greater_than": "{field}は {gt} より大きくしてください。",
    "less_than_equal": "{field}は {le} 以下にしてください。",
    "less_than": "{field}は {lt} より小さくしてください。",
    "int_parsing": "{field}は整数で指定してください。",
    "int_type": "{field}は整数で指定してください。",
    "int_from_float": "{field}は整数で指定してください。",
    "string_pattern_mismatch": "{field}の値が正しくありません。",
    "literal_error": "{field}の値が正しくありません。",
    "enum": "{field}の値が正しくありません。",
    "extra_forbidden": "{field}という項目は使えません。",
}


def _fill(template: str, params: Mapping[str, Any]) -> str | None:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return None


def _field_name(loc: Sequence[Any]) -> str:
    names = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    names = [n for n in names if not n.isdigit()]
    if not names:
        return "入力"
    return FIELD_NAMES_JA.get(names[0], names[0])


def validation_message_ja(errors: Sequence[Mapping[str, Any]]) -> str:
    """pydantic errors (``exc.errors()``) as Japanese sentences, one per field."""
    out: list[str] = []
    for err in errors:
        field = _field_name(err.get("loc", ()))
        kind = str(err.get("type", ""))
        message = None
        if kind == "value_error":
            text = str(err.get("msg", ""))
            if "control character" in text or "surrogate" in text:
                message = f"{field}に使えない文字(制御文字など)が含まれています。"
            elif "integer" in text:
                message = f"{field}は整数で指定してください。"
        elif kind in VALIDATION_MESSAGES_JA:
            message = _fill(
                VALIDATION_MESSAGES_JA[kind], {"field": field, **(err.get("ctx") or {})}
            )
        message = message or f"{field}の値が正しくありません。"
        if message not in out:
            out.append(message)
    return " ".join(out[:5]) or STATUS_MESSAGES_JA[422]


def error_message(
    lang: str,
    status: int,
    code: str,
    message: str,
    params: Mapping[str, Any] | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """What the page says about an error: the API's message on the English page, the
    Japanese wording (by code, by validation error, else by status) on the Japanese one."""
    if lang == "en":
        return message
    if errors:
        return validation_message_ja(errors)
    params = params or {}
    template = CODE_MESSAGES_JA.get(params.get("kind") or code)
    if template is not None:
        filled = _fill(template, params)
        if filled is not None:
            return filled
    return STATUS_MESSAGES_JA.get(status) or (
        "リクエストを処理できませんでした。" if status < 500 else STATUS_MESSAGES_JA[500]
    )
