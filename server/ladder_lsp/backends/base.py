"""What every model backend offers: one streamed chat completion, and model discovery; and
the one limit on how much of an answer any backend reads (`answer_cap`).

Backends translate their wire format into these plain types and their failures into
`BackendError` with a `kind` the router can act on (escalate, fall back, or give up) and a
message a user understands. Nothing here knows about LSP.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from ladder_lsp.settings import LocalSettings

# One answer is read only so far, whatever `max_tokens` says: a server or proxy that ignores
# it (or streams forever) is cut off, and the answer counts as truncated.
MAX_ANSWER_CHARS = 4_000_000  # hard cap on one answer
ANSWER_CHARS_PER_TOKEN = 16  # generous: code tokens average 3-4 characters


def answer_cap(max_tokens: int, *, at_least: int = 1) -> int:
    """Characters of one answer a backend reads before it calls the answer truncated
    (`max_tokens`, counted as at least `at_least`, at ANSWER_CHARS_PER_TOKEN each)."""
    return min(MAX_ANSWER_CHARS, max(max_tokens, at_least) * ANSWER_CHARS_PER_TOKEN)


class Tier(str, enum.Enum):
    LOCAL = "local"
    CLAUDE = "claude"

    @property
    def label(self) -> str:
        return "local model" if self is Tier.LOCAL else "Claude"


@attrs.frozen
class AnswerTool:
    """Structured output: the answer is one call of this tool, its input a JSON object that
    `schema` (JSON Schema, as text) describes. A backend that has tool use forces the call
    and answers its input as JSON text; one that has not answers as usual (the prompt asks
    for the same JSON)."""

    name: str
    description: str
    schema: str


@attrs.frozen
class ChatRequest:
    """A model-agnostic request: the system prompt is stable (cacheable), the user part varies."""

    system: str
    user: str
    max_tokens: int = 2048
    temperature: float = 0.2
    tool: AnswerTool | None = None


@attrs.frozen
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@attrs.frozen
class Completion:
    text: str
    finish_reason: str  # "stop" | "length" | other server-provided reasons
    model: str
    usage: Usage
    endpoint: str = ""  # which server of the local pool answered ("" for other backends)
    # reasoning the server streamed apart from the answer (`reasoning_content`, Claude's
    # thinking blocks), counted in deltas; never part of `text`
    reasoning_tokens: int = 0


@attrs.frozen
class ModelInfo:
    id: str
    state: str = ""  # "loaded" / "not-loaded" when the server says, else ""
    type: str = ""  # "llm", "vlm", "embeddings" when the server says
    max_context_length: int | None = None


class FailureKind(str, enum.Enum):
    UNREACHABLE = "unreachable"  # connection refused / DNS / local server down
    NO_MODEL = "no-model"  # server up but nothing loaded / unknown model
    AUTH = "auth"  # 401/403, missing key
    RATE_LIMITED = "rate-limited"  # 429
    OVERLOADED = "overloaded"  # 529 / 503
    TOO_LARGE = "too-large"  # 413 / context overflow
    TIMEOUT = "timeout"
    STREAM_CUT = "stream-cut"  # connection dropped mid-answer
    BAD_RESPONSE = "bad-response"  # garbage on the wire
    HTTP = "http"  # any other HTTP error
    NOT_CONFIGURED = "not-configured"
    BUDGET = "budget"  # today's Claude budget is spent


class BackendError(Exception):
    """A backend failure with a user-facing message; `detail` goes to the log only."""

    def __init__(self, kind: FailureKind, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


@attrs.frozen
class StreamEvent:
    """Progress from a running completion: answer deltas, reasoning deltas (a reasoning model's
    thinking, shown as progress only), or a status line ("loading model…"); `restart`: the
    answer starts again from scratch (re-sent to another server)."""

    text: str = ""
    status: str = ""
    reasoning: str = ""
    restart: bool = False


OnEvent = Callable[[StreamEvent], None]


class Backend(Protocol):
    tier: Tier

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        """Stream one answer; cancelling the awaiting task must close the connection."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def aclose(self) -> None: ...


class LocalServer(Backend, Protocol):
    """The local tier (`pool.LocalPool` of `OpenAICompatBackend`s): a backend that also says
    whether it answers, which model it serves and that model's context window."""

    settings: LocalSettings

    @property
    def reachable(self) -> bool | None:
        """Whether it answered last time (None: not asked yet)."""
        ...

    @property
    def problem(self) -> str:
        """Why it could not be used last time, for messages."""
        ...

    @property
    def slots(self) -> int:
        """How many answers it streams at once."""
        ...

    @property
    def notice(self) -> str:
        """Something the user should read once (where the local model was found); or ""."""
        ...

    def snapshot(self) -> list[dict[str, Any]]:
        """Its servers as the status shows them (name, baseUrl, up, busy/slots, model,
        tokens/s; never a key)."""
        ...

    async def list_models(self, *, fresh: bool = False) -> list[ModelInfo]: ...

    async def probe(self) -> None:
        """Ask again whether it answers (failures are kept in `problem`)."""
        ...

    async def resolve_model(self) -> str: ...

    async def context_length(self, model: str) -> int: ...

    def known_context_length(self) -> int:
        """The context window from what is known already, without I/O (listing)."""
        ...

    def refresh_model_choice(self) -> None:
        """A run is likely soon: bring what it needs to know (the loaded model) up to date in
        the background, without I/O on the caller's path (listing)."""
        ...
