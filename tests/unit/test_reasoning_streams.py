"""Reasoning models: thinking streamed apart from the answer (`delta.reasoning_content`,
`delta.reasoning`, Claude's thinking blocks) is progress, never answer text; the meter shows
`thinking · N tok` and then the answer's own rate; an answer that only reasoned is no answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ladder_lsp.backends.anthropic import ClaudeBackend
from ladder_lsp.backends.base import ChatRequest, StreamEvent
from ladder_lsp.backends.openai_compat import OpenAICompatBackend
from ladder_lsp.engine.progress import ProgressMeter
from ladder_lsp.pipeline.reasoning import only_reasoned
from ladder_lsp.settings import ClaudeSettings, LocalSettings
from tests.fakes import ClaudeReply, FakeAnthropic, FakeLMStudio, Reply, Thought

REQUEST = ChatRequest(system="You edit code.", user="Refactor: def f(): pass", max_tokens=300)
INTERLEAVED = [
    Thought("The user wants "),
    Thought("a rewrite."),
    "```python\n",
    Thought(" (still thinking)"),
    "def f():\n    return None\n```\n",
]
ANSWER = "```python\ndef f():\n    return None\n```\n"


class Events(list[StreamEvent]):
    def __call__(self, event: StreamEvent) -> None:
        self.append(event)


@pytest.fixture
def fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as f:
        yield f


@pytest.fixture
async def local(fake: FakeLMStudio) -> AsyncIterator[OpenAICompatBackend]:
    async with httpx.AsyncClient() as http:
        yield OpenAICompatBackend(LocalSettings(base_url=fake.base_url), http)


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
async def test_interleaved_reasoning_is_progress_not_answer(
    fake: FakeLMStudio, local: OpenAICompatBackend, key: str
) -> None:
    fake.push(Reply(chunks=INTERLEAVED, reasoning_key=key))
    events = Events()
    done = await local.complete(REQUEST, events)
    assert done.text == ANSWER
    assert done.reasoning_tokens == 3
    assert "".join(e.reasoning for e in events) == "The user wants a rewrite. (still thinking)"
    assert "".join(e.text for e in events) == ANSWER


async def test_reasoning_in_a_whole_body_is_counted_not_returned(
    fake: FakeLMStudio, local: OpenAICompatBackend
) -> None:
    fake.push(Reply(chunks=INTERLEAVED))
    whole = await local._plain(
        {"model": "m", "messages": [{"role": "user", "content": "x"}]}, Events()
    )
    assert whole.text == ANSWER
    assert whole.reasoning_tokens > 0


async def test_a_stream_of_only_reasoning_is_an_empty_answer_that_says_so(
    fake: FakeLMStudio, local: OpenAICompatBackend
) -> None:
    fake.push(Reply(chunks=[Thought("hmm "), Thought("let me see")], finish_reason="length"))
    done = await local.complete(REQUEST, Events())
    assert done.text == "" and done.reasoning_tokens == 2
    reason = only_reasoned(done.text, done.reasoning_tokens, done.finish_reason)
    assert "cut off" in reason and "still reasoning" in reason


def test_only_reasoned_reasons() -> None:
    assert only_reasoned("", 5, "stop") == (
        "the model only reasoned (5 tok of thinking) and gave no answer"
    )
    assert only_reasoned("def f(): ...", 5, "length") == ""
    assert only_reasoned("", 0, "stop") == "", "no reasoning: the usual empty-answer path"


async def test_claude_thinking_blocks_are_progress_not_answer() -> None:
    with FakeAnthropic() as fake:
        fake.push(ClaudeReply(chunks=[Thought("Consider "), Thought("the loop."), ANSWER]))
        claude = ClaudeBackend(
            ClaudeSettings(model="claude-x", base_url=fake.url), "sk-test", max_retries=0
        )
        try:
            events = Events()
            done = await claude.complete(REQUEST, events)
        finally:
            await claude.aclose()
    assert done.text == ANSWER
    assert done.reasoning_tokens == 2
    assert "".join(e.reasoning for e in events) == "Consider the loop."


def test_meter_shows_thinking_then_the_answers_own_count() -> None:
    lines: list[str] = []
    meter = ProgressMeter(lines.append, min_interval=0.0)
    meter.start("local model · qwen")
    for _ in range(3):
        meter(StreamEvent(reasoning="hmm"))
    meter(StreamEvent(text="def"))
    meter(StreamEvent(text=" f"))
    assert lines[1:4] == [f"local model · qwen · thinking · {n} tok" for n in (1, 2, 3)]
    assert lines[4] == "local model · qwen · 1 tok", "the answer counts from its first token"
    assert lines[5].startswith("local model · qwen · 2 tok")
    assert meter.tokens == 2
