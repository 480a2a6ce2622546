"""The Claude tier through the official SDK (AsyncAnthropic, `messages.stream`).

Imported only when Claude is first used: the SDK alone costs seconds and tens of MB at start.
Retries are the SDK's (bounded `max_retries`, honouring retry-after) under one total deadline;
the system prompt is marked for prompt caching since it is the same for every run of an action.
Errors become `BackendError`s whose messages never contain the key. A circuit breaker per
endpoint (`breaker.py`) stops calling Claude during an outage (529/5xx) and probes it again
after a cool-down; while it is open, runs fail at once with kind OVERLOADED (the router then
falls back as for any overloaded answer). Answers are capped in size (`MAX_ANSWER_CHARS`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anthropic

try:  # anthropic 2.x runs on httpx2; earlier releases on httpx
    import httpx2 as sdk_httpx
except ImportError:  # pragma: no cover - depends on the installed SDK
    import httpx as sdk_httpx  # type: ignore[no-redef]

from .. import breaker
from ..config import ClaudeSettings
from .base import (
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

log = logging.getLogger(__name__)

MAX_RETRIES = 2
TOTAL_DEADLINE_SECONDS = 300.0
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
# Claude honours max_tokens; a proxy in between may not. Stop reading far beyond it.
MAX_ANSWER_CHARS = 4_000_000
ANSWER_CHARS_PER_TOKEN = 16
DEFAULT_ENDPOINT = "https://api.anthropic.com"


class ClaudeBackend:
    tier = Tier.CLAUDE

    def __init__(
        self,
        settings: ClaudeSettings,
        api_key: str,
        *,
        max_retries: int = MAX_RETRIES,
        deadline: float = TOTAL_DEADLINE_SECONDS,
    ) -> None:
        self.settings = settings
        self._deadline = deadline
        self._slots = asyncio.Semaphore(settings.max_parallel)
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=settings.base_url or None,
            max_retries=max_retries,
            timeout=120.0,
        )
        endpoint = str(getattr(self._client, "base_url", "") or "") or DEFAULT_ENDPOINT
        self._breaker = breaker.for_endpoint(endpoint.rstrip("/"))

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        if self._slots.locked():
            on_event(StreamEvent(status="queued (all Claude slots busy)"))
        async with self._slots:
            try:
                self._breaker.before_call()
            except breaker.BreakerOpen as exc:
                wait = f"not retrying for {exc.retry_in:.0f} s" if exc.retry_in else "probing it"
                raise BackendError(
                    FailureKind.OVERLOADED,
                    f"Claude is overloaded; {wait}.",
                    "circuit breaker open",
                ) from None
            on_event(StreamEvent(status="waiting for Claude"))
            outage = False
            try:
                completion = await asyncio.wait_for(self._stream(request, on_event), self._deadline)
            except asyncio.TimeoutError:
                raise BackendError(
                    FailureKind.TIMEOUT,
                    f"Claude did not finish within {self._deadline:g} s.",
                ) from None
            except anthropic.APIError as exc:
                outage = _is_outage(exc)
                raise _map_error(exc, self.settings.model) from exc
            except (sdk_httpx.HTTPError, ValueError, AssertionError) as exc:
                # a cut or garbled stream surfaces as the transport's own error, not APIError
                raise BackendError(
                    FailureKind.STREAM_CUT,
                    "The connection to Claude dropped or sent a malformed answer.",
                    type(exc).__name__,
                ) from exc
            else:
                self._breaker.success()
                return completion
            finally:
                if outage:
                    self._breaker.failure()
                elif self._breaker.state != breaker.CLOSED:
                    self._breaker.neutral()

    async def _stream(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        system: Any = [
            {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
        ]
        cap = min(MAX_ANSWER_CHARS, max(request.max_tokens, 1) * ANSWER_CHARS_PER_TOKEN)
        received = 0
        async with self._client.messages.stream(
            model=self.settings.model,
            max_tokens=request.max_tokens,
            system=system,
            messages=[{"role": "user", "content": request.user}],
        ) as stream:
            parts: list[str] = []
            async for text in stream.text_stream:
                if text:
                    parts.append(text)
                    received += len(text)
                    on_event(StreamEvent(text=text))
                    if received > cap:
                        break
            if received > cap:
                log.warning("Claude's answer passed %d characters; stopped reading", cap)
                started = stream.current_message_snapshot.usage
                return Completion(
                    text="".join(parts)[:cap],
                    finish_reason="length",
                    model=self.settings.model,
                    usage=Usage(
                        input_tokens=started.input_tokens, output_tokens=request.max_tokens
                    ),
                )
            message = await stream.get_final_message()
        usage = message.usage
        text = "".join(block.text for block in message.content if block.type == "text")
        return Completion(
            text=text,
            finish_reason=STOP_REASONS.get(str(message.stop_reason), str(message.stop_reason)),
            model=message.model,
            usage=Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_input_tokens or 0,
                cache_write_tokens=usage.cache_creation_input_tokens or 0,
            ),
        )

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=self.settings.model)]

    async def aclose(self) -> None:
        await self._client.close()


def _status(exc: anthropic.APIStatusError) -> int:
    status = exc.status_code
    if status < 400:  # an `event: error` inside a 200 stream: its type says what happened
        status = ERROR_TYPE_STATUS.get(_error_type(exc.body), 500)
    return status


def _is_outage(exc: anthropic.APIError) -> bool:
    """Failures that say Claude itself is in trouble (the breaker counts these)."""
    return isinstance(exc, anthropic.APIStatusError) and _status(exc) >= 500


def _map_error(exc: anthropic.APIError, model: str) -> BackendError:
    """SDK exceptions → a kind the router acts on and a message without secrets."""
    detail = type(exc).__name__
    if isinstance(exc, anthropic.APITimeoutError):
        return BackendError(FailureKind.TIMEOUT, "Claude timed out.", detail)
    if isinstance(exc, anthropic.APIConnectionError):
        return BackendError(FailureKind.UNREACHABLE, "Claude is not reachable (network).", detail)
    if not isinstance(exc, anthropic.APIStatusError):
        return BackendError(FailureKind.BAD_RESPONSE, "Claude's answer was malformed.", detail)
    status = _status(exc)
    if status == 401:
        return BackendError(FailureKind.AUTH, "Claude rejected the API key (401).", detail)
    if status == 402:
        return BackendError(
            FailureKind.AUTH,
            "Claude refused: the account's credit balance is too low (402).",
            detail,
        )
    if status == 403:
        return BackendError(FailureKind.AUTH, "The API key may not use this model (403).", detail)
    if status == 404:
        return BackendError(
            FailureKind.NOT_CONFIGURED, f"Claude model {model!r} does not exist (404).", detail
        )
    if status == 413:
        return BackendError(FailureKind.TOO_LARGE, "The request is too large for Claude.", detail)
    if status == 429:
        after = exc.response.headers.get("retry-after", "")
        wait = f" (retry after {after} s)" if after else ""
        return BackendError(FailureKind.RATE_LIMITED, f"Claude is rate-limited{wait}.", detail)
    if status in (503, 529):
        return BackendError(FailureKind.OVERLOADED, "Claude is overloaded right now.", detail)
    if status == 504:
        return BackendError(FailureKind.TIMEOUT, "Claude timed out (504).", detail)
    return BackendError(FailureKind.HTTP, f"Claude answered HTTP {status}.", detail)


# Anthropic's error `type` → the HTTP status it comes with (for errors inside a stream).
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _error_type(body: object) -> str:
    """`error.type` of an Anthropic error body (`{"type": "error", "error": {...}}`)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return ""
