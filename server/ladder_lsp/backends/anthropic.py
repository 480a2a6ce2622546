"""The Claude tier through the official SDK (AsyncAnthropic, `messages.stream`).

Imported only when Claude is first used: the SDK alone costs seconds and tens of MB at start.
Failures are classified by what Ladder observed, not by the SDK's exception classes, which
change between releases (2.x reports a stream cut mid-answer as a connection error): a stream
that delivered events and then broke is a cut stream, whatever the SDK calls it. Retries are
Ladder's own, bounded (`max_retries`) under one total deadline, because the SDK waits as long
as `retry-after` says; a wait longer than `MAX_RETRY_WAIT` is reported at once so the router
can fall back to the local model instead of keeping the user waiting. The system prompt is
marked for prompt caching since it is the same for every run of an action. Errors become
`BackendError`s whose messages never contain the key. A circuit breaker per endpoint
(`breaker.py`) stops calling Claude during an outage (529/5xx) and probes it again after a
cool-down; while it is open, runs fail at once with kind OVERLOADED. Answers are capped in
size (`base.answer_cap`).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from typing import Any

import anthropic

from ladder_lsp.backends import breaker
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
    answer_cap,
)
from ladder_lsp.settings import ClaudeSettings

log = logging.getLogger(__name__)

MAX_RETRIES = 2
TOTAL_DEADLINE_SECONDS = 300.0
MAX_RETRY_WAIT = 5.0  # seconds; Claude asking for longer: tell the user and let routing decide
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 8.0
RETRYABLE_STATUS = frozenset({408, 409, 429})  # and every 5xx
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "stop",
    "max_tokens": "length",
}
DEFAULT_ENDPOINT = "https://api.anthropic.com"


class _Observed:
    """What one attempt saw on the wire: whether Claude's answer had begun."""

    started = False


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
        self._max_retries = max_retries
        self._slots = asyncio.Semaphore(settings.max_parallel)
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=settings.base_url or None,
            max_retries=0,  # retries are ours: see the module docstring
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
                completion = await asyncio.wait_for(
                    self._with_retries(request, on_event), self._deadline
                )
            except asyncio.TimeoutError:
                raise BackendError(
                    FailureKind.TIMEOUT,
                    f"Claude did not finish within {self._deadline:g} s.",
                ) from None
            except _Failed as failed:
                outage = failed.outage
                raise failed.error from failed.__cause__
            else:
                self._breaker.success()
                return completion
            finally:
                if outage:
                    self._breaker.failure()
                elif self._breaker.state != breaker.CLOSED:
                    self._breaker.neutral()

    async def _with_retries(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        """Attempts until one succeeds, the failure is final, or the wait is too long."""
        for attempt in range(self._max_retries + 1):
            seen = _Observed()
            try:
                return await self._stream(request, on_event, seen)
            except Exception as exc:
                error = classify(exc, started=seen.started, model=self.settings.model)
                wait = retry_wait(exc, attempt) if not seen.started else None
                if wait is None or wait > MAX_RETRY_WAIT or attempt == self._max_retries:
                    asked = _asked_wait(exc)
                    if asked:  # say it at once: the router falls back rather than wait
                        error = BackendError(
                            error.kind,
                            f"{error.message.rstrip('.')}: retry in {asked:.0f} s.",
                            error.detail,
                        )
                        on_event(StreamEvent(status=error.message))
                    raise _Failed(error, _is_outage(exc)) from exc
                log.info("Claude: %s (%s); retrying in %.1f s", error.message, error.detail, wait)
                on_event(
                    StreamEvent(status=f"{error.message.rstrip('.')}, retrying in {wait:.0f} s")
                )
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    async def _stream(self, request: ChatRequest, on_event: OnEvent, seen: _Observed) -> Completion:
        system: Any = [
            {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
        ]
        cap = answer_cap(request.max_tokens)  # Claude honours max_tokens; a proxy may not
        received = 0
        parts: list[str] = []
        tools: dict[str, Any] = {}
        if request.tool is not None:
            tool = request.tool
            tools = {
                "tools": [{"name": tool.name, "description": tool.description,
                           "input_schema": json.loads(tool.schema)}],
                "tool_choice": {"type": "tool", "name": tool.name},
            }  # fmt: skip
        thought = 0
        async with self._client.messages.stream(
            model=self.settings.model,
            max_tokens=request.max_tokens,
            system=system,
            messages=[{"role": "user", "content": request.user}],
            **tools,
        ) as stream:
            seen.started = True  # Claude answered 200: from here on a failure is a cut stream
            async for event in stream:
                thinking = _delta_thinking(event)
                if thinking:  # extended thinking: progress only, never the answer
                    thought += 1
                    on_event(StreamEvent(reasoning=thinking))
                    continue
                text = _delta_text(event)
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
        text = "".join(
            block.text if block.type == "text" else json.dumps(block.input)
            for block in message.content
            if block.type == "text" or (block.type == "tool_use" and request.tool is not None)
        )
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
            reasoning_tokens=thought,
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


def _is_outage(exc: BaseException) -> bool:
    """Failures that say Claude itself is in trouble (the breaker counts these)."""
    return isinstance(exc, anthropic.APIStatusError) and _status(exc) >= 500


class _Failed(Exception):
    """A final failure of the retry loop, carrying whether it counts as an outage."""

    def __init__(self, error: BackendError, outage: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.outage = outage


def _delta_text(event: object) -> str:
    """The text of a `content_block_delta` event; "" for every other event."""
    delta = getattr(event, "delta", None)
    if getattr(event, "type", "") == "content_block_delta" and delta is not None:
        return str(getattr(delta, "text", "") or "")
    return ""


def _delta_thinking(event: object) -> str:
    """The thinking of a `content_block_delta` event of a thinking block; "" otherwise."""
    delta = getattr(event, "delta", None)
    if getattr(event, "type", "") == "content_block_delta" and delta is not None:
        if getattr(delta, "type", "") == "thinking_delta":
            return str(getattr(delta, "thinking", "") or "")
    return ""


def classify(exc: BaseException, *, started: bool, model: str) -> BackendError:
    """A failure → a kind the router acts on and a message without secrets.

    Decided by what happened: an error event inside the stream says what it is (its type);
    any other failure once the answer began is a cut stream; before it, the SDK's status
    errors carry the HTTP status and anything else is the network or a garbled answer.
    """
    detail = type(exc).__name__
    if isinstance(exc, anthropic.APIStatusError):
        return _map_status(exc, model)
    if started:
        return BackendError(
            FailureKind.STREAM_CUT,
            "The connection to Claude dropped or sent a malformed answer.",
            detail,
        )
    if isinstance(exc, anthropic.APITimeoutError):
        return BackendError(FailureKind.TIMEOUT, "Claude timed out.", detail)
    if isinstance(exc, anthropic.APIConnectionError):
        return BackendError(FailureKind.UNREACHABLE, "Claude is not reachable (network).", detail)
    return BackendError(FailureKind.BAD_RESPONSE, "Claude's answer was malformed.", detail)


def retry_wait(exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when retrying cannot help.

    Claude's `retry-after` (or `retry-after-ms`) wins; otherwise exponential backoff with
    jitter. Only failures before any answer arrived are retried: a cut stream is not.
    """
    if isinstance(exc, anthropic.APIStatusError):
        status = _status(exc)
        if status not in RETRYABLE_STATUS and status < 500:
            return None
        asked = _asked_wait(exc)
        if asked is not None:
            return asked
    elif not isinstance(exc, anthropic.APIConnectionError):
        return None
    backoff = min(BACKOFF_FIRST * 2.0**attempt, BACKOFF_MAX)
    return backoff * (1 - 0.25 * random.random())


def _asked_wait(exc: BaseException) -> float | None:
    """The wait Claude asked for in an error response, if any."""
    if isinstance(exc, anthropic.APIStatusError):
        return _retry_after(exc.response.headers)
    return None


def _retry_after(headers: Any) -> float | None:
    """`retry-after-ms`, `retry-after` in seconds, or `retry-after` as an HTTP date."""
    try:
        return max(float(headers.get("retry-after-ms", "")) / 1000, 0.0)
    except ValueError:
        pass
    value = str(headers.get("retry-after", "")).strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _map_status(exc: anthropic.APIStatusError, model: str) -> BackendError:
    detail = type(exc).__name__
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
        return BackendError(FailureKind.RATE_LIMITED, "Claude is rate-limited.", detail)
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
