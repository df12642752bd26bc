"""``kizuki serve`` says at start what the page's 類似 buttons need (issue 22, item 10): a
user who has not set the key learns it from the console, not by pressing a button."""

from __future__ import annotations

import pytest
from kizuki_http import API_KEY


@pytest.mark.parametrize(
    ("api_key", "anonymous", "said", "not_said"),
    [
        (None, False, ["Writes are disabled", "buttons need the API key", "KIZUKI_API_KEY"], []),
        (API_KEY, False, ["buttons need the API key", "判定の設定"], ["Writes are disabled"]),
        (None, True, ["anonymous ones are on", "without the key"], ["need the API key"]),
    ],
)
def test_the_start_says_what_the_judgement_buttons_need(spawn, api_key, anonymous, said, not_said):
    env = {"KIZUKI_ANONYMOUS_FEEDBACK": "true"} if anonymous else None
    srv = spawn(api_key=api_key, env=env)
    srv.stop()
    console = srv.log()
    judgements = [line for line in console.splitlines() if "類似 / 類似ではない" in line]
    assert len(judgements) == 1, console
    for text in said:
        assert text in console, console
    for text in not_said:
        assert text not in console, console
