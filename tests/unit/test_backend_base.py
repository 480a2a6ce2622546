"""The limits every backend shares: how much of one answer is read."""

from __future__ import annotations

from ladder_lsp.backends.base import ANSWER_CHARS_PER_TOKEN, MAX_ANSWER_CHARS, answer_cap
from ladder_lsp.backends.openai_compat import MIN_CAP_TOKENS


def test_an_answer_is_read_to_its_token_budget_in_characters() -> None:
    assert answer_cap(300) == 300 * ANSWER_CHARS_PER_TOKEN
    assert answer_cap(0) == ANSWER_CHARS_PER_TOKEN


def test_a_local_answer_gets_at_least_the_floor() -> None:
    assert answer_cap(300, at_least=MIN_CAP_TOKENS) == 4096 * ANSWER_CHARS_PER_TOKEN
    assert answer_cap(8000, at_least=MIN_CAP_TOKENS) == 8000 * ANSWER_CHARS_PER_TOKEN


def test_no_answer_is_read_past_the_hard_cap() -> None:
    assert answer_cap(10**9) == MAX_ANSWER_CHARS
