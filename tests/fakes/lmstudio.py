"""A fake LM Studio: the OpenAI-compatible API plus LM Studio's own ``/api/v0`` REST extras.

Why: Ladder's local backend must work against LM Studio (and plain llama.cpp / vLLM servers,
which lack ``/api/v0``). This fake speaks the same bytes — ``chat.completion.chunk`` SSE ending
in ``data: [DONE]``, usage chunks when ``stream_options.include_usage`` is set, LM Studio's
string-or-object error bodies — and lets a test script answers and failures per request.

Run standalone for manual/editor use::

    python -m tests.fakes.lmstudio --port 1234 --answer-file answer.txt

``--answer-when TEXT FILE`` answers a request whose messages contain TEXT with FILE instead,
and ``--requests-file`` appends each chat request's JSON body to a file, one a line (what a
driver outside this process reads to see what reached the model).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._http import Exchange, FakeServer
from .script import Fault, ReplyBase, Script, Scripted, StreamFormat, Thought, run_reply, sse

NO_MODELS_LOADED = (
    "No models loaded. Please load a model in the developer page or use the `lms load` command."
)

DEFAULT_MODELS: list[dict[str, Any]] = [
    {
        "id": "qwen2.5-coder-7b-instruct",
        "type": "llm",
        "state": "loaded",
        "max_context_length": 32768,
        "publisher": "lmstudio-community",
        "arch": "qwen2",
        "quantization": "Q4_K_M",
    },
    {
        "id": "llama-3.2-3b-instruct",
        "type": "llm",
        "state": "not-loaded",
        "max_context_length": 131072,
        "publisher": "hugging-quants",
        "arch": "llama",
        "quantization": "Q8_0",
    },
    {
        "id": "text-embedding-nomic-embed-text-v1.5",
        "type": "embeddings",
        "state": "not-loaded",
        "max_context_length": 2048,
        "publisher": "nomic-ai",
        "arch": "nomic-bert",
        "quantization": "Q4_K_M",
    },
]


@dataclass
class Reply(ReplyBase):
    """A scripted chat answer. ``Reply("def f(): ...")`` streams that text in ~4-char pieces.

    Token counts default to an estimate (prompt: JSON length / 4; completion: piece count).
    :class:`Thought` pieces stream as ``delta.<reasoning_key>`` (LM Studio and llama.cpp say
    ``reasoning_content``, vLLM ``reasoning``), and sit in ``message.<reasoning_key>`` of a
    whole body.
    """

    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_key: str = "reasoning_content"


def no_models_loaded(status: int = 404) -> Fault:
    """LM Studio's answer when nothing is loaded and JIT loading is off (error as a string)."""
    return Fault.http_error(status, {"error": NO_MODELS_LOADED})


