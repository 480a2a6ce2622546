"""What a run's outcome tells: the model that answered (rejected and unchanged answers too),
the context left out to fit the model's window, and an answer budget sized from the code.
An Engine against the fake LM Studio over real HTTP; no editor, no ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.engine.actions import BUILTIN
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.prompts import PROMPT_MARGIN_TOKENS, answer_budget, estimate_tokens
from ladder_lsp.engine.run_types import RunInput, RunOutcome
from ladder_lsp.pipeline.target import make_target
from ladder_lsp.settings import parse_settings
from tests.fakes.lmstudio import DEFAULT_MODELS, FakeLMStudio, Reply

SPECS = {a.id: a for a in BUILTIN}
MODEL = "qwen2.5-coder-7b-instruct"
IMPORTS = "".join(
    f"from package.subpackage.module_number_{i:03d} import something_rather_long_{i}\n"
    for i in range(40)
)
FUNCTION = "def total(items):\n    t = 0\n    for i in items:\n        t = t + i\n    return t\n"
DOC = f"{IMPORTS}\n\n{FUNCTION}"
FIRST = DOC.count("\n", 0, DOC.index("def total"))  # 0-based line of `def total`
GOOD = "```python\ndef total(items):\n    return sum(items)\n```"


def model_with_context(tokens: int) -> list[dict[str, Any]]:
    return [{**DEFAULT_MODELS[0], "max_context_length": tokens}]


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeLMStudio]:
    """The fake server; `window(tokens)` gives its loaded model that context length."""
    tokens = getattr(request, "param", None)
    with FakeLMStudio(models=model_with_context(tokens) if tokens else None) as fake:
        yield fake


def window(tokens: int) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("fake", [tokens], indirect=True, ids=[f"{tokens} tokens"])


async def run(fake: FakeLMStudio, *replies: str, doc: str = DOC, first: int = FIRST) -> RunOutcome:
    for reply in replies:
        fake.push(Reply(reply))
    settings, problems = parse_settings(
        {
            "local": {"baseUrl": fake.base_url, "embeddedModel": "off"},
            "routing": {"escalateOnFailure": False},
        }
    )
    assert problems == []
    lines = split_lines(doc)
    target = make_target("file:///p/cart.py", 1, tuple(lines), (first, 0), (len(lines), 0))
    engine = Engine(settings)
    try:
        return await engine.run(
            RunInput(SPECS["refactor"], target, "python", "/p/cart.py"), lambda _m: None
        )
    finally:
        await engine.aclose()


# -- the model that answered ---------------------------------------------------------------


async def test_a_rejected_answer_names_the_model_that_gave_it(fake: FakeLMStudio) -> None:
    lazy = "```python\ndef total(items):\n    # ... rest of the code unchanged\n```"
    outcome = await run(fake, lazy)
    assert outcome.status == "rejected", outcome
    assert outcome.model == MODEL
    assert [a.model for a in outcome.attempts] == [MODEL]


async def test_an_unchanged_answer_names_the_model_that_gave_it(fake: FakeLMStudio) -> None:
    outcome = await run(fake, f"```python\n{FUNCTION}```")
    assert outcome.status == "no-change", outcome
    assert outcome.model == MODEL


async def test_no_answer_means_no_model(fake: FakeLMStudio) -> None:
    fake.models = []  # nothing to answer with
    outcome = await run(fake)
    assert outcome.status == "failed" and outcome.model == ""


# -- context trimmed to fit ----------------------------------------------------------------


@window(1400)
async def test_the_user_is_told_which_context_was_left_out(fake: FakeLMStudio) -> None:
    outcome = await run(fake, GOOD)
    assert outcome.status == "edit", outcome
    sent = fake.chat_requests()[0]["messages"][1]["content"]
    missing = [n for n in range(40) if f"module_number_{n:03d} " not in sent]
    assert missing and missing == list(range(missing[0], 40))  # the last imports did not fit
    lines = f"line {missing[0] + 1}" if len(missing) == 1 else f"lines {missing[0] + 1}-40"
    assert outcome.message == (
        f"Refactor by local model ({MODEL}): 1 line(s) changed; context trimmed to fit the "
        f"model's context window: the imports on {lines} were not sent."
    )


@window(1400)
async def test_a_rejected_run_also_says_what_was_left_out(fake: FakeLMStudio) -> None:
    outcome = await run(fake, "```python\ndef total(items):\n    return sum(items\n```")
    assert outcome.status == "rejected", outcome
    assert outcome.message.startswith("No edit: the local model's answer was rejected — syntax")
    assert "; context trimmed to fit the model's context window: the imports on" in (
        outcome.message
    )


async def test_nothing_is_said_when_everything_fit(fake: FakeLMStudio) -> None:
    outcome = await run(fake, GOOD)
    assert outcome.message == f"Refactor by local model ({MODEL}): 1 line(s) changed."


# -- the answer's budget -------------------------------------------------------------------

LONG = "def long(values):\n" + "".join(
    f"    value_{i} = compute(values, {i}, {i + 1})\n" for i in range(120)
)


async def test_a_long_function_gets_room_for_its_whole_rewrite(fake: FakeLMStudio) -> None:
    await run(fake, GOOD, doc=LONG, first=0)
    sent = fake.chat_requests()[0]
    assert sent["max_tokens"] == answer_budget(LONG, SPECS["refactor"])
    assert sent["max_tokens"] > 2 * estimate_tokens(LONG) > 512


@window(4096)
async def test_the_answer_budget_stops_at_the_model_window(fake: FakeLMStudio) -> None:
    await run(fake, GOOD, doc=LONG, first=0)
    sent = fake.chat_requests()[0]
    prompt = sum(estimate_tokens(m["content"]) for m in sent["messages"])
    assert 512 <= sent["max_tokens"] <= 4096 - PROMPT_MARGIN_TOKENS - prompt
    assert sent["max_tokens"] < answer_budget(LONG, SPECS["refactor"])
