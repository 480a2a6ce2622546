"""Reasoning models over the wire (the fake LM Studio streaming `delta.reasoning_content`
between the answer's `content`): the thinking shows as progress and never reaches the
document; an answer that only reasoned is rejected with that reason."""

from __future__ import annotations

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, URI, refactor_total
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.fakes.script import Thought

THINKING = [Thought("Let me rename i "), Thought("to item. "), Thought("SECRET_THOUGHT")]


async def test_interleaved_reasoning_shows_as_thinking_and_stays_out_of_the_document(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    answer = ["```python\n", Thought("(checking the loop)"), f"{REFACTORED_TOTAL}```"]
    fake_local.push(Reply(chunks=[*THINKING, *answer], chunk_delay=0.002))
    fake_local.answer_after(lsp.progress_begun)  # the progress is read below
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is True, result
    text = lsp.docs[URI].text
    assert "t += item.price * item.qty" in text
    assert "SECRET_THOUGHT" not in text and "checking the loop" not in text
    messages = lsp.progress_messages()
    thinking = [i for i, m in enumerate(messages) if "thinking · " in m]
    answering = [i for i, m in enumerate(messages) if "thinking" not in m and " tok" in m]
    assert thinking and answering, messages
    assert thinking[0] < answering[0], "thinking is shown before the answer's tokens"


async def test_an_answer_that_only_reasoned_is_rejected_with_that_reason(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(chunks=THINKING))
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is False
    assert lsp.applied == [] and lsp.docs[URI].text == CART
    assert any("only reasoned" in m for m in lsp.messages()), lsp.messages()


async def test_an_answer_cut_off_while_reasoning_says_so(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(chunks=THINKING, finish_reason="length"))
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is False
    assert lsp.docs[URI].text == CART
    assert any("still reasoning" in m for m in lsp.messages()), lsp.messages()