def openai_error(
    status: int,
    message: str,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> Fault:
    """An error in the OpenAI object shape (LM Studio and vLLM send this too)."""
    return Fault.http_error(status, _error_object(message, type, code, param))


def _error_object(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class FakeLMStudio(Scripted[Reply], FakeServer):
    """LM Studio's server on 127.0.0.1.

    Args:
        port: 0 picks a free one (read :attr:`port`).
        models: model dicts (``id``, ``state``, ``type``, ``max_context_length``, optional
            ``publisher``/``arch``/``quantization``); default: one loaded coder LLM, one
            not-loaded LLM, one embeddings model. Settable later via :attr:`models`.
        api_v0: serve ``/api/v0/*``; False answers 404 there like llama.cpp/vLLM.
        api_key: when set, ``Authorization: Bearer <key>`` is required (401 otherwise).
        default: the reply when the queue is empty and no responder answers.
        jit: LM Studio's just-in-time loading; True lists every LLM in ``/v1/models``,
            False only loaded ones.
        strict_models: answer 404 ``model_not_found`` for a chat ``model`` not in ``models``.
        honour_max_tokens: cut streams at ``max_tokens`` pieces with ``finish_reason`` "length".
    """

    def __init__(
        self,
        port: int = 0,
        *,
        models: list[dict[str, Any]] | None = None,
        api_v0: bool = True,
        api_key: str | None = None,
        default: Reply | None = None,
        jit: bool = True,
        strict_models: bool = False,
        honour_max_tokens: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host, port)
        self._given = (models, api_v0, api_key, jit, strict_models, honour_max_tokens, default)
        self._restore()
        self._ids = itertools.count(1)

    def _restore(self) -> None:
        models, api_v0, api_key, jit, strict_models, honour_max_tokens, default = self._given
        self.models: list[dict[str, Any]] = [
            dict(m) for m in (DEFAULT_MODELS if models is None else models)
        ]
        self.api_v0 = api_v0
        self.api_key = api_key
        self.jit = jit
        self.strict_models = strict_models
        self.honour_max_tokens = honour_max_tokens
        self.script: Script[Reply] = Script(Reply, default or Reply("Hello from the fake model."))

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.root_url}/v1"

    def chat_requests(self) -> list[Any]:
        """JSON bodies of the chat completion requests received so far."""
        return [r.json for r in self.requests if r.path.split("?")[0].endswith("/chat/completions")]

    # -- routing ------------------------------------------------------------------------------

    def handle(self, ex: Exchange) -> None:
        req = ex.request
        path = req.path.split("?")[0].rstrip("/")
        if path.startswith("/api/v0") and not self.api_v0:
            ex.send_bytes(404, b"File Not Found", "text/plain")
            return
        if not self._authorized(req.headers):
            ex.send_json(
                401,
                _error_object(
                    "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
                ),
            )
            return
        if req.method == "GET" and path == "/v1/models":
            ex.send_json(200, self._v1_models())
        elif req.method == "GET" and path == "/api/v0/models":
            ex.send_json(200, {"object": "list", "data": [self._v0_model(m) for m in self.models]})
        elif req.method == "GET" and path.startswith("/api/v0/models/"):
            self._v0_one(ex, path.removeprefix("/api/v0/models/"))
        elif req.method == "POST" and path in ("/v1/chat/completions", "/api/v0/chat/completions"):
            self._chat(ex)
        else:
            ex.send_json(404, {"error": f"Unexpected endpoint or method. ({req.method} {path})"})

    def _authorized(self, headers: dict[str, str]) -> bool:
        return not self.api_key or headers.get("authorization") == f"Bearer {self.api_key}"

    def _v1_models(self) -> dict[str, Any]:
        shown = [m for m in self.models if self.jit or m.get("state", "loaded") == "loaded"]
        data = [
            {"id": m["id"], "object": "model", "owned_by": m.get("publisher", "organization_owner")}
            for m in shown
        ]
        return {"object": "list", "data": data}

    @staticmethod
    def _v0_model(m: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": m["id"],
            "object": "model",
            "type": m.get("type", "llm"),
            "publisher": m.get("publisher", "lmstudio-community"),
            "arch": m.get("arch", "llama"),
            "compatibility_type": m.get("compatibility_type", "gguf"),
            "quantization": m.get("quantization", "Q4_K_M"),
            "state": m.get("state", "loaded"),
            "max_context_length": int(m.get("max_context_length", 4096)),
        }

    def _v0_one(self, ex: Exchange, model_id: str) -> None:
        for m in self.models:
            if m["id"] == model_id:
                ex.send_json(200, self._v0_model(m))
                return
        ex.send_json(404, {"error": f"Model {model_id} not found"})

    def _loaded_model(self) -> str:
        for m in self.models:
            if m.get("state", "loaded") == "loaded" and m.get("type", "llm") == "llm":
                return str(m["id"])
        return "local-model"

    # -- chat completions ---------------------------------------------------------------------

    def _chat(self, ex: Exchange) -> None:
        body = ex.request.json
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            problem = "'messages' field is required"
            ex.send_json(400, _error_object(problem, "invalid_request_error"))
            return
        model = body.get("model") or self._loaded_model()
        if self.strict_models and model not in {m["id"] for m in self.models}:
            ex.send_json(
                404,
                _error_object(
                    f"Model '{model}' not found.",
                    "invalid_request_error",
                    "model_not_found",
                    "model",
                ),
            )
            return
        reply = self.script.next(body)
        reply = self._apply_max_tokens(reply, body)
        pieces = reply.pieces()
        usage = {
            "prompt_tokens": reply.prompt_tokens
            if reply.prompt_tokens is not None
            else max(1, len(json.dumps(body["messages"])) // 4),
            "completion_tokens": reply.completion_tokens
            if reply.completion_tokens is not None
            else len(pieces),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        meta = {
            "id": f"chatcmpl-{next(self._ids):06d}",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": model,
        }
        stream_options = body.get("stream_options") or {}
        run_reply(
            ex,
            reply,
            stream=body.get("stream") is True,
            fmt=_stream_format(
                meta,
                reply.finish_reason,
                usage,
                bool(stream_options.get("include_usage")),
                reply.reasoning_key,
            ),
            whole=lambda: _completion(meta, reply, usage),
            error_body=lambda status: _error_object(
                f"Error {status}", "server_error" if status >= 500 else "invalid_request_error"
            ),
        )

    def _apply_max_tokens(self, reply: Reply, body: dict[str, Any]) -> Reply:
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if not self.honour_max_tokens or not isinstance(limit, int):
            return reply
        pieces = reply.pieces()
        if len(pieces) <= limit:
            return reply
        return dataclasses.replace(reply, chunks=pieces[:limit], finish_reason="length")


def _chunk(meta: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": meta["id"],
        "object": "chat.completion.chunk",
        "created": meta["created"],
        "model": meta["model"],
        "system_fingerprint": meta["system_fingerprint"],
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _stream_format(
    meta: dict[str, Any],
    finish: str,
    usage: dict[str, int],
    include_usage: bool,
    reasoning_key: str = "reasoning_content",
) -> StreamFormat:
    """OpenAI chunk sequence: role chunk, content chunks, finish chunk, usage chunk, [DONE]."""
    tail = [sse(_chunk(meta, {}, finish))]
    if include_usage:
        tail.append(sse({**_chunk(meta, {}, None), "choices": [], "usage": usage}))
    tail.append(b"data: [DONE]\n\n")
    return StreamFormat(
        head=[sse(_chunk(meta, {"role": "assistant", "content": ""}, None))],
        piece=lambda text: sse(
            _chunk(meta, {reasoning_key: str(text)}, None)
            if isinstance(text, Thought)
            else _chunk(meta, {"content": text}, None)
        ),
        tail=tail,
        error=lambda body: sse(
            body if body is not None else _error_object("Model crashed", "server_error")
        ),
    )


def _completion(meta: dict[str, Any], reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": meta["id"],
        "object": "chat.completion",
        "created": meta["created"],
        "model": meta["model"],
        "system_fingerprint": meta["system_fingerprint"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.full_text,
                    **({reply.reasoning_key: reply.reasoning_text} if reply.reasoning_text else {}),
                },
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage,
    }


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted, printing the base URL (for pointing an editor at it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    parser.add_argument("--answer-file", type=Path, help="text every chat request answers")
    parser.add_argument(
        "--answer-when",
        nargs=2,
        action="append",
        default=[],
        metavar=("TEXT", "FILE"),
        help="a chat request whose messages contain TEXT answers FILE's text (repeatable; "
        "the first match wins, else --answer-file)",
    )
    parser.add_argument(
        "--requests-file", type=Path, help="append each chat request's JSON body here, one a line"
    )
    parser.add_argument("--chunk-delay", type=float, default=0.02, help="seconds per piece")
    parser.add_argument("--no-api-v0", action="store_true", help="act like plain llama.cpp")
    args = parser.parse_args(argv)
    text = args.answer_file.read_text() if args.answer_file else "Hello from the fake model."
    fake = FakeLMStudio(
        args.port,
        host=args.host,
        api_v0=not args.no_api_v0,
        default=Reply(text, chunk_delay=args.chunk_delay),
    )
    answers = [(when, Path(file).read_text()) for when, file in args.answer_when]
    lock = threading.Lock()

    def respond(body: Any) -> Reply | None:
        if args.requests_file is not None:
            with lock, args.requests_file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(body) + "\n")
        said = "\n".join(str(m.get("content")) for m in body["messages"] if isinstance(m, dict))
        for when, answer in answers:
            if when in said:
                return Reply(answer, chunk_delay=args.chunk_delay)
        return None

    fake.responder = respond
    with fake:
        print(f"FakeLMStudio listening on {fake.base_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
