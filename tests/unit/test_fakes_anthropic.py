"""FakeAnthropic driven by the real ``anthropic`` SDK: events, usage, errors, retries, hangups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes import ClaudeReply, FakeAnthropic, Fault, claude_error, error_event, sent_api_key

MODEL = "claude-sonnet-5-5"
MESSAGES: list[Any] = [{"role": "user", "content": "Refactor this function"}]


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as f:
        yield f
        assert f.errors == []


def make_client(fake: FakeAnthropic, **kwargs: Any) -> anthropic.AsyncAnthropic:
    options: dict[str, Any] = {"api_key": "test-key", "max_retries": 0, "timeout": 5.0}
    return anthropic.AsyncAnthropic(base_url=fake.url, **{**options, **kwargs})


@pytest.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with make_client(fake) as c:
        yield c


async def wait(blocking: Any, *args: Any) -> bool:
    """Run a blocking fake wait off the event loop so the client keeps running."""
    return bool(await asyncio.to_thread(blocking, *args))


async def test_stream_assembles_text_and_usage(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    text = "def add(a, b):\n    return a + b\n"
    fake.push(
        ClaudeReply(
            text,
            input_tokens=120,
            output_tokens=17,
            cache_creation_input_tokens=30,
            cache_read_input_tokens=90,
        )
    )
    pieces: list[str] = []
    async with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        async for piece in stream.text_stream:
            pieces.append(piece)
        message = await stream.get_final_message()
    assert "".join(pieces) == text and len(pieces) > 3
    assert message.content[0].type == "text" and message.content[0].text == text
    assert message.stop_reason == "end_turn"
    assert message.model == MODEL
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (120, 17)
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (30, 90)
    assert fake.completed_streams == 1 and fake.active_streams == 0


async def test_stream_event_sequence(fake: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake.push(ClaudeReply(chunks=["a", "b"], stop_reason="max_tokens"))
    stream = await client.messages.create(model=MODEL, max_tokens=2, messages=MESSAGES, stream=True)
    types = [event.type async for event in stream]
    assert types == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the SDK swallows `ping`
    raw = fake.message_requests()[-1]
    assert raw["stream"] is True and raw["max_tokens"] == 2


async def test_max_tokens_stop_reason(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.push(ClaudeReply("cut off", stop_reason="max_tokens"))
    async with client.messages.stream(model=MODEL, max_tokens=3, messages=MESSAGES) as stream:
        message = await stream.get_final_message()
    assert message.stop_reason == "max_tokens"


async def test_create_returns_message_json(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.push(ClaudeReply("x = 1", input_tokens=5, output_tokens=2))
    message = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert message.content[0].type == "text" and message.content[0].text == "x = 1"
    assert message.usage.input_tokens == 5 and message.usage.output_tokens == 2
    assert message.id.startswith("msg_")


async def test_records_headers_without_leaking_key(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    await client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    request = fake.requests_to("/v1/messages")[0]
    assert sent_api_key(request) == "test-key"  # this SDK sends it as a Bearer token
    assert request.headers["anthropic-version"]
    assert "test-key" not in repr(request)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ],
)
async def test_http_errors_reach_the_sdk_as_status_errors(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, status: int, error_type: str
) -> None:
    """What Ladder reads of an error (status, body type) in every SDK release it supports;
    the subclass names differ between releases (413 has its own class only in 2.x)."""
    fake.push(ClaudeReply(fault=claude_error(status)))
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
            await s.get_final_message()
    assert caught.value.status_code == status
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert (status >= 500) == isinstance(caught.value, anthropic.InternalServerError)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == error_type
    assert caught.value.response.headers["request-id"].startswith("req_")
    assert len(fake.requests) == 1  # max_retries=0


async def test_retry_after_is_honoured(fake: FakeAnthropic) -> None:
    fake.push(ClaudeReply(fault=claude_error(429, retry_after=0.02)), ClaudeReply("second"))
    async with make_client(fake, max_retries=1) as c:
        message = await c.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert message.content[0].type == "text" and message.content[0].text == "second"
    first, second = fake.requests
    assert second.headers["x-stainless-retry-count"] == "1"
    # Waited the server's 20 ms, not the SDK's own backoff (≥ 0.375 s).
    assert 0.02 <= second.received_at - first.received_at < 0.3


async def test_overloaded_529_is_retried_then_raises(fake: FakeAnthropic) -> None:
    fake.default = ClaudeReply(fault=claude_error(529, retry_after=0.01))
    async with make_client(fake, max_retries=1) as c:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await c.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert caught.value.status_code == 529
    assert len(fake.requests) == 2


async def test_api_key_checked_when_set() -> None:
    with FakeAnthropic(api_key="right") as f:
        async with make_client(f, api_key="wrong") as c:
            with pytest.raises(anthropic.AuthenticationError):
                await c.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
        async with make_client(f, api_key="right") as c:
            await c.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)


async def test_error_event_mid_stream(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.push(ClaudeReply("aaaa bbbb cccc", fault=error_event(after=1)))
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
            async for piece in s.text_stream:
                seen.append(piece)
    assert seen == ["aaaa"]
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"


async def test_drop_mid_stream_raises(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.push(ClaudeReply("aaaa bbbb cccc dddd", fault=Fault.drop_after(2)))
    seen: list[str] = []
    # What the SDK raises here differs between releases (httpx's own error in 0.x, an
    # APIConnectionError in 2.x); what holds across them: text arrived, then a failure.
    with pytest.raises(Exception, match="incomplete chunked read"):
        async with client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
            async for piece in s.text_stream:
                seen.append(piece)
    assert seen == ["aaaa", " bbbb"]
    assert fake.disconnects == 0


async def test_garbage_reaches_the_sdk_as_odd_failures(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    """Documents what a proxy answering 200 does to the SDK: Ladder must guard for these."""
    fake.push(ClaudeReply(fault=Fault.garbage()), ClaudeReply(fault=Fault.garbage(html=True)))
    with pytest.raises(ValueError):  # JSONDecodeError from an event's data
        async with client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
            await s.get_final_message()
    odd = await client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert not isinstance(odd, anthropic.types.Message)  # the HTML comes back as a str


async def test_client_closing_stream_is_a_disconnect(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.push(ClaudeReply("word " * 1000, chunk_delay=0.002))
    async with client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
        async for _ in s.text_stream:
            break
    assert await wait(fake.wait_for_disconnect, 5.0)
    assert fake.active_streams == 0 and fake.completed_streams == 0


async def test_hang_then_timeout_is_a_disconnect(fake: FakeAnthropic) -> None:
    fake.push(ClaudeReply(fault=Fault.hang()))
    async with make_client(fake, timeout=0.2) as c:
        with pytest.raises(anthropic.APITimeoutError):
            await c.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert await wait(fake.wait_for_disconnect, 5.0)


async def test_keep_alive_reuses_one_connection(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    await client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    async with client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
        await s.get_final_message()
    assert fake.connections == 1
    assert [r.connection for r in fake.requests] == [1, 1]


async def test_models_list(fake: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    ids = [m.id async for m in client.models.list()]
    assert ids == fake.models == ["claude-sonnet-5-5", "claude-haiku-5-5"]


async def test_validation_like_the_real_api(fake: FakeAnthropic) -> None:
    async with httpx.AsyncClient(verify=False) as c:
        r = await c.post(f"{fake.url}/v1/messages", json={"model": MODEL, "messages": MESSAGES})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "anthropic-version: header is required"
        r = await c.post(
            f"{fake.url}/v1/messages",
            json={"model": MODEL, "messages": MESSAGES},
            headers={"anthropic-version": "2023-06-01"},
        )
        assert r.json() == {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        }
