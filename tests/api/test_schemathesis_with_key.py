"""The API contract (issue 11, 7): schemathesis with the API key, in its own file so that
``--dist loadfile`` runs it beside the other run (``schemathesis_run``)."""

from __future__ import annotations

from schemathesis_run import check_schemathesis


def test_schemathesis_finds_no_server_error_or_schema_violation(spawn, tmp_path):
    check_schemathesis(spawn, with_key=True, tmp_path=tmp_path)
