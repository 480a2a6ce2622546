"""The local tier: any OpenAI-compatible server (LM Studio, llama.cpp server, vLLM, Ollama /v1).

Streams `/v1/chat/completions` over SSE through one shared httpx.AsyncClient (keep-alive),
falls back to the non-streaming form when a server will not stream, and turns every failure
into a `BackendError` a user can act on (`local_errors.py`); which model to ask and whether the
server answers come from `discovery.py`. Closing a response before its end (cancellation)
drops the connection, which makes LM Studio stop generating; after `[DONE]` the body's end is
read in the background, so the answer does not wait for it and the connection stays pooled.
Answers are bounded: a server that ignores `max_tokens` (or streams forever) is cut off at
`base.answer_cap` characters, and the answer is then treated as truncated (`finish_reason`
"length"); bodies read whole are capped too. Reasoning models (LM Studio, llama.cpp or vLLM
with a reasoning parser) stream their thinking apart from the answer, as
`delta.reasoning_content` or `delta.reasoning`: it is reported as progress and counted
(`Completion.reasoning_tokens`), never part of the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ladder_lsp.backends.base import (
    BackendError,
    ChatRequest,
    Completion,
    FailureKind,
    OnEvent,
    StreamEvent,
    Tier,
    Usage,
    answer_cap,
)
from ladder_lsp.backends.discovery import MODEL_CHOICE_TTL_SECONDS, ModelDiscovery, SharedClient
from ladder_lsp.backends.local_errors import classify_error, error_text
from ladder_lsp.settings import LocalSettings

if TYPE_CHECKING:
    import httpx
else:
    from ladder_lsp.backends.lazy_http import httpx

log = logging.getLogger(__name__)

MIN_CAP_TOKENS = 4096  # a local answer is read to at least this many tokens' worth
MAX_BODY_BYTES = 16 * 1024 * 1024  # a non-streamed answer
MAX_ERROR_BYTES = 64 * 1024


class OpenAICompatBackend(ModelDiscovery):
    """One local server; a semaphore holds concurrent requests to `maxParallel`."""

    tier = Tier.LOCAL

    def __init__(self, settings: LocalSettings, client: httpx.AsyncClient | SharedClient) -> None:
        super().__init__(settings, client)
        self._slots = asyncio.Semaphore(settings.max_parallel)
        self._finishing: set[asyncio.Task[None]] = set()  # responses read to their end

    # -- completion ------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        if self._slots.locked():
            on_event(StreamEvent(status="queued (all local slots busy)"))
        async with self._slots:
            # Following the loaded model: the list is asked again when older than a few
            # seconds (a stale answer would make LM Studio reload the model the user swapped
            # out), and at once when the server says the model we asked for is gone.
            model = await self.resolve_model(max_age=MODEL_CHOICE_TTL_SECONDS)
            try:
                return await self._ask(model, request, on_event)
            except BackendError as exc:
                if exc.kind is not FailureKind.NO_MODEL or self.settings.model:
                    raise
                now = await self.resolve_model(max_age=0)
                if now == model:
                    raise
                log.info("the local server no longer serves %s; asking %s", model, now)
                return await self._ask(now, request, on_event)

    async def _ask(self, model: str, request: ChatRequest, on_event: OnEvent) -> Completion:
        self.last_model = model
        body: dict[str, Any] = {
            "model": model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        on_event(StreamEvent(status=self._waiting_status(model)))
        try:
            return await self._stream(body, on_event)
        except _StreamRefused:
            body = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
            return await self._plain(body, on_event)

    async def _stream(self, body: dict[str, Any], on_event: OnEvent) -> Completion:
        url = f"{self.settings.base_url.rstrip('/')}/chat/completions"
        parts: list[str] = []
        finish = ""
        usage = Usage()
        model = str(body["model"])
        cap = answer_cap(int(body.get("max_tokens") or 0), at_least=MIN_CAP_TOKENS)
        received = 0
        reasoned = 0
        http = self._http()
        try:
            request = http.build_request(
                "POST", url, json=body, headers=self._headers(), timeout=self._timeout()
            )
            resp = await http.send(request, stream=True)
            lines = resp.aiter_lines()
            done = False
            try:
                if resp.status_code >= 400:
                    content = await read_capped(resp, MAX_ERROR_BYTES)
                    if resp.status_code in (400, 422) and b"stream" in content.lower():
                        raise _StreamRefused()
                    raise self._status_error(resp.status_code, content)
                self.reachable = True
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    return _parse_plain(await self._read_body(resp), model, on_event)
                async for line in lines:
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    chunk = _json_chunk(data)
                    model = str(chunk.get("model") or model)
                    if chunk.get("usage"):
                        usage = _usage(chunk["usage"])
                    for choice in chunk.get("choices") or []:
                        fields = choice.get("delta") or {}
                        thought = _reasoning(fields)
                        if thought:
                            reasoned += 1
                            received += len(thought)
                            on_event(StreamEvent(reasoning=thought))
                        delta = fields.get("content") or ""
                        if delta:
                            parts.append(delta)
                            received += len(delta)
                            on_event(StreamEvent(text=delta))
                        if choice.get("finish_reason"):
                            finish = str(choice["finish_reason"])
                    if received > cap:
                        # closing the response drops the connection: the server stops
                        log.warning("the local answer passed %d characters; stopped reading", cap)
                        parts, finish = ["".join(parts)[:cap]], "length"
                        usage = Usage(input_tokens=usage.input_tokens, output_tokens=received // 4)
                        break
            finally:
                if done:  # the answer is whole: the body's end is read after it is used
                    self._finish_later(resp, lines)
                else:
                    await resp.aclose()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc) from exc
        if not finish:
            raise BackendError(
                FailureKind.STREAM_CUT,
                "The local server ended the answer without finishing it (connection dropped).",
            )
        if not usage.output_tokens:
            usage = Usage(input_tokens=usage.input_tokens, output_tokens=len(parts) + reasoned)
        return Completion(
            text="".join(parts),
            finish_reason=finish,
            model=model,
            usage=usage,
            reasoning_tokens=reasoned,
        )

    def _finish_later(self, resp: httpx.Response, lines: AsyncIterator[str]) -> None:
        """Read what follows `[DONE]` (the body's end) and close the response in the
        background, so the connection goes back to the keep-alive pool (closing it unread
        would drop it) without the answer waiting for that."""
        task = asyncio.ensure_future(_drain(resp, lines))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def _plain(self, body: dict[str, Any], on_event: OnEvent) -> Completion:
        url = f"{self.settings.base_url.rstrip('/')}/chat/completions"
        try:
            async with self._http().stream(
                "POST", url, json=body, headers=self._headers(), timeout=self._timeout()
            ) as resp:
                if resp.status_code >= 400:
                    raise self._status_error(
                        resp.status_code, await read_capped(resp, MAX_ERROR_BYTES)
                    )
                content = await self._read_body(resp)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc) from exc
        return _parse_plain(content, str(body["model"]), on_event)

    async def _read_body(self, resp: httpx.Response) -> bytes:
        content = await read_capped(resp, MAX_BODY_BYTES + 1)
        if len(content) > MAX_BODY_BYTES:
            raise BackendError(
                FailureKind.BAD_RESPONSE,
                f"The local server's answer is larger than {MAX_BODY_BYTES // 2**20} MB; "
                "stopped reading it.",
            )
        return content

    def _timeout(self) -> httpx.Timeout:
        # read = time allowed between bytes: models can think for a long while, but silence
        # longer than this is a hang.
        return httpx.Timeout(self.settings.timeout_seconds, connect=10.0)

    async def finished(self) -> None:
        """Until the bodies of finished answers are read to their end and their connections
        back in the pool (`_finish_later`)."""
        while self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    async def aclose(self) -> None:
        """The shared client belongs to the caller; bodies still being read are dropped (a
        server that never ends one would otherwise hold the shutdown for its read timeout)."""
        for task in self._finishing:
            task.cancel()
        await self.finished()


async def read_capped(resp: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed body (the rest is left unread; closing the
    response drops the connection)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def _drain(resp: httpx.Response, lines: AsyncIterator[str]) -> None:
    """The rest of a streamed body after `[DONE]` (bounded: a server that goes on is cut
    off, and its connection dropped), then the response closed. It starts one loop turn late:
    the answer's verdict, ready by then, goes first, and its edit is written before this
    bookkeeping (a tenth of a millisecond) runs."""
    await asyncio.sleep(0)
    trailing = 0
    try:
        async for line in lines:
            trailing += len(line)
            if trailing > MAX_ERROR_BYTES:
                break
    except httpx.HTTPError as exc:
        log.debug("the end of a finished answer could not be read: %s", exc)
    finally:
        await resp.aclose()


class _StreamRefused(Exception):
    """The server rejected `stream: true`; retry the plain request."""


_DECODER = json.JSONDecoder()


def _json_chunk(data: str) -> dict[str, Any]:
    """One `data:` line's object. `data` comes stripped, so the decoder is called directly:
    `json.loads` would scan for whitespace around it, a third of its time on a token's chunk,
    and this runs once per token."""
    try:
        chunk, end = _DECODER.raw_decode(data)
        if end != len(data):
            raise ValueError("text after the JSON object")
    except ValueError as exc:
        raise BackendError(
            FailureKind.BAD_RESPONSE,
            "The local server sent a malformed stream (not OpenAI-compatible SSE).",
            data[:200],
        ) from exc
    if not isinstance(chunk, dict):
        raise BackendError(FailureKind.BAD_RESPONSE, "The local server sent a malformed stream.")
    if "error" in chunk:
        raise classify_error(None, error_text(data.encode()))
    return chunk


def _reasoning(fields: Any) -> str:
    """The thinking in a delta or message: `reasoning_content` (LM Studio, DeepSeek, llama.cpp)
    or `reasoning` (vLLM, OpenRouter)."""
    if not isinstance(fields, dict):
        return ""
    value = fields.get("reasoning_content") or fields.get("reasoning") or ""
    return value if isinstance(value, str) else ""


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
    )


def _parse_plain(content: bytes, model: str, on_event: OnEvent) -> Completion:
    try:
        payload = json.loads(content)
        choice = payload["choices"][0]
        text = choice["message"]["content"] or ""
        thought = _reasoning(choice["message"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BackendError(
            FailureKind.BAD_RESPONSE, "The local server's answer is not an OpenAI chat completion."
        ) from exc
    if thought:
        on_event(StreamEvent(reasoning=thought))
    on_event(StreamEvent(text=text))
    return Completion(
        text=text,
        finish_reason=str(choice.get("finish_reason") or "stop"),
        model=str(payload.get("model") or model),
        usage=_usage(payload.get("usage")),
        reasoning_tokens=max(1, len(thought) // 4) if thought else 0,
    )
