"""The API refuses what the CLI refuses, in the API's own words (issue 22, item 8): unknown
filter values, a raw Japanese query string, and the wording of its messages."""

from __future__ import annotations

import json
import os
import socket
from urllib.parse import urlencode

import pytest
from kizuki_http import error_of

TEXT = "夜間バッチが異常終了し、オンライン開始が遅れた"
SECTORS = ["主要行等", "地域銀行"]


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [hit["case_id"] for hit in response.json()["results"]]


@pytest.mark.parametrize(
    ("field", "value", "known"),
    [
        ("sectors", "regional_banks", "地域銀行"),
        ("sectors", "宇宙銀行", "主要行等"),
        ("themes", "no_such_theme", "procedure_error"),
        ("themes", "作業手順誤り", "third_party"),
    ],
)
def test_an_unknown_search_filter_is_422_with_the_known_values(client, field, value, known):
    r = client.post("/search", json={"text": TEXT, "k": 3, field: [value]})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "validation_error"
    assert repr(value) in error["message"] and known in error["message"]


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("sectors", ["地域銀行", " 地域銀行 ", "sector.regional_banks"]),
        (
            "sectors",
            [
                "金融商品取引業者（ネット証券会社）",
                "金融商品取引業者(ネット証券会社)",
                "sector.online_securities",
            ],
        ),
        ("themes", ["procedure_error", "作業手順誤りに起因する障害", "theme.procedure_error"]),
    ],
)
def test_a_filter_may_name_a_value_by_label_normalised_label_or_node_id(client, field, names):
    answers = [
        _ids(client.post("/search", json={"text": TEXT, "k": 5, field: [name]})) for name in names
    ]
    assert answers[0] and all(a == answers[0] for a in answers)
    param = field.removesuffix("s")
    listed = client.get("/cases", params={param: names[0], "limit": 200}).json()["items"]
    assert set(answers[0]) <= {case["id"] for case in listed} and len(listed) < 44


@pytest.mark.parametrize("table", ["recurring", "cooccurrence", "coverage"])
@pytest.mark.parametrize(
    ("param", "value"), [("sector", "regional_banks"), ("theme", "theme.nope")]
)
def test_an_unknown_analytics_filter_is_422(client, table, param, value):
    r = client.get(f"/analytics/{table}", params={param: value})
    assert r.status_code == 422
    message = error_of(r)["message"]
    assert f"unknown {param} {value!r}" in message and "known:" in message


def test_an_unknown_case_list_filter_is_422(client):
    r = client.get("/cases", params={"sector": "regional_banks"})
    assert r.status_code == 422 and "地域銀行" in error_of(r)["message"]
    ok = client.get("/cases", params={"sector": "sector.regional_banks", "limit": 200})
    assert ok.status_code == 200 and ok.json()["total"] > 0


def test_the_page_refuses_an_unknown_sector_in_its_language(client):
    page = client.get("/?" + urlencode({"q": TEXT, "sector": "regional_banks"}))
    assert page.status_code == 422
    assert "業態「regional_banks」はありません" in page.text and "地域銀行" in page.text
    analytics = client.get("/ui/analytics", params={"sector": "regional_banks"})
    assert analytics.status_code == 422 and "業態「regional_banks」はありません" in analytics.text
    english = client.get("/?" + urlencode({"q": TEXT, "theme": "nope", "lang": "en"}))
    assert english.status_code == 422 and "unknown theme" in english.text


def _raw(server, request: bytes) -> tuple[str, dict[str, str], bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    "target", ["/?q=夜間バッチが異常終了", "/analytics/recurring?sector=地域銀行"]
)
def test_a_raw_japanese_query_string_gets_the_json_error_shape(server, target):
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    status, headers, body = _raw(server, request)
    assert status.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_http" and "percent-encoded" in error["message"]


def test_http_messages_name_endpoints_not_commands(client):
    for path, hint in [
        ("/causes/cause.nope", "GET /causes"),
        ("/countermeasures/cm.nope", "GET /countermeasures"),
        ("/cases/nope-1", "GET /cases"),
    ]:
        r = client.get(path)
        message = error_of(r)["message"]
        assert r.status_code == 404 and hint in message and "kizuki" not in message, message


def test_export_names_its_path_parameter_format(client):
    spec = client.get("/openapi.json").json()
    assert "/export/{format}" in spec["paths"]
    params = spec["paths"]["/export/{format}"]["get"]["parameters"]
    assert [p["name"] for p in params] == ["format"]
    r = client.get("/export/pdf")
    assert r.status_code == 422
    assert "fmt" not in r.text and error_of(r)["message"].startswith("format:")


def test_k_message_names_the_field_once(client):
    r = client.post("/search", json={"text": TEXT, "k": "5"})
    assert r.status_code == 422 and error_of(r)["message"] == "k: must be an integer"


def test_health_reports_the_effective_number_of_search_workers(client):
    limits = client.get("/health").json()["limits"]
    assert limits["search_workers"] == (os.cpu_count() or 1) + 2
