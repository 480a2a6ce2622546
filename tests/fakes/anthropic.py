"""A fake Claude Messages API for ``anthropic.AsyncAnthropic(base_url=fake.url)``.

Why: escalation to Claude must be tested offline, through the real SDK — its SSE parsing,
its error classes (``RateLimitError``, ``OverloadedError`` for 529, …) and its retry loop that
honours ``retry-after``. So this fake streams the real event sequence (``message_start``,
``content_block_start``, ``ping``, ``content_block_delta``…, ``content_block_stop``,
``message_delta``, ``message_stop``) and answers errors in Anthropic's real shape
``{"type": "error", "error": {"type": ..., "message": ...}}``.

Run standalone: ``python -m tests.fakes.anthropic --port 8765`` (prints the base URL).
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._http import Exchange, FakeServer, RecordedRequest
from .script import Fault, ReplyBase, Script, Scripted, StreamFormat, Thought, run_reply, sse

DEFAULT_MODEL = "claude-sonnet-5-5"

#: The error ``type`` Anthropic sends with each status.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_MESSAGES = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "api_error": "Internal server error",
    "timeout_error": "Request timeout",
    "overloaded_error": "Overloaded",
}


@dataclass
class ClaudeReply(ReplyBase):
    """A scripted Claude answer. Token counts default to estimates (input: JSON length / 4;
    output: piece count); cache numbers default to 0."""

    stop_reason: str = "end_turn"
    tool: str = ""  # answer as a call of this tool: the text is its input, as JSON
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


def error_body(status: int, message: str | None = None, type: str | None = None) -> dict[str, Any]:
    """Anthropic's error JSON for ``status`` (type inferred from the status when omitted)."""
    etype = type or ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": etype, "message": message or _MESSAGES.get(etype, "Error")},
    }


