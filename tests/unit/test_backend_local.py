"""The local backend (OpenAI-compatible / LM Studio) through a real httpx client and a fake
server: streaming, fallbacks, model discovery, every failure shape, concurrency, cancellation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from ladder_lsp.backends.base import BackendError, ChatRequest, Completion, FailureKind, StreamEvent
from ladder_lsp.backends.discovery import root_url
from ladder_lsp.backends.local_errors import error_text
from ladder_lsp.backends.openai_compat import OpenAICompatBackend, _json_chunk
from ladder_lsp.settings import LocalSettings
from tests.fakes import (
    NO_MODELS_LOADED,
    FakeLMStudio,
    Fault,
    Reply,
    no_models_loaded,
    openai_error,
)
from tests.ports import free_port

REQUEST = ChatRequest(system="You edit code.", user="Refactor: def f(): pass", max_tokens=300)
ANSWER = "```python\ndef f():\n    return None\n```\n"
LOADED = "qwen2.5-coder-7b-instruct"


@pytest.fixture
def fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as f:
        yield f


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def backend(
    http: httpx.AsyncClient, fake: FakeLMStudio | None = None, **kw: Any
) -> OpenAICompatBackend:
    settings = LocalSettings(base_url=fake.base_url if fake else kw.pop("base_url"), **kw)
    return OpenAICompatBackend(settings, http)


class Events:
    """Collects stream events (the `on_event` callback)."""

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


async def complete(b: OpenAICompatBackend, events: Events | None = None) -> Completion:
    return await b.complete(REQUEST, events if events is not None else Events())


async def failure(b: OpenAICompatBackend) -> BackendError:
    with pytest.raises(BackendError) as info:
        await complete(b)
    return info.value


async def blocking(fn: Callable[..., bool], *args: Any) -> bool:
    """A fake's blocking wait, off the event loop so the client keeps running."""
    return await asyncio.to_thread(fn, *args)


# -- streaming ---------------------------------------------------------------------------------


