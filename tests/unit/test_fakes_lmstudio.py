"""FakeLMStudio driven by a real httpx client: wire format, scripting, faults, disconnects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import (
    NO_MODELS_LOADED,
    FakeLMStudio,
    Fault,
    Reply,
    no_models_loaded,
    openai_error,
    split_pieces,
)

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "Write hello world"}]


@pytest.fixture
def fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as f:
        yield f
        assert f.errors == []


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as c:
        yield c


async def read_sse(response: httpx.Response) -> list[Any]:
    """Parse ``data:`` lines; JSON payloads become dicts, ``[DONE]`` stays a string."""
    events: list[Any] = []
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            payload = line.removeprefix("data: ")
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


async def stream_chat(
    client: httpx.AsyncClient, fake: FakeLMStudio, **extra: Any
) -> tuple[httpx.Response, list[Any]]:
    body = {"model": "qwen2.5-coder-7b-instruct", "messages": MESSAGES, "stream": True, **extra}
    async with client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as r:
        return r, await read_sse(r)


def content_of(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


async def wait(predicate_call: Any, *args: Any) -> bool:
    """Run a blocking fake wait off the event loop so the client keeps running."""
    return bool(await asyncio.to_thread(predicate_call, *args))


# -- models ------------------------------------------------------------------------------------


async def test_v1_models_lists_openai_shape(fake: FakeLMStudio, client: httpx.AsyncClient) -> None:
    r = await client.get(f"{fake.base_url}/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    assert body["data"][0] == {
        "id": "qwen2.5-coder-7b-instruct",
        "object": "model",
        "owned_by": "lmstudio-community",
    }


async def test_api_v0_models_reports_state_and_context(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    data = (await client.get(f"{fake.root_url}/api/v0/models")).json()["data"]
    loaded = [m for m in data if m["state"] == "loaded"]
    assert [m["id"] for m in loaded] == ["qwen2.5-coder-7b-instruct"]
    assert loaded[0]["max_context_length"] == 32768
    assert loaded[0]["type"] == "llm" and loaded[0]["compatibility_type"] == "gguf"
    assert {m["type"] for m in data} == {"llm", "embeddings"}
    assert {"publisher", "arch", "quantization"} <= loaded[0].keys()


async def test_models_are_settable_and_jit_off_hides_unloaded(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.models = [
        {"id": "a", "state": "not-loaded", "type": "llm", "max_context_length": 4096},
        {"id": "b", "state": "loaded", "type": "llm", "max_context_length": 8192},
    ]
    fake.jit = False
    v1 = (await client.get(f"{fake.base_url}/models")).json()["data"]
    assert [m["id"] for m in v1] == ["b"]
    one = (await client.get(f"{fake.root_url}/api/v0/models/a")).json()
    assert one["state"] == "not-loaded" and one["max_context_length"] == 4096


async def test_api_v0_can_be_disabled_like_llama_cpp(client: httpx.AsyncClient) -> None:
    with FakeLMStudio(api_v0=False) as plain:
        assert (await client.get(f"{plain.root_url}/api/v0/models")).status_code == 404
        assert (await client.get(f"{plain.base_url}/models")).status_code == 200


# -- chat completions --------------------------------------------------------------------------


async def test_stream_assembles_text_with_finish_usage_and_done(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    text = "def hello():\n    print('hello, world')\n"
    fake.push(Reply(text))
    r, events = await stream_chat(client, fake, stream_options={"include_usage": True})
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["transfer-encoding"] == "chunked"
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert content_of(chunks) == text
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["stop"]
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    assert usage["completion_tokens"] == len(split_pieces(text))
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert fake.completed_streams == 1 and fake.active_streams == 0


async def test_stream_without_include_usage_has_no_usage_chunk(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    _, events = await stream_chat(client, fake)
    assert not any(isinstance(e, dict) and "usage" in e for e in events)


async def test_explicit_chunks_and_finish_reason_length(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply(chunks=["def", " f", "():"], finish_reason="length"))
    _, events = await stream_chat(client, fake)
    deltas = [e["choices"][0]["delta"].get("content") for e in events[1:-2]]
    assert deltas == ["def", " f", "():"]
    assert events[-2]["choices"][0]["finish_reason"] == "length"


async def test_honour_max_tokens_cuts_the_stream(client: httpx.AsyncClient) -> None:
    with FakeLMStudio(honour_max_tokens=True, default=Reply("one two three four five")) as f:
        _, events = await stream_chat(client, f, max_tokens=2)
        assert content_of(events[:-1]) == "one two"
        assert events[-2]["choices"][0]["finish_reason"] == "length"


async def test_non_streaming_completion_with_usage(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply("x = 1", prompt_tokens=11, completion_tokens=3))
    r = await client.post(f"{fake.base_url}/chat/completions", json={"messages": MESSAGES})
    body = r.json()
    assert r.headers["content-length"] == str(len(r.content))
    assert body["object"] == "chat.completion"
    assert body["model"] == "qwen2.5-coder-7b-instruct"  # the loaded one when none is asked
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "x = 1"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


async def test_queue_then_responder_then_default(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push("first")
    fake.responder = lambda req: "echo" if "echo" in req["messages"][-1]["content"] else None
    fake.default = "fallback"

    async def ask(content: str) -> str:
        body = {"messages": [{"role": "user", "content": content}]}
        r = await client.post(f"{fake.base_url}/chat/completions", json=body)
        return str(r.json()["choices"][0]["message"]["content"])

    assert [await ask("echo"), await ask("echo"), await ask("other")] == [
        "first",
        "echo",
        "fallback",
    ]
    assert [b["messages"][0]["content"] for b in fake.chat_requests()] == ["echo", "echo", "other"]


# -- errors ------------------------------------------------------------------------------------


async def test_no_models_loaded_error_is_a_string(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply(fault=no_models_loaded()))
    r = await client.post(f"{fake.base_url}/chat/completions", json={"messages": MESSAGES})
    assert r.status_code == 404
    assert r.json() == {"error": NO_MODELS_LOADED}


async def test_object_error_shape_on_a_stream_request(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply(fault=openai_error(400, "Context length exceeded")))
    body = {"messages": MESSAGES, "stream": True}
    async with client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as r:
        assert r.status_code == 400
        error = json.loads(await r.aread())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "Context length exceeded"
    r2 = await client.post(f"{fake.base_url}/chat/completions", json={"messages": MESSAGES})
    assert r2.status_code == 200  # the error did not poison the kept-alive connection
    assert fake.connections == 1


async def test_http_error_with_raw_body_and_headers(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply(fault=Fault.http_error(503, "busy", headers={"retry-after": "2"})))
    r = await client.post(f"{fake.base_url}/chat/completions", json={"messages": MESSAGES})
    assert (r.status_code, r.text, r.headers["retry-after"]) == (503, "busy", "2")


async def test_api_key_required_when_set(client: httpx.AsyncClient) -> None:
    with FakeLMStudio(api_key="sekret") as f:
        r = await client.get(f"{f.base_url}/models")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
        ok = await client.get(f"{f.base_url}/models", headers={"Authorization": "Bearer sekret"})
        assert ok.status_code == 200
        assert "sekret" not in repr(f.requests)
        assert f.requests[-1].headers["authorization"] == "Bearer sekret"


async def test_strict_models_rejects_unknown_model(client: httpx.AsyncClient) -> None:
    with FakeLMStudio(strict_models=True) as f:
        body = {"model": "nope", "messages": MESSAGES}
        r = await client.post(f"{f.base_url}/chat/completions", json=body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


async def test_unknown_endpoint_is_lmstudio_404(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    r = await client.get(f"{fake.base_url}/nothing")
    assert r.status_code == 404 and "Unexpected endpoint" in r.json()["error"]


# -- faults ------------------------------------------------------------------------------------


async def test_drop_after_closes_without_done(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply("aaaa bbbb cccc dddd", fault=Fault.drop_after(2)))
    seen: list[str] = []
    body = {"messages": MESSAGES, "stream": True}
    with pytest.raises(httpx.RemoteProtocolError):
        async with client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as r:
            async for line in r.aiter_lines():
                seen.append(line)
    data = [s for s in seen if s.startswith("data: ")]
    assert len(data) == 3  # role chunk + 2 content chunks
    assert "data: [DONE]" not in seen
    assert fake.disconnects == 0  # the server hung up, not the client
    assert fake.active_streams == 0


async def test_garbage_sse_and_html(fake: FakeLMStudio, client: httpx.AsyncClient) -> None:
    fake.push(Reply(fault=Fault.garbage()), Reply(fault=Fault.garbage(html=True)))
    body = {"messages": MESSAGES, "stream": True}
    async with client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as r:
        assert r.status_code == 200
        seen = [line async for line in r.aiter_lines() if line.startswith("data: ")]
    assert seen
    for line in seen:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line.removeprefix("data: "))
    r2 = await client.post(f"{fake.base_url}/chat/completions", json=body)
    assert r2.status_code == 200 and r2.headers["content-type"].startswith("text/html")


async def test_hang_is_detected_when_client_gives_up(fake: FakeLMStudio) -> None:
    fake.push(Reply(fault=Fault.hang()))
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=0.2), verify=False) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post(f"{fake.base_url}/chat/completions", json={"messages": MESSAGES})
    assert await wait(fake.wait_for_disconnect, 5.0)
    assert await wait(fake.wait_until, lambda: fake.in_flight == 0, 5.0)


async def test_hang_with_headers_then_client_cancels(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply(fault=Fault.hang(send_headers=True)))
    body = {"messages": MESSAGES, "stream": True}

    async def consume() -> None:
        async with client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as r:
            assert r.status_code == 200
            async for _ in r.aiter_bytes():
                pass

    task = asyncio.create_task(consume())
    assert await wait(fake.wait_for_active_streams, 1, 5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait(fake.wait_for_disconnect, 5.0)
    assert fake.active_streams == 0 and fake.completed_streams == 0


async def test_endless_stream_until_client_breaks_off(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.push(Reply("loop ", fault=Fault.endless()))
    body = {"messages": MESSAGES, "stream": True}
    received = 0
    async with client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                received += 1
            if received >= 20:
                break
    assert await wait(fake.wait_for_disconnect, 5.0)
    assert fake.active_streams == 0 and fake.completed_streams == 0


async def test_slow_load_delays_first_byte(fake: FakeLMStudio, client: httpx.AsyncClient) -> None:
    fake.push(Reply("ok", fault=Fault.slow_load(0.2)))
    start = time.monotonic()
    r = await client.post(f"{fake.base_url}/chat/completions", json={"messages": MESSAGES})
    assert time.monotonic() - start >= 0.2
    assert r.json()["choices"][0]["message"]["content"] == "ok"


async def test_error_event_mid_stream(fake: FakeLMStudio, client: httpx.AsyncClient) -> None:
    fake.push(Reply("aaaa bbbb cccc", fault=Fault.error_event(1)))
    _, events = await stream_chat(client, fake)
    assert content_of(events[:-1]) == "aaaa"
    assert events[-1]["error"]["type"] == "server_error"


async def test_stop_releases_a_hanging_request(client: httpx.AsyncClient) -> None:
    f = FakeLMStudio().start()
    f.push(Reply(fault=Fault.hang()))
    task = asyncio.create_task(
        client.post(f"{f.base_url}/chat/completions", json={"messages": MESSAGES})
    )
    assert await wait(f.wait_for_requests, 1, 5.0)
    start = time.monotonic()
    await asyncio.to_thread(f.stop)
    assert time.monotonic() - start < 2.0
    with pytest.raises(httpx.HTTPError):
        await task
    assert f.disconnects == 0  # the fake stopping is not a client disconnect


async def test_drop_with_reset(fake: FakeLMStudio, client: httpx.AsyncClient) -> None:
    fake.push(Reply("aaaa bbbb", fault=Fault.drop_after(1, reset=True)))
    with pytest.raises(httpx.TransportError):
        await stream_chat(client, fake)


async def test_restart_serves_again_on_the_same_port(client: httpx.AsyncClient) -> None:
    with FakeLMStudio() as f:
        url = f.base_url
        assert (await client.get(f"{url}/models")).status_code == 200
        await asyncio.to_thread(f.stop)
        with pytest.raises(httpx.TransportError):
            await client.get(f"{url}/models")
        f.start()
        assert f.base_url == url
        assert (await client.get(f"{url}/models")).status_code == 200
        assert len(f.requests) == 2


# -- connections -------------------------------------------------------------------------------


async def test_keep_alive_reuses_one_connection(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    await stream_chat(client, fake)
    await stream_chat(client, fake)
    await client.get(f"{fake.base_url}/models")
    assert fake.connections == 1
    assert {r.connection for r in fake.requests} == {1}
    assert fake.completed_streams == 2


async def test_parallel_streams_are_concurrent(
    fake: FakeLMStudio, client: httpx.AsyncClient
) -> None:
    fake.default = Reply("a b c d e f", chunk_delay=0.01)
    results = await asyncio.gather(*(stream_chat(client, fake) for _ in range(4)))
    assert [content_of(ev[:-1]) for _, ev in results] == ["a b c d e f"] * 4
    assert fake.connections == 4 and len(fake.requests) == 4


@contextlib.contextmanager
def standalone(*args: str | Path) -> Iterator[str]:
    """`python -m tests.fakes.lmstudio --port 0 ARGS` as run.sh starts it; yields its URL."""
    command = [sys.executable, "-m", "tests.fakes.lmstudio", "--port", "0", *map(str, args)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        yield url
    finally:
        proc.terminate()
        proc.wait(5)


def test_standalone_main_prints_url_and_serves(tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text("from the file")
    with standalone("--answer-file", answer, "--chunk-delay", "0") as url:
        r = httpx.post(f"{url}/chat/completions", json={"messages": MESSAGES}, timeout=5)
        assert r.json()["choices"][0]["message"]["content"] == "from the file"


def test_standalone_main_answers_when_and_records_requests(tmp_path: Path) -> None:
    """--answer-when picks the answer by what the messages say; --requests-file keeps every
    chat body (what the VS Code end-to-end run reads to see the instruction reached the model)."""
    (tmp_path / "default.txt").write_text("the default")
    (tmp_path / "rename.txt").write_text("the rename")
    requests = tmp_path / "requests.jsonl"
    with standalone("--answer-file", tmp_path / "default.txt",
                    "--answer-when", "rename t", tmp_path / "rename.txt",
                    "--requests-file", requests, "--chunk-delay", "0") as url:  # fmt: skip
        asked = [MESSAGES, [{"role": "user", "content": "Instruction: rename t to total"}]]
        answers = [
            httpx.post(f"{url}/chat/completions", json={"messages": m}, timeout=5).json()
            for m in asked
        ]
        assert [a["choices"][0]["message"]["content"] for a in answers] == [
            "the default",
            "the rename",
        ]
        lines = requests.read_text().splitlines()
        assert [json.loads(line)["messages"] for line in lines] == asked