def claude_error(
    status: int,
    message: str | None = None,
    *,
    type: str | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fault:
    """An HTTP error as Anthropic sends it; ``retry_after`` (seconds) sets ``retry-after``.

    ``claude_error(429, retry_after=0.05)`` → the SDK's ``RateLimitError`` / a retry after 50 ms;
    ``claude_error(529)`` → ``OverloadedError`` (an ``InternalServerError``).
    """
    extra = dict(headers or {})
    if retry_after is not None:
        extra["retry-after"] = f"{retry_after:g}"
    return Fault.http_error(status, error_body(status, message, type), extra)


def error_event(
    after: int = 0, type: str = "overloaded_error", message: str | None = None
) -> Fault:
    """An ``event: error`` after ``after`` text deltas, inside a 200 stream (the SDK raises
    ``APIStatusError`` with that body)."""
    return Fault.error_event(after, error_body(529, message, type))


def sent_api_key(request: RecordedRequest) -> str | None:
    """The key a request presented: ``x-api-key``, or ``Authorization: Bearer`` (which newer
    SDKs send for ``api_key``)."""
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"]
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


class FakeAnthropic(Scripted[ClaudeReply], FakeServer):
    """The Messages API on 127.0.0.1.

    Args:
        port: 0 picks a free one.
        api_key: when set, ``x-api-key`` or ``Authorization: Bearer`` must match (401
            ``authentication_error`` otherwise).
        default: the reply when the queue is empty and no responder answers.
        models: ids listed by ``GET /v1/models``.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        api_key: str | None = None,
        default: ClaudeReply | None = None,
        models: list[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host, port)
        self._given = (api_key, default, models)
        self._restore()
        self._ids = itertools.count(1)

    def _restore(self) -> None:
        api_key, default, models = self._given
        self.api_key = api_key
        self.models = list(models or [DEFAULT_MODEL, "claude-haiku-5-5"])
        self.script: Script[ClaudeReply] = Script(
            ClaudeReply, default or ClaudeReply("Hello from fake Claude.")
        )

    @property
    def url(self) -> str:
        """Base URL for the SDK (it appends ``/v1/messages``)."""
        return self.root_url

    def message_requests(self) -> list[Any]:
        """JSON bodies of the ``POST /v1/messages`` requests received so far."""
        return [r.json for r in self.requests_to("/v1/messages", "POST")]

    # -- routing ------------------------------------------------------------------------------

    def handle(self, ex: Exchange) -> None:
        req = ex.request
        path = req.path.split("?")[0].rstrip("/")
        rid = f"req_fake{next(self._ids):08d}"
        headers = {"request-id": rid}
        if not self._authorized(req):
            ex.send_json(401, error_body(401), headers)
        elif req.method == "GET" and path == "/v1/models":
            ex.send_json(200, self._models(), headers)
        elif req.method == "POST" and path == "/v1/messages/count_tokens":
            ex.send_json(200, {"input_tokens": _estimate(req.json)}, headers)
        elif req.method == "POST" and path == "/v1/messages":
            self._messages(ex, headers, rid)
        else:
            ex.send_json(404, error_body(404, f"Not found: {req.method} {path}"), headers)

    def _authorized(self, request: RecordedRequest) -> bool:
        return not self.api_key or sent_api_key(request) == self.api_key

    def _models(self) -> dict[str, Any]:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in self.models
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": self.models[0] if self.models else None,
            "last_id": self.models[-1] if self.models else None,
        }

    def _messages(self, ex: Exchange, headers: dict[str, str], rid: str) -> None:
        body = ex.request.json
        problem = _validate(ex.request.headers, body)
        if problem:
            ex.send_json(400, error_body(400, problem), headers)
            return
        reply = self.script.next(body)
        pieces = reply.pieces()
        usage = {
            "input_tokens": reply.input_tokens
            if reply.input_tokens is not None
            else _estimate(body),
            "cache_creation_input_tokens": reply.cache_creation_input_tokens,
            "cache_read_input_tokens": reply.cache_read_input_tokens,
            "output_tokens": reply.output_tokens
            if reply.output_tokens is not None
            else len(pieces),
        }
        message = {
            "id": f"msg_fake{rid.removeprefix('req_fake')}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        stop = "tool_use" if reply.tool else reply.stop_reason
        block = (
            {"type": "tool_use", "id": f"toolu_fake{rid}", "name": reply.tool, "input": {}}
            if reply.tool
            else {"type": "text", "text": ""}
        )
        run_reply(
            ex,
            reply,
            stream=body.get("stream") is True,
            fmt=_stream_format(message, stop, block),
            whole=lambda: {
                **message,
                "content": [
                    *(
                        [{"type": "thinking", "thinking": reply.reasoning_text, "signature": "x"}]
                        if reply.reasoning_text
                        else []
                    ),
                    {**block, "input": json.loads(reply.full_text)}
                    if reply.tool
                    else {"type": "text", "text": reply.full_text},
                ],
                "stop_reason": stop,
            },
            error_body=error_body,
            headers=headers,
        )


def _validate(headers: dict[str, str], body: Any) -> str | None:
    """The checks the real API makes first, so a malformed request fails here too."""
    if "anthropic-version" not in headers:
        return "anthropic-version: header is required"
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    return None


def _estimate(body: Any) -> int:
    if not isinstance(body, dict):
        return 1
    return max(1, len(json.dumps([body.get("system"), body.get("messages")])) // 4)


class _Blocks:
    """The content blocks of a stream as pieces arrive: extended thinking (``Thought``
    pieces) opens a ``thinking`` block; the first text after it closes that block and opens
    the ``text`` block at the next index, as the real API orders them."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.index = 0
        self.kind = ""
        self.answer = answer  # the answer's block: text, or a tool call (its input as JSON)

    def piece(self, text: str) -> bytes:
        kind = "thinking" if isinstance(text, Thought) else self.answer["type"]
        out = b""
        if kind != self.kind:
            if self.kind:
                if self.kind == "thinking":
                    out += _delta(self.index, {"type": "signature_delta", "signature": "x"})
                out += _block_stop(self.index)
                self.index += 1
            out += _block_start(self.index, kind, self.answer)
            self.kind = kind
        if kind == "thinking":
            return out + _delta(self.index, {"type": "thinking_delta", "thinking": str(text)})
        if kind == "tool_use":
            return out + _delta(self.index, {"type": "input_json_delta", "partial_json": text})
        return out + _delta(self.index, {"type": "text_delta", "text": text})

    def close(self) -> bytes:
        """The last block's stop (an empty text block when nothing streamed)."""
        opened = b"" if self.kind else _block_start(self.index, self.answer["type"], self.answer)
        return opened + _block_stop(self.index)


def _block_start(index: int, kind: str, answer: dict[str, Any]) -> bytes:
    block: dict[str, Any] = answer
    if kind == "thinking":
        block = {"type": "thinking", "thinking": "", "signature": ""}
    return sse(
        {"type": "content_block_start", "index": index, "content_block": block},
        "content_block_start",
    )


def _block_stop(index: int) -> bytes:
    return sse({"type": "content_block_stop", "index": index}, "content_block_stop")


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse(
        {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
    )


def _stream_format(
    message: dict[str, Any], stop_reason: str, block: dict[str, Any]
) -> StreamFormat:
    """The Messages event sequence: thinking block (when the reply has ``Thought`` pieces),
    then the answer's block (text, or one tool call's input JSON)."""
    start_usage = {**message["usage"], "output_tokens": 1}
    blocks = _Blocks(block)
    return StreamFormat(
        head=[
            sse(
                {"type": "message_start", "message": {**message, "usage": start_usage}},
                "message_start",
            ),
            sse({"type": "ping"}, "ping"),
        ],
        piece=blocks.piece,
        end_content=lambda: [blocks.close()],
        tail=[
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": message["usage"]["output_tokens"]},
                },
                "message_delta",
            ),
            sse({"type": "message_stop"}, "message_stop"),
        ],
        error=lambda body: sse(body if body is not None else error_body(529), "error"),
        garbage=[
            b"event: message_start\ndata: <html><body>502 Bad Gateway</body></html>\n\n",
            b'event: content_block_delta\ndata: {"type": "content_blo\n\n',
        ],
    )


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted, printing the base URL."""
    parser = argparse.ArgumentParser(description="Fake Anthropic Messages API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--answer", default="Hello from fake Claude.")
    parser.add_argument("--chunk-delay", type=float, default=0.02)
    args = parser.parse_args(argv)
    fake = FakeAnthropic(
        args.port, host=args.host, default=ClaudeReply(args.answer, chunk_delay=args.chunk_delay)
    )
    with fake:
        print(f"FakeAnthropic listening on {fake.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
