"""Claude's prices: the table, the most specific entry, unknown ids still priced."""

from __future__ import annotations

import pytest

from ladder_lsp.backends.base import Usage
from ladder_lsp.store.pricing import PRICES, cost, price_for

SONNET = PRICES["claude-sonnet"]


def test_cost_uses_the_price_table_per_million_tokens() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    assert cost("claude-sonnet-4-5", usage) == pytest.approx(3.0 + 15.0 + 0.30 + 3.75)
    small = Usage(input_tokens=2000, output_tokens=500)
    assert cost("claude-sonnet-4-5-20250929", small) == pytest.approx(
        (2000 * 3.0 + 500 * 15.0) / 1e6
    )


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-opus-4-1-20250805", "claude-opus-4"),  # longest prefix wins over claude-opus
        ("claude-opus-4-5", "claude-opus-4-5"),
        ("claude-haiku-4-5", "claude-haiku-4"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-haiku-20240307", "claude-3-haiku"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("claude-3-opus-20240229", "claude-3-opus"),
    ],
)
def test_price_for_picks_the_most_specific_entry(model: str, key: str) -> None:
    assert price_for(model) == PRICES[key]


def test_unknown_claude_models_are_still_priced_so_the_budget_holds() -> None:
    assert price_for("anthropic.claude-sonnet-9-v1:0") == SONNET
    assert price_for("claude-new-model-2030") == SONNET
    assert price_for("some-org/claude-haiku-7") == PRICES["claude-haiku"]
    assert cost("claude-future", Usage(1_000_000, 0)) > 0


def test_local_models_cost_nothing() -> None:
    assert price_for("qwen2.5-coder-7b-instruct") is None
    assert cost("qwen2.5-coder-7b-instruct", Usage(10_000, 10_000)) == 0.0
