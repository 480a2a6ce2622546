"""The local tier: any OpenAI-compatible server (LM Studio, llama.cpp server, vLLM, Ollama /v1).

Streams `/v1/chat/completions` over SSE through one shared httpx.AsyncClient (keep-alive),
falls back to the non-streaming form when a server will not stream, discovers models through
LM Studio's `/api/v0/models` (which knows what is loaded and its context length) or the plain
`/v1/models`, and turns every failure into a `BackendError` a user can act on. Leaving the
`async with` early (cancellation) closes the connection, which makes LM Studio stop generating.
Answers are bounded: a server that ignores `max_tokens` (or streams forever) is cut off after
`max_tokens * ANSWER_CHARS_PER_TOKEN` characters (at most `MAX_ANSWER_CHARS`), and the answer
is then treated as truncated (`finish_reason` "length"); bodies read whole are capped too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx

from ladder_lsp.backends.base import (
    BackendError,
    ChatRequest,
    Completion,
    FailureKind,
    ModelInfo,
    OnEvent,
    StreamEvent,
    Tier,
    Usage,
)
from ladder_lsp.settings import LocalSettings

log = logging.getLogger(__name__)

MODELS_TTL_SECONDS = 10.0
MODEL_CHOICE_TTL_SECONDS = 1.0  # a run re-checks which model is loaded when older than this
MAX_ANSWER_CHARS = 4_000_000  # hard cap on one answer, whatever max_tokens says
ANSWER_CHARS_PER_TOKEN = 16  # generous: code tokens average 3-4 characters
MAX_BODY_BYTES = 16 * 1024 * 1024  # a non-streamed answer or model list
MAX_ERROR_BYTES = 64 * 1024
NON_CHAT_TYPES = frozenset({"embeddings", "embedding"})


def root_url(base_url: str) -> str:
    """LM Studio's REST API lives beside `/v1`, at the server root."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def error_text(body: bytes) -> str:
    """The message inside an error body: `{"error": "..."}`, `{"error": {"message"}}` or text."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("message", data.get("detail")))
        if isinstance(err, dict):
            err = err.get("message") or err.get("type") or json.dumps(err)
        if err:
            return str(err)[:300]
    return json.dumps(data)[:300]


class SharedClient:
    """The one keep-alive httpx client, built on first use: loading the CA bundle costs
    ~170 ms, which would otherwise delay the server's answer to `initialize`."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_keepalive_connections=16, keepalive_expiry=60)
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class OpenAICompatBackend:
    """One local server; a semaphore holds concurrent requests to `maxParallel`."""

    tier = Tier.LOCAL

    def __init__(self, settings: LocalSettings, client: httpx.AsyncClient | SharedClient) -> None:
        self.settings = settings
        self._client = client
        self._slots = asyncio.Semaphore(settings.max_parallel)
        self._models: list[ModelInfo] | None = None
        self._models_at = 0.0
        self.last_model = ""
        self._lmstudio_api: bool | None = None  # does the server have LM Studio's /api/v0?
        self.reachable: bool | None = None
        self.problem = ""  # the last reason the server could not be used, for messages

    def _http(self) -> httpx.AsyncClient:
        client = self._client
        return client.get_client() if isinstance(client, SharedClient) else client

    # -- discovery -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def list_models(
        self, *, fresh: bool = False, max_age: float = MODELS_TTL_SECONDS
    ) -> list[ModelInfo]:
        """Models the server offers; cached briefly so listing and status never hammer it."""
        now = time.monotonic()
        if not fresh and self._models is not None and now - self._models_at < max_age:
            return self._models
        try:
            models = await self._fetch_models()
        except BackendError as exc:
            self.reachable = exc.kind is not FailureKind.UNREACHABLE
            self.problem = exc.message
            self._models = None
            raise
        self.reachable = True
        self.problem = ""
        self._models, self._models_at = models, now
        return models

    async def _fetch_models(self) -> list[ModelInfo]:
        timeout = httpx.Timeout(10.0)
        try:
            if self._lmstudio_api is not False:
                resp = await self._http().get(
                    f"{root_url(self.settings.base_url)}/api/v0/models",
                    headers=self._headers(),
                    timeout=timeout,
                )
                if resp.status_code == 200:
                    listed = _model_list(resp)
                    if listed is not None:  # else not LM Studio's API (a proxy, a web UI)
                        self._lmstudio_api = True
                        return [_lmstudio_model(m) for m in listed]
                if resp.status_code == 404:
                    self._lmstudio_api = False  # a plain OpenAI server: don't ask every time
            resp = await self._http().get(
                f"{self.settings.base_url.rstrip('/')}/models",
                headers=self._headers(),
                timeout=timeout,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc) from exc
        if resp.status_code != 200:
            raise self._status_error(resp.status_code, resp.content)
        listed = _model_list(resp)
        if listed is None:
            raise BackendError(
                FailureKind.BAD_RESPONSE,
                f"The server at {self.settings.base_url} did not answer /models with a model "
                "list; is it an OpenAI-compatible server?",
            )
        return [ModelInfo(id=str(m.get("id", ""))) for m in listed if m.get("id")]

    async def probe(self) -> None:
        """Refresh reachability (and the model list); failures are kept in `problem`."""
        try:
            await self.list_models(fresh=True)
        except BackendError:
            pass

    async def context_length(self, model: str) -> int:
        """The model's context window when the server reports it, else the configured one."""
        try:
            models = await self.list_models()
        except BackendError:
            return self.settings.context_length
        for m in models:
            if m.id == model and m.max_context_length:
                return m.max_context_length
        return self.settings.context_length

    def known_context_length(self) -> int:
        """The context window from what is already cached (no I/O: used while listing)."""
        model = self.settings.model or self.last_model
        for m in self._models or []:
            if m.max_context_length and (m.id == model or (not model and m.state == "loaded")):
                return m.max_context_length
        return self.settings.context_length

    async def resolve_model(self, *, max_age: float = MODELS_TTL_SECONDS) -> str:
        """`local.model`, else the loaded model, else the only/first chat model."""
        if self.settings.model:
            return self.settings.model
        listed = await self.list_models(max_age=max_age)
        models = [m for m in listed if m.type not in NON_CHAT_TYPES]
        loaded = [m for m in models if m.state == "loaded"]
        if loaded:
            return loaded[0].id
        if models and not any(m.state or m.type for m in models):
            # Plain OpenAI servers do not say what is loaded: they serve what they list, but
            # may list embedding models too (which cannot chat).
            chat = [m for m in models if "embed" not in m.id.lower()]
            if chat:
                return chat[0].id
            models = []
        if models:
            raise BackendError(
                FailureKind.NO_MODEL,
                "No model is loaded in the local server. Load one (LM Studio: Developer tab or "
                "`lms load`) or set ladder.local.model to load it on demand.",
            )
        raise BackendError(
            FailureKind.NO_MODEL,
            f"The local server at {self.settings.base_url} offers no chat model.",
        )

    # -- completion ------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        if self._slots.locked():
            on_event(StreamEvent(status="queued (all local slots busy)"))
        async with self._slots:
            # Following the loaded model: ask which one it is now unless we just did, since a
            # stale answer would make LM Studio reload the model the user swapped out.
            model = await self.resolve_model(max_age=MODEL_CHOICE_TTL_SECONDS)
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

    def _waiting_status(self, model: str) -> str:
        """Progress before the first byte: honest about a model LM Studio must load first."""
        for m in self._models or []:
            if m.id == model and m.state == "not-loaded":
                return f"loading model {model}… (the server loads it on first use)"
        return "waiting for the model"

    async def _stream(self, body: dict[str, Any], on_event: OnEvent) -> Completion:
        url = f"{self.settings.base_url.rstrip('/')}/chat/completions"
        parts: list[str] = []
        finish = ""
        usage = Usage()
        model = str(body["model"])
        cap = answer_cap(int(body.get("max_tokens") or 0))
        received = 0
        try:
            async with self._http().stream(
                "POST", url, json=body, headers=self._headers(), timeout=self._timeout()
            ) as resp:
                if resp.status_code >= 400:
                    content = await read_capped(resp, MAX_ERROR_BYTES)
                    if resp.status_code in (400, 422) and b"stream" in content.lower():
                        raise _StreamRefused()
                    raise self._status_error(resp.status_code, content)
                self.reachable = True
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    return _parse_plain(await self._read_body(resp), model, on_event)
                done = False
                trailing = 0
                async for line in resp.aiter_lines():
                    if done:
                        # read to the end of the body so the connection goes back to the
                        # keep-alive pool (breaking here would close it), but not forever
                        trailing += len(line)
                        if trailing > MAX_ERROR_BYTES:
                            break
                        continue
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        continue
                    chunk = _json_chunk(data)
                    model = str(chunk.get("model") or model)
                    if chunk.get("usage"):
                        usage = _usage(chunk["usage"])
                    for choice in chunk.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content") or ""
                        if delta:
                            parts.append(delta)
                            received += len(delta)
                            on_event(StreamEvent(text=delta))
                        if choice.get("finish_reason"):
                            finish = str(choice["finish_reason"])
                    if received > cap:
                        # leaving the `async with` closes the connection: the server stops
                        log.warning("the local answer passed %d characters; stopped reading", cap)
                        parts, finish = ["".join(parts)[:cap]], "length"
                        usage = Usage(input_tokens=usage.input_tokens, output_tokens=received // 4)
                        break
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc) from exc
        if not finish:
            raise BackendError(
                FailureKind.STREAM_CUT,
                "The local server ended the answer without finishing it (connection dropped).",
            )
        if not usage.output_tokens:
            usage = Usage(input_tokens=usage.input_tokens, output_tokens=len(parts))
        return Completion(text="".join(parts), finish_reason=finish, model=model, usage=usage)

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

    # -- errors ----------------------------------------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError | httpx.InvalidURL) -> BackendError:
        where = self.settings.base_url
        if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
            return BackendError(
                FailureKind.NOT_CONFIGURED,
                f"ladder.local.baseUrl ({where!r}) is not a usable http(s) URL: {exc}",
                repr(exc),
            )
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            self.reachable = False
            self.problem = (
                f"the local model server at {where} is not reachable — is LM Studio's server "
                "running?"
            )
            return BackendError(
                FailureKind.UNREACHABLE,
                f"The local model server at {where} is not reachable — is LM Studio's server "
                "running (Developer tab → Start Server)?",
                repr(exc),
            )
        if isinstance(exc, httpx.TimeoutException):
            return BackendError(
                FailureKind.TIMEOUT,
                f"The local model sent nothing for {self.settings.timeout_seconds:g} s "
                "(ladder.local.timeoutSeconds).",
                repr(exc),
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return BackendError(
                FailureKind.STREAM_CUT,
                "The connection to the local model server dropped mid-answer.",
                repr(exc),
            )
        return BackendError(FailureKind.HTTP, f"Local model request failed: {exc}", repr(exc))

    def _status_error(self, status: int, body: bytes) -> BackendError:
        text = error_text(body)
        if self.settings.api_key and len(self.settings.api_key) >= 4:
            # servers echo a rejected key ("Incorrect API key provided: sk-…"): never show it
            text = text.replace(self.settings.api_key, "***")
        error = classify_error(status, text)
        if error.kind is FailureKind.NO_MODEL:
            self._models = None
        if error.kind is FailureKind.HTTP and status == 404:
            hint = " (check ladder.local.baseUrl; it usually ends in /v1)"
            return BackendError(error.kind, error.message + hint, error.detail)
        return error

    async def aclose(self) -> None:
        """The shared client belongs to the caller; nothing of our own to close."""


def classify_error(status: int | None, text: str) -> BackendError:
    """An error the server reported (HTTP status, or None: inside a 200 stream) as a failure
    the router can act on; LM Studio says the same things either way."""
    lowered = text.lower()
    if (
        "no models loaded" in lowered
        or "model not found" in lowered
        or (status == 404 and "model" in lowered)
    ):
        return BackendError(
            FailureKind.NO_MODEL,
            f"The local server has no usable model: {text}. Load a model in LM Studio or "
            "set ladder.local.model.",
        )
    if status in (401, 403):
        return BackendError(
            FailureKind.AUTH,
            f"The local server refused the request (HTTP {status}); check ladder.local.apiKey.",
        )
    if (
        status == 413
        or "context length" in lowered
        or "context window" in lowered
        or ("context size" in lowered)
    ):
        return BackendError(
            FailureKind.TOO_LARGE, f"The request is too large for the local model: {text}"
        )
    if status in (503, 529):
        return BackendError(FailureKind.OVERLOADED, f"The local server is busy: {text}")
    if status is None:
        return BackendError(FailureKind.HTTP, f"The local model failed mid-answer: {text}")
    return BackendError(FailureKind.HTTP, f"The local server answered HTTP {status}: {text}")


def answer_cap(max_tokens: int) -> int:
    """Characters of one answer Ladder reads before it calls the answer truncated."""
    return min(MAX_ANSWER_CHARS, max(max_tokens, 4096) * ANSWER_CHARS_PER_TOKEN)


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


class _StreamRefused(Exception):
    """The server rejected `stream: true`; retry the plain request."""


def _model_list(resp: httpx.Response) -> list[dict[str, Any]] | None:
    """The entries of a `{"data": [...]}` (or bare list) model listing; None if it is not one."""
    try:
        payload = resp.json()
    except ValueError:
        return None
    data = payload.get("data") if isinstance(payload, dict) else payload
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else None


def _lmstudio_model(m: dict[str, Any]) -> ModelInfo:
    ctx = m.get("max_context_length") or m.get("loaded_context_length")
    return ModelInfo(
        id=str(m.get("id", "")),
        state=str(m.get("state", "")),
        type=str(m.get("type", "")),
        max_context_length=int(ctx) if isinstance(ctx, int) and ctx > 0 else None,
    )


def _json_chunk(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
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
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BackendError(
            FailureKind.BAD_RESPONSE, "The local server's answer is not an OpenAI chat completion."
        ) from exc
    on_event(StreamEvent(text=text))
    return Completion(
        text=text,
        finish_reason=str(choice.get("finish_reason") or "stop"),
        model=str(payload.get("model") or model),
        usage=_usage(payload.get("usage")),
    )
