"""Claude's prices and what a call costs: the daily budget and the savings figure use them.

One table by model family prefix (longest match wins); an unknown Claude id is priced by its
family, else as Sonnet, so the budget still holds for models the table has not heard of.
"""

from __future__ import annotations

from typing import Protocol

import attrs


@attrs.frozen
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


# One table, by model family prefix (longest match wins). Anthropic list prices.
PRICES: dict[str, Price] = {
    "claude-opus-4-5": Price(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-6": Price(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4": Price(15.0, 75.0, 1.50, 18.75),
    "claude-opus": Price(5.0, 25.0, 0.50, 6.25),
    "claude-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4": Price(1.0, 5.0, 0.10, 1.25),
    "claude-haiku": Price(1.0, 5.0, 0.10, 1.25),
    "claude-3-opus": Price(15.0, 75.0, 1.50, 18.75),
    "claude-3-7-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-haiku": Price(0.80, 4.0, 0.08, 1.0),
    "claude-3-haiku": Price(0.25, 1.25, 0.03, 0.30),
}
FAMILIES = ("opus", "sonnet", "haiku")


def price_for(model: str) -> Price | None:
    """The model's price; an unknown Claude id is priced by its family, else as Sonnet, so the
    daily budget still holds for ids this table has not heard of. None: not a Claude model."""
    name = model.lower().rsplit("/", 1)[-1].removeprefix("anthropic.")
    matches = [k for k in PRICES if name.startswith(k)]
    if matches:
        return PRICES[max(matches, key=len)]
    family = next((f for f in FAMILIES if f in name), None)
    if family:
        return PRICES[f"claude-{family}"]
    return PRICES["claude-sonnet"] if "claude" in name else None


class Tokens(Protocol):
    """Token counts of a call: `backends.base.Usage`, the ledger's `AttemptRecord`."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...


def cost(model: str, tokens: Tokens) -> float:
    """USD for these tokens at the model's price; 0 for a model that is not Claude."""
    price = price_for(model)
    if price is None:
        return 0.0
    return (
        tokens.input_tokens * price.input
        + tokens.output_tokens * price.output
        + tokens.cache_read_tokens * price.cache_read
        + tokens.cache_write_tokens * price.cache_write
    ) / 1_000_000
