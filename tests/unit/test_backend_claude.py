"""The Claude backend through the real anthropic SDK against a fake Messages API: text and
usage, prompt caching, every error class with retries, cancellation, and no key leaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import pytest

from ladder_lsp.backends.anthropic import ClaudeBackend, classify
from ladder_lsp.backends.base import BackendError, ChatRequest, Completion, FailureKind, StreamEvent
from ladder_lsp.settings import ClaudeSettings
from tests.fakes import ClaudeReply, FakeAnthropic, Fault, claude_error, error_event, sent_api_key
from tests.ports import free_port

KEY = "sk-ant-api03-TESTKEY-never-show-me-0123456789"
MODEL = "claude-sonnet-5-5"
REQUEST = ChatRequest(system="You are a code-editing tool.", user="Refactor: x", max_tokens=400)
ANSWER = "```python\ndef f():\n    return 1\n```\n"


@pytest.fixture(autouse=True)
def env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment holds the same key: neither source may leak into messages."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as f:
        yield f


@pytest.fixture
async def claude(fake: FakeAnthropic) -> AsyncIterator[ClaudeBackend]:
    b = make(fake)
    yield b
    await b.aclose()


def make(fake: FakeAnthropic | None, *, url: str = "", **kw: Any) -> ClaudeBackend:
    settings = ClaudeSettings(
        model=kw.pop("model", MODEL),
        base_url=fake.url if fake else url,
        max_parallel=kw.pop("max_parallel", 4),
    )
    return ClaudeBackend(settings, kw.pop("key", KEY), max_retries=kw.pop("max_retries", 0), **kw)


class Events:
    def __init__(self) -> None:
        self.items: list[StreamEvent] = []

    def __call__(self, event: StreamEvent) -> None:
        self.items.append(event)

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.items)

    @property
    def statuses(self) -> list[str]:
        return [e.status for e in self.items if e.status]


async def failure(b: ClaudeBackend) -> BackendError:
    with pytest.raises(BackendError) as info:
        await b.complete(REQUEST, Events())
    assert_no_key(info.value)
    return info.value


def assert_no_key(err: BackendError) -> None:
    for text in (err.message, err.detail, str(err), repr(err)):
        assert KEY not in text
        assert "TESTKEY" not in text


async def blocking(fn: Callable[..., bool], *args: Any) -> bool:
    return await asyncio.to_thread(fn, *args)


# -- answers -----------------------------------------------------------------------------------


async def test_text_and_usage_with_cache_tokens(fake: FakeAnthropic, claude: ClaudeBackend) -> None:
    fake.push(
        ClaudeReply(
            ANSWER,
            input_tokens=1200,
            output_tokens=80,
            cache_creation_input_tokens=300,
            cache_read_input_tokens=900,
        )
    )
    events = Events()
    done = await claude.complete(REQUEST, events)
    assert done == Completion(
        text=ANSWER,
        finish_reason="stop",
        model=MODEL,
        usage=done.usage,
    )
    assert done.usage.input_tokens == 1200
    assert done.usage.output_tokens == 80
    assert done.usage.cache_write_tokens == 300
    assert done.usage.cache_read_tokens == 900
    assert events.text == ANSWER
    assert len([e for e in events.items if e.text]) > 3
    assert events.statuses == ["waiting for Claude"]


async def test_max_tokens_stop_is_length(fake: FakeAnthropic, claude: ClaudeBackend) -> None:
    fake.push(ClaudeReply(ANSWER, stop_reason="max_tokens"))
    assert (await claude.complete(REQUEST, Events())).finish_reason == "length"


async def test_request_caches_the_system_prompt(fake: FakeAnthropic, claude: ClaudeBackend) -> None:
    await claude.complete(REQUEST, Events())
    [body] = fake.message_requests()
    assert body["system"] == [
        {"type": "text", "text": REQUEST.system, "cache_control": {"type": "ephemeral"}}
    ]
    assert body["messages"] == [{"role": "user", "content": REQUEST.user}]
    assert body["model"] == MODEL and body["max_tokens"] == 400 and body["stream"] is True
    [request] = fake.requests_to("/v1/messages", "POST")
    assert sent_api_key(request) == KEY


async def test_list_models_is_the_configured_model(claude: ClaudeBackend) -> None:
    assert [m.id for m in await claude.list_models()] == [MODEL]


# -- HTTP errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "needle"),
    [
        (400, FailureKind.HTTP, "400"),
        (401, FailureKind.AUTH, "API key"),
        (402, FailureKind.AUTH, "credit balance"),
        (403, FailureKind.AUTH, "may not use this model"),
        (404, FailureKind.NOT_CONFIGURED, f"{MODEL!r} does not exist"),
        (413, FailureKind.TOO_LARGE, "too large"),
        (429, FailureKind.RATE_LIMITED, "rate-limited"),
        (500, FailureKind.HTTP, "500"),
        (504, FailureKind.TIMEOUT, "timed out"),
        (529, FailureKind.OVERLOADED, "overloaded"),
    ],
)
async def test_http_errors_map_to_kinds(
    fake: FakeAnthropic, claude: ClaudeBackend, status: int, kind: FailureKind, needle: str
) -> None:
    fake.push(ClaudeReply(fault=claude_error(status, f"echo {KEY}")))  # a body quoting the key
    err = await failure(claude)
    assert err.kind is kind
    assert needle in err.message
    assert len(fake.message_requests()) == 1  # max_retries=0: no retry


async def test_wrong_key_is_auth_and_not_echoed() -> None:
    with FakeAnthropic(api_key="the-right-key") as f:
        b = make(f)
        try:
            err = await failure(b)
        finally:
            await b.aclose()
    assert err.kind is FailureKind.AUTH


async def test_rate_limit_says_when_to_retry(fake: FakeAnthropic, claude: ClaudeBackend) -> None:
    fake.push(ClaudeReply(fault=claude_error(429, retry_after=7)))
    err = await failure(claude)
    assert err.kind is FailureKind.RATE_LIMITED
    assert "retry in 7 s" in err.message


async def test_a_long_retry_after_is_reported_at_once_not_waited(fake: FakeAnthropic) -> None:
    """Claude asks for 30 s: the user hears it now and routing may fall back to local."""
    fake.default = ClaudeReply(fault=claude_error(429, retry_after=30))
    b = make(fake, max_retries=2)
    events = Events()
    try:
        with pytest.raises(BackendError) as info:
            await b.complete(REQUEST, events)
    finally:
        await b.aclose()
    assert info.value.kind is FailureKind.RATE_LIMITED
    assert "retry in 30 s" in info.value.message
    assert "Claude is rate-limited: retry in 30 s." in events.statuses
    assert len(fake.message_requests()) == 1  # it did not wait 30 s to ask again


async def test_a_short_retry_after_is_waited_with_a_status(fake: FakeAnthropic) -> None:
    fake.push(ClaudeReply(fault=claude_error(429, retry_after=0.01)), ClaudeReply(ANSWER))
    b = make(fake, max_retries=2)
    events = Events()
    try:
        done = await b.complete(REQUEST, events)
    finally:
        await b.aclose()
    assert done.text == ANSWER
    assert "Claude is rate-limited, retrying in 0 s" in events.statuses


async def test_headers_then_drop_is_a_cut_stream_and_not_retried(fake: FakeAnthropic) -> None:
    """Claude answered (200) and the connection broke before the first event."""
    fake.default = ClaudeReply(ANSWER, fault=Fault.drop_after(0))
    b = make(fake, max_retries=2)
    try:
        err = await failure(b)
    finally:
        await b.aclose()
    assert err.kind is FailureKind.STREAM_CUT
    assert len(fake.message_requests()) == 1


@pytest.mark.parametrize(
    ("exc", "started", "kind"),
    [
        (lambda: anthropic.APIConnectionError(request=_request()), True, FailureKind.STREAM_CUT),
        (lambda: anthropic.APIConnectionError(request=_request()), False, FailureKind.UNREACHABLE),
        (lambda: anthropic.APITimeoutError(request=_request()), False, FailureKind.TIMEOUT),
        (lambda: ConnectionResetError("reset"), True, FailureKind.STREAM_CUT),
        (lambda: ValueError("bad json"), True, FailureKind.STREAM_CUT),
        (lambda: ValueError("bad json"), False, FailureKind.BAD_RESPONSE),
    ],
)
def test_failures_are_classified_by_what_happened(
    exc: Callable[[], BaseException], started: bool, kind: FailureKind
) -> None:
    """Whatever class an SDK release raises, bytes-then-break is a cut stream."""
    assert classify(exc(), started=started, model=MODEL).kind is kind


def _request() -> Any:
    """A request object of the transport the installed SDK runs on (httpx or httpx2)."""
    return anthropic.AsyncAnthropic(api_key="x")._client.build_request(
        "POST", "http://127.0.0.1/v1/messages"
    )


@pytest.mark.parametrize("status", [429, 529])
async def test_one_retry_honouring_retry_after_then_success(
    fake: FakeAnthropic, status: int
) -> None:
    fake.push(ClaudeReply(fault=claude_error(status, retry_after=0.01)), ClaudeReply(ANSWER))
    b = make(fake, max_retries=1)
    try:
        done = await b.complete(REQUEST, Events())
    finally:
        await b.aclose()
    assert done.text == ANSWER
    assert len(fake.message_requests()) == 2


async def test_retries_are_bounded(fake: FakeAnthropic) -> None:
    fake.default = ClaudeReply(fault=claude_error(529, retry_after=0.01))
    b = make(fake, max_retries=2)
    try:
        err = await failure(b)
    finally:
        await b.aclose()
    assert err.kind is FailureKind.OVERLOADED
    assert len(fake.message_requests()) == 3


# -- stream failures ---------------------------------------------------------------------------


async def test_error_event_inside_the_stream_is_overloaded(
    fake: FakeAnthropic, claude: ClaudeBackend
) -> None:
    fake.push(ClaudeReply(ANSWER, fault=error_event(after=2)))
    err = await failure(claude)
    assert err.kind is FailureKind.OVERLOADED


async def test_rate_limit_event_inside_the_stream(
    fake: FakeAnthropic, claude: ClaudeBackend
) -> None:
    fake.push(ClaudeReply(ANSWER, fault=error_event(after=1, type="rate_limit_error")))
    assert (await failure(claude)).kind is FailureKind.RATE_LIMITED


async def test_dropped_stream_is_stream_cut(fake: FakeAnthropic, claude: ClaudeBackend) -> None:
    fake.push(ClaudeReply(ANSWER * 4, fault=Fault.drop_after(3)))
    events = Events()
    with pytest.raises(BackendError) as info:
        await claude.complete(REQUEST, events)
    assert info.value.kind is FailureKind.STREAM_CUT
    assert events.text  # it was mid-answer
    assert_no_key(info.value)


@pytest.mark.parametrize("html", [False, True])
async def test_garbage_is_a_clear_failure(
    fake: FakeAnthropic, claude: ClaudeBackend, html: bool
) -> None:
    fake.push(ClaudeReply(fault=Fault.garbage(html=html)))
    err = await failure(claude)
    assert err.kind in (FailureKind.STREAM_CUT, FailureKind.BAD_RESPONSE)
    assert "<html" not in err.message


async def test_connection_refused_is_unreachable() -> None:
    b = make(None, url=f"http://127.0.0.1:{free_port()}")
    try:
        err = await failure(b)
    finally:
        await b.aclose()
    assert err.kind is FailureKind.UNREACHABLE


async def test_total_deadline_is_a_timeout(fake: FakeAnthropic) -> None:
    fake.push(ClaudeReply(fault=Fault.hang(send_headers=True)))
    b = make(fake, deadline=0.3)
    try:
        err = await failure(b)
    finally:
        await b.aclose()
    assert err.kind is FailureKind.TIMEOUT
    assert "0.3 s" in err.message
    assert await blocking(fake.wait_for_disconnect)


# -- concurrency and cancellation --------------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.hang(send_headers=True), Fault.endless()])
async def test_cancel_closes_the_stream(
    fake: FakeAnthropic, claude: ClaudeBackend, fault: Fault
) -> None:
    fake.push(ClaudeReply(ANSWER, fault=fault))
    task = asyncio.create_task(claude.complete(REQUEST, Events()))
    assert await blocking(fake.wait_for_active_streams, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await blocking(fake.wait_for_disconnect)
    assert await blocking(fake.wait_until, lambda: fake.active_streams == 0)


async def test_max_parallel_queues_with_a_status(fake: FakeAnthropic) -> None:
    fake.push(ClaudeReply(fault=Fault.hang(send_headers=True)))
    b = make(fake, max_parallel=1)
    try:
        first = asyncio.create_task(b.complete(REQUEST, Events()))
        assert await blocking(fake.wait_for_active_streams, 1)
        events = Events()
        second = asyncio.create_task(b.complete(REQUEST, events))
        await asyncio.sleep(0)  # let it reach the semaphore
        assert events.statuses == ["queued (all Claude slots busy)"]
        assert len(fake.message_requests()) == 1
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        done = await second
        assert done.text and len(fake.message_requests()) == 2
    finally:
        await b.aclose()
