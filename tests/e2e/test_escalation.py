"""Local first, Claude when it matters: routing, check-retry-escalate, fallback, privacy,
budget — through the real SDK against the fake Messages server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import fake_for, with_marked_settings
from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, TOTAL_RANGE, URI, by_title
from tests.fakes.anthropic import ClaudeReply, FakeAnthropic, claude_error, sent_api_key
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.fakes.script import Fault, Thought

KEY = "sk-ant-test-0123456789abcdefghijklmnop"
GOOD = f"```python\n{REFACTORED_TOTAL}```"
BAD = "```python\ndef total(self, items):\n    # ... rest of the code\n```"


def settings(fake_local: FakeLMStudio, fake_claude: FakeAnthropic, ledger: Path) -> dict[str, Any]:
    return {
        "local": {"baseUrl": fake_local.base_url, "embeddedModel": "off"},
        "claude": {"baseUrl": fake_claude.url, "apiKey": KEY},
        "ledger": {"path": str(ledger / "ledger.sqlite3")},
    }


@pytest.fixture(scope="module")
def shared_fake_claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(autouse=True)
def fake_claude(
    request: pytest.FixtureRequest, shared_fake_claude: FakeAnthropic
) -> Iterator[FakeAnthropic]:
    with fake_for(request, shared_fake_claude, FakeAnthropic) as fake:
        yield fake


@pytest.fixture(scope="module")
def module_options(
    shared_fake_local: FakeLMStudio,
    shared_fake_claude: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    return settings(shared_fake_local, shared_fake_claude, tmp_path_factory.mktemp("ledger"))


@pytest.fixture
def init_options(
    request: pytest.FixtureRequest,
    fake_local: FakeLMStudio,
    fake_claude: FakeAnthropic,
    tmp_path: Path,
) -> dict[str, Any]:
    return with_marked_settings(request, settings(fake_local, fake_claude, tmp_path))


async def refactor(lsp: Editor, uri: str = URI, title: str = "Refactor with local model") -> Any:
    lsp.open(uri, CART)
    return await lsp.execute(by_title(await lsp.actions(uri, TOTAL_RANGE), title))


async def test_listing_offers_claude_as_alternative(lsp: Editor) -> None:
    lsp.open(URI, CART)
    titles = [a.title for a in await lsp.actions(URI, TOTAL_RANGE)]
    assert "Refactor with local model" in titles
    assert "Refactor with Claude" in titles
    assert "Add docstring with Claude" not in titles, "alternatives only for refactor and fix"


@pytest.mark.fresh_server("reads the ledger")
async def test_failing_local_answer_retries_then_escalates_to_claude(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_local.push(Reply(BAD), Reply(BAD))
    fake_local.answer_after(lsp.progress_begun)  # the progress is read below
    fake_claude.push(ClaudeReply(GOOD, input_tokens=400, output_tokens=60))
    result = await refactor(lsp)
    assert result == {"applied": True, "tier": "claude", "model": "claude-sonnet-5-5"}, result
    assert len(fake_local.chat_requests()) == 2
    retry_prompt = fake_local.chat_requests()[1]["messages"][1]["content"]
    assert "rejected because" in retry_prompt and "leaves code out" in retry_prompt
    (sent,) = fake_claude.message_requests()
    assert "leaves code out" in sent["messages"][0]["content"], "Claude hears what went wrong"
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent_api_key(fake_claude.requests[0]) == KEY
    assert "t += item.price * item.qty" in lsp.docs[URI].text
    final = [m for m in lsp.messages() if m.startswith("Ladder: Refactor")]
    assert final and "Claude" in final[-1]
    progress = lsp.progress_messages()
    assert any("escalating to Claude" in m for m in progress), progress
    usage = await lsp.command("ladder.usage")
    assert usage["tiers"]["claude"]["costUsd"] > 0
    assert usage["savedUsd"] == 0, "local work that was thrown away saved nothing"


async def test_reasoning_only_local_answers_escalate_and_claudes_thinking_is_dropped(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    thinking = [Thought("hmm, "), Thought("the loop...")]
    fake_local.push(Reply(chunks=thinking), Reply(chunks=thinking))
    fake_claude.push(ClaudeReply(chunks=[Thought("CLAUDE_THINKS "), GOOD]))
    result = await refactor(lsp)
    assert result["applied"] is True and result["tier"] == "claude", result
    retry_prompt = fake_local.chat_requests()[1]["messages"][1]["content"]
    assert "only reasoned" in retry_prompt, "the retry hears why the answer was rejected"
    assert "t += item.price * item.qty" in lsp.docs[URI].text
    assert "CLAUDE_THINKS" not in lsp.docs[URI].text


async def test_a_cross_cutting_instruction_goes_to_claude_and_the_log_says_why(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_claude.push(ClaudeReply(GOOD))
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Edit with local model…")
    assert action.command is not None and action.command.arguments
    args = {**action.command.arguments[0], "instruction": "rename the loop variable everywhere"}
    result = await lsp.command("ladder.run", args)
    assert result["applied"] is True and result["tier"] == "claude", result
    assert fake_local.chat_requests() == []
    logged = [m.message for m in lsp.client.log_messages]
    assert any('cross-cutting instruction ("everywhere")' in m for m in logged), logged


@pytest.mark.settings({"routing": {"escalateAbove": 1}})
async def test_complex_selection_goes_straight_to_claude(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_claude.push(ClaudeReply(GOOD))
    lsp.open(URI, CART)
    actions = await lsp.actions(URI, TOTAL_RANGE)
    action = next(a for a in actions if a.title.startswith("Refactor with Claude ("))
    assert "complexity" in action.title
    result = await lsp.execute(action)
    assert result["applied"] is True and result["tier"] == "claude"
    assert fake_local.chat_requests() == []


async def test_local_only_file_never_reaches_claude(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    uri = "file:///work/project/secrets/cart.py"
    fake_local.default = Reply(BAD)
    result = await refactor(lsp, uri)
    assert result["applied"] is False
    assert fake_claude.requests == []
    lsp_titles = [a.title for a in await lsp.actions(uri, TOTAL_RANGE)]
    assert "Refactor with Claude" not in lsp_titles


async def test_secret_in_selection_blocks_explicit_claude_choice(
    lsp: Editor, fake_claude: FakeAnthropic
) -> None:
    text = CART.replace("t = 0", 'token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"')
    lsp.open(URI, text)
    rng = {"start": {"line": 7, "character": 0}, "end": {"line": 12, "character": 0}}
    result = await lsp.command(
        "ladder.run", {"action": "refactor", "uri": URI, "range": rng, "tier": "claude"}
    )
    assert result["applied"] is False
    assert "GitHub token" in result["reason"]
    assert "ghp_" not in " ".join(lsp.messages())
    assert fake_claude.requests == []


@pytest.mark.settings({"budget": {"dailyUsd": 0.000001}})
async def test_budget_spent_means_no_claude_call(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_local.push(Reply(BAD), Reply(BAD))
    result = await refactor(lsp)
    assert result["applied"] is False
    assert fake_claude.requests == []
    assert any("leaves code out" in m for m in lsp.messages())


@pytest.mark.settings({"routing": {"escalateAbove": 1}})
async def test_claude_rate_limited_falls_back_to_local(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_claude.default = ClaudeReply(fault=claude_error(429, retry_after=0.01))
    fake_local.push(Reply(GOOD))
    lsp.open(URI, CART)
    action = next(
        a
        for a in await lsp.actions(URI, TOTAL_RANGE)
        if a.title.startswith("Refactor with Claude (")
    )
    result = await lsp.execute(action)
    assert result["applied"] is True and result["tier"] == "local", result
    assert len(fake_claude.message_requests()) == 3, "the SDK's bounded retries, then fallback"


@pytest.mark.settings({"routing": {"mode": "claude"}})
async def test_mode_claude_sends_nothing_to_the_local_model(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_claude.push(ClaudeReply(GOOD))
    result = await refactor(lsp, title="Refactor with Claude")
    assert result["applied"] is True and result["tier"] == "claude"
    assert fake_local.chat_requests() == []


@pytest.mark.fresh_server("stops the local model")
async def test_local_down_falls_back_to_claude(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    fake_local.stop()
    fake_claude.push(ClaudeReply(GOOD))
    result = await lsp.execute(action)
    assert result["applied"] is True and result["tier"] == "claude", result


@pytest.mark.settings({"routing": {"mode": "claude"}})
async def test_cancel_during_claude_stream_closes_it(
    lsp: Editor, fake_claude: FakeAnthropic
) -> None:
    fake_claude.push(ClaudeReply(fault=Fault.endless()))
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with Claude")
    run = asyncio.ensure_future(lsp.execute(action))
    assert await asyncio.to_thread(fake_claude.wait_for_active_streams, 1, 10)
    token = await lsp.progress_token()
    lsp.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(run, 10)
    assert result["applied"] is False and result["reason"] == "cancelled"
    assert await asyncio.to_thread(fake_claude.wait_for_disconnect, 10)


async def test_key_never_appears_in_messages_or_status(
    lsp: Editor, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    fake_claude.default = ClaudeReply(fault=claude_error(401))
    fake_local.push(Reply(BAD), Reply(BAD))
    await refactor(lsp)
    status = await lsp.command("ladder.status")
    everything = " ".join(
        [*lsp.messages(), *(m.message for m in lsp.client.log_messages), repr(status)]
    )
    assert "rejected the API key" in everything
    assert KEY not in everything and KEY[:12] not in everything