async def test_stream_is_assembled_with_usage_and_events(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.push(Reply(ANSWER, prompt_tokens=123, completion_tokens=45))
    events = Events()
    done = await complete(backend(http, fake), events)
    assert done.text == ANSWER
    assert done.finish_reason == "stop"
    assert done.model == LOADED
    assert (done.usage.input_tokens, done.usage.output_tokens) == (123, 45)
    assert events.text == ANSWER
    assert len([e for e in events.items if e.text]) > 3  # streamed, not in one piece
    assert events.statuses == ["waiting for the model"]


async def test_answers_come_back_over_one_kept_alive_connection(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    """The answer returns at `[DONE]`; the body's end is read after it, so the connection
    goes back to the pool instead of being dropped."""
    b = backend(http, fake)
    for _ in range(3):
        fake.push(Reply(ANSWER))
        assert (await complete(b)).text == ANSWER
        await b.finished()
    assert fake.connections == 1


async def test_closing_drops_a_body_the_server_never_ends(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.push(Reply(ANSWER, fault=Fault.hang_after_done()))
    b = backend(http, fake)
    answer = await asyncio.wait_for(complete(b), 5)  # at [DONE], not at the body's end
    assert answer.text == ANSWER
    await asyncio.wait_for(b.aclose(), 5)


async def test_request_body_is_openai_chat_with_usage_requested(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    await complete(backend(http, fake))
    [body] = fake.chat_requests()
    assert body["model"] == LOADED
    assert body["messages"] == [
        {"role": "system", "content": REQUEST.system},
        {"role": "user", "content": REQUEST.user},
    ]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 300 and body["temperature"] == REQUEST.temperature
    assert "authorization" not in fake.requests_to("/v1/chat/completions")[0].headers


async def test_length_finish_reason_is_reported(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.push(Reply(ANSWER, finish_reason="length"))
    assert (await complete(backend(http, fake))).finish_reason == "length"


async def test_json_answer_to_a_stream_request_is_accepted(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    whole = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "server-side-name",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }
    fake.push(Reply(fault=Fault.http_error(200, whole)))
    events = Events()
    done = await complete(backend(http, fake), events)
    assert done.text == ANSWER and done.model == "server-side-name"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (10, 20)
    assert events.text == ANSWER


async def test_server_refusing_stream_gets_a_plain_request(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.push(
        Reply(fault=openai_error(400, "'stream' is not supported by this model", param="stream")),
        Reply(ANSWER),
    )
    done = await complete(backend(http, fake))
    assert done.text == ANSWER
    first, second = fake.chat_requests()
    assert first["stream"] is True
    assert "stream" not in second and "stream_options" not in second


# -- model resolution --------------------------------------------------------------------------


async def test_loaded_model_is_used_and_its_context_length_known(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    b = backend(http, fake)
    assert await b.resolve_model() == LOADED
    assert await b.context_length(LOADED) == 32768
    assert await b.context_length("unknown-model") == b.settings.context_length
    models = await b.list_models()
    assert {m.id: m.state for m in models}[LOADED] == "loaded"
    assert {m.id: m.type for m in models}["text-embedding-nomic-embed-text-v1.5"] == "embeddings"


async def test_model_setting_overrides_discovery(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    b = backend(http, fake, model="llama-3.2-3b-instruct")
    await complete(b)
    assert fake.chat_requests()[0]["model"] == "llama-3.2-3b-instruct"
    assert fake.requests_to("/api/v0/models") == []
    assert b.last_model == "llama-3.2-3b-instruct"


async def test_plain_openai_server_uses_v1_models(http: httpx.AsyncClient) -> None:
    with FakeLMStudio(api_v0=False) as plain:
        plain.models = [
            {"id": "nomic-embed-text-v1.5", "type": "embeddings"},
            {"id": "smollm2", "type": "llm"},
        ]
        b = backend(http, plain)
        await complete(b)
        assert plain.chat_requests()[0]["model"] == "smollm2"  # not the embedding model
        assert len(plain.requests_to("/v1/models")) == 1
        assert await b.context_length("smollm2") == b.settings.context_length


async def test_model_list_is_cached_briefly(fake: FakeLMStudio, http: httpx.AsyncClient) -> None:
    b = backend(http, fake)
    await complete(b)
    await complete(b)
    assert len(fake.requests_to("/api/v0/models")) == 1
    await b.list_models(fresh=True)
    assert len(fake.requests_to("/api/v0/models")) == 2


async def test_no_loaded_model_is_no_model(fake: FakeLMStudio, http: httpx.AsyncClient) -> None:
    for m in fake.models:
        m["state"] = "not-loaded"
    err = await failure(backend(http, fake))
    assert err.kind is FailureKind.NO_MODEL
    assert "No model is loaded" in err.message and "ladder.local.model" in err.message
    assert fake.chat_requests() == []


async def test_server_with_only_embeddings_offers_no_chat_model(http: httpx.AsyncClient) -> None:
    with FakeLMStudio(models=[{"id": "embed", "type": "embeddings", "state": "loaded"}]) as f:
        err = await failure(backend(http, f))
    assert err.kind is FailureKind.NO_MODEL and "offers no chat model" in err.message


async def test_api_v0_answering_html_falls_back_to_v1(http: httpx.AsyncClient) -> None:
    class Proxy(FakeLMStudio):
        def handle(self, ex: Any) -> None:
            if ex.request.path.startswith("/api/v0"):
                ex.send_bytes(200, b"<html>web ui</html>", "text/html")
            else:
                super().handle(ex)

    with Proxy() as f:
        await complete(backend(http, f))
        assert f.chat_requests()[0]["model"] == LOADED  # first listed by /v1/models


# -- server errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 400])
async def test_lmstudio_string_error_no_models_loaded(
    fake: FakeLMStudio, http: httpx.AsyncClient, status: int
) -> None:
    fake.push(Reply(fault=no_models_loaded(status)))
    b = backend(http, fake, model="some-model")
    err = await failure(b)
    assert err.kind is FailureKind.NO_MODEL
    assert NO_MODELS_LOADED in err.message


async def test_openai_object_error_model_not_found(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.strict_models = True
    err = await failure(backend(http, fake, model="ghost-model"))
    assert err.kind is FailureKind.NO_MODEL
    assert "Model 'ghost-model' not found." in err.message


@pytest.mark.parametrize(
    ("fault", "kind", "needle"),
    [
        (
            openai_error(400, "This model's maximum context length is 4096 tokens"),
            FailureKind.TOO_LARGE,
            "maximum context length is 4096",
        ),
        (openai_error(413, "Payload too large"), FailureKind.TOO_LARGE, "Payload too large"),
        (openai_error(503, "Server busy", "server_error"), FailureKind.OVERLOADED, "Server busy"),
        (
            openai_error(500, "CUDA out of memory", "server_error"),
            FailureKind.HTTP,
            "HTTP 500: CUDA out of memory",
        ),
        (Fault.http_error(502, "<html>Bad Gateway</html>"), FailureKind.HTTP, "Bad Gateway"),
        (Fault.http_error(500, {"detail": "plain detail"}), FailureKind.HTTP, "plain detail"),
    ],
)
async def test_error_shapes_become_clear_messages(
    fake: FakeLMStudio, http: httpx.AsyncClient, fault: Fault, kind: FailureKind, needle: str
) -> None:
    fake.push(Reply(fault=fault))
    err = await failure(backend(http, fake))
    assert err.kind is kind
    assert needle in err.message


async def test_wrong_base_path_hints_at_v1(fake: FakeLMStudio, http: httpx.AsyncClient) -> None:
    b = backend(http, base_url=fake.root_url + "/wrong", model="m")
    err = await failure(b)
    assert err.kind is FailureKind.HTTP and "/v1" in err.message


def test_error_text_reads_every_shape() -> None:
    assert error_text(b'{"error": "No models loaded"}') == "No models loaded"
    assert error_text(b'{"error": {"message": "bad", "type": "x"}}') == "bad"
    assert error_text(b'{"error": {"type": "only_type"}}') == "only_type"
    assert error_text(b'{"message": "top"}') == "top"
    assert error_text(b"  plain text \n") == "plain text"
    assert error_text(b"\xff\xfe") != ""
    assert len(error_text(b"x" * 5000)) == 300


def test_root_url_strips_v1() -> None:
    assert root_url("http://h:1234/v1") == "http://h:1234"
    assert root_url("http://h:1234/v1/") == "http://h:1234"
    assert root_url("http://h:11434") == "http://h:11434"


# -- auth --------------------------------------------------------------------------------------


async def test_api_key_is_sent_as_bearer(http: httpx.AsyncClient) -> None:
    with FakeLMStudio(api_key="local-secret") as f:
        done = await complete(backend(http, f, api_key="local-secret"))
        assert done.text
        assert all(r.headers["authorization"] == "Bearer local-secret" for r in f.requests)


async def test_wrong_key_is_auth_and_never_echoed(http: httpx.AsyncClient) -> None:
    with FakeLMStudio(api_key="right-key") as f:
        b = backend(http, f, api_key="wrong-key-123", model="m")
        err = await failure(b)
        assert err.kind is FailureKind.AUTH
        assert "ladder.local.apiKey" in err.message
        assert "wrong-key-123" not in err.message + err.detail
        with pytest.raises(BackendError) as info:
            await b.list_models()
        assert info.value.kind is FailureKind.AUTH


# -- transport failures ------------------------------------------------------------------------


async def test_connection_refused_is_unreachable(http: httpx.AsyncClient) -> None:
    b = backend(http, base_url=f"http://127.0.0.1:{free_port()}/v1")
    err = await failure(b)
    assert err.kind is FailureKind.UNREACHABLE
    assert "not reachable" in err.message and "127.0.0.1" in err.message
    assert b.reachable is False


async def test_invalid_base_url_is_a_configuration_error(http: httpx.AsyncClient) -> None:
    for url in ("localhost:1234/v1", "http://[::1/v1"):
        b = backend(http, base_url=url, model="m")
        err = await failure(b)
        assert err.kind is FailureKind.NOT_CONFIGURED, url
        assert "ladder.local.baseUrl" in err.message


@pytest.mark.parametrize("reset", [False, True])
async def test_mid_stream_drop_is_stream_cut(
    fake: FakeLMStudio, http: httpx.AsyncClient, reset: bool
) -> None:
    fake.push(Reply(ANSWER * 5, fault=Fault.drop_after(3, reset=reset)))
    events = Events()
    with pytest.raises(BackendError) as info:
        await complete(backend(http, fake), events)
    assert info.value.kind is FailureKind.STREAM_CUT
    assert events.text  # some text had arrived: the cut is mid-answer


async def test_stream_without_finish_is_stream_cut(http: httpx.AsyncClient) -> None:
    class Truncating(FakeLMStudio):
        def handle(self, ex: Any) -> None:
            if ex.request.path.endswith("/chat/completions"):
                ex.begin_stream()
                ex.write_chunk(b'data: {"choices":[{"delta":{"content":"def"}}]}\n\n')
                ex.end_stream()  # a clean end, but no finish_reason and no [DONE]
            else:
                super().handle(ex)

    with Truncating() as f:
        err = await failure(backend(http, f))
    assert err.kind is FailureKind.STREAM_CUT


@pytest.mark.parametrize("html", [False, True])
async def test_garbage_is_bad_response(
    fake: FakeLMStudio, http: httpx.AsyncClient, html: bool
) -> None:
    fake.push(Reply(fault=Fault.garbage(html=html)))
    err = await failure(backend(http, fake))
    assert err.kind is FailureKind.BAD_RESPONSE
    assert "<html>" not in err.message


def test_a_chunk_is_one_json_object_and_nothing_else() -> None:
    assert _json_chunk('{"choices": [{"delta": {"content": "x"}}]}')["choices"][0]["delta"] == {
        "content": "x"
    }
    for bad in ('{"choices": []} {"choices": []}', '{"choices": []}x', "[1, 2]", "{", ""):
        with pytest.raises(BackendError) as caught:
            _json_chunk(bad)
        assert caught.value.kind is FailureKind.BAD_RESPONSE, bad


async def test_error_event_mid_stream_is_reported(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.push(Reply(ANSWER, fault=Fault.error_event(2)))
    err = await failure(backend(http, fake))
    assert err.kind is FailureKind.HTTP and "Model crashed" in err.message


async def test_context_overflow_mid_stream_is_too_large(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    body = {"error": {"message": "Context length exceeded: 5000 > 4096", "type": "server_error"}}
    fake.push(Reply(ANSWER, fault=Fault.error_event(1, body)))
    err = await failure(backend(http, fake))
    assert err.kind is FailureKind.TOO_LARGE


@pytest.mark.parametrize("send_headers", [False, True])
async def test_silence_longer_than_timeout_is_timeout(
    fake: FakeLMStudio, http: httpx.AsyncClient, send_headers: bool
) -> None:
    fake.push(Reply(fault=Fault.hang(send_headers=send_headers)))
    err = await failure(backend(http, fake, timeout_seconds=0.3))
    assert err.kind is FailureKind.TIMEOUT
    assert "0.3 s" in err.message and "timeoutSeconds" in err.message
    assert await blocking(fake.wait_for_disconnect)


# -- concurrency and cancellation --------------------------------------------------------------


async def test_max_parallel_holds_requests_at_the_fake(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    gate = threading.Event()
    lock = threading.Lock()
    arrived = threading.Condition(lock)
    state = {"waiting": 0, "done": 0, "received": 0, "worst": 0}

    def responder(_body: Any) -> Reply:
        with arrived:
            state["received"] += 1
            # requests sent but whose answer the client has not finished with
            state["worst"] = max(state["worst"], state["received"] - state["done"])
            state["waiting"] += 1
            arrived.notify_all()
        gate.wait(10)
        return Reply(ANSWER)

    fake.responder = responder
    b = backend(http, fake, max_parallel=2)
    events = [Events() for _ in range(5)]

    async def one(ev: Events) -> Completion:
        result = await b.complete(REQUEST, ev)
        with lock:
            state["done"] += 1
        return result

    tasks = [asyncio.create_task(one(ev)) for ev in events]
    await asyncio.sleep(0)  # let every task reach the semaphore (no waiting on results)
    queued = [ev for ev in events if any("queued" in s for s in ev.statuses)]
    assert len(queued) == 3
    assert await asyncio.to_thread(lambda: _wait(arrived, lambda: state["waiting"] >= 2))
    assert len(fake.chat_requests()) == 2  # the other three wait on the client side
    gate.set()
    results = await asyncio.gather(*tasks)
    assert [r.text for r in results] == [ANSWER] * 5
    assert state["received"] == 5
    assert state["worst"] == 2


def _wait(cond: threading.Condition, predicate: Callable[[], bool]) -> bool:
    with cond:
        return cond.wait_for(predicate, 5)


@pytest.mark.parametrize("fault", [Fault.endless(), Fault.hang(send_headers=True)])
async def test_cancelling_closes_the_stream(
    fake: FakeLMStudio, http: httpx.AsyncClient, fault: Fault
) -> None:
    fake.push(Reply(ANSWER, fault=fault))
    task = asyncio.create_task(complete(backend(http, fake)))
    assert await blocking(fake.wait_for_active_streams, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await blocking(fake.wait_for_disconnect)
    assert await blocking(fake.wait_until, lambda: fake.active_streams == 0)


async def test_cancelling_a_queued_request_frees_nothing_it_did_not_take(
    fake: FakeLMStudio, http: httpx.AsyncClient
) -> None:
    fake.push(Reply(fault=Fault.hang(send_headers=True)))
    b = backend(http, fake, max_parallel=1)
    first = asyncio.create_task(complete(b))
    assert await blocking(fake.wait_for_active_streams, 1)
    queued = asyncio.create_task(complete(b))
    await asyncio.sleep(0)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    done = await complete(b)  # the slot is free again
    assert done.text
    assert len(fake.chat_requests()) == 2
