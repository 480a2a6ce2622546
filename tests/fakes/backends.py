"""In-process fakes of the Backend protocol (`backends/base.py`), for Engine unit tests.

No sockets and no threads: each fake answers from a script, in order — a text, or a failure
by `FailureKind` — and records every request it was sent. `FakeBackends` hands them to an
Engine as its `BackendFactory`::

    local = FakeLocalServer(Answer(GOOD))
    claude = FakeBackend(Tier.CLAUDE, Answer(BETTER))
    engine = Engine(settings, backends=FakeBackends(local, claude))

The HTTP fakes beside this module (`lmstudio.py`, `anthropic.py`) test the real clients; these
test what the Engine does with the answers.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from ladder_lsp.backends.base import (
    Backend,
    BackendError,
    ChatRequest,
    Completion,
    FailureKind,
    LocalServer,
    ModelInfo,
    OnEvent,
    StreamEvent,
    Tier,
    Usage,
)
from ladder_lsp.settings import ClaudeSettings, LocalSettings

LOCAL_MODEL = "fake-local-coder"
CLAUDE_MODEL = "claude-fake-sonnet"
DOWN = "the fake local server is down"


@attrs.frozen
class Answer:
    """One scripted reply: a text, or (with `fail`) a `BackendError` of that kind."""

    text: str = ""
    finish_reason: str = "stop"
    fail: FailureKind | None = None
    message: str = ""  # the failure's message (default: names the kind)

    @classmethod
    def failure(cls, kind: FailureKind, message: str = "") -> Answer:
        return cls(fail=kind, message=message or f"scripted failure: {kind.value}")


class FakeBackend:
    """A Backend answering from its script; `requests` holds every request it was sent."""

    def __init__(
        self, tier: Tier, *script: Answer, model: str = CLAUDE_MODEL, context: int | None = None
    ) -> None:
        self.tier = tier
        self.model = model
        self.context = context
        self.script: deque[Answer] = deque(script)
        self.requests: list[ChatRequest] = []
        self.closed = False

    def push(self, *answers: Answer) -> None:
        self.script.extend(answers)

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"the fake {self.tier.value} backend has no answer left")
        answer = self.script.popleft()
        if answer.fail is not None:
            self._failed(answer.fail)
            raise BackendError(answer.fail, answer.message)
        on_event(StreamEvent(text=answer.text))
        usage = Usage(input_tokens=len(request.user) // 4, output_tokens=len(answer.text) // 4)
        return Completion(answer.text, answer.finish_reason, self.model, usage)

    def _failed(self, kind: FailureKind) -> None:
        """What a failure of this kind tells about the backend (the local server: down)."""

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(self.model, state="loaded", max_context_length=self.context)]

    async def aclose(self) -> None:
        self.closed = True


class FakeLocalServer(FakeBackend):
    """The local tier's server (a `LocalServer`): one loaded model; `down` refuses everything,
    as a server that is not running does, and a scripted UNREACHABLE takes it down."""

    def __init__(
        self,
        *script: Answer,
        model: str = LOCAL_MODEL,
        context: int | None = 32_768,
        down: bool = False,
    ) -> None:
        super().__init__(Tier.LOCAL, *script, model=model, context=context)
        self.settings = LocalSettings(embedded_model="off")
        self.down = down
        self.reachable: bool | None = None
        self.problem = ""

    @property
    def slots(self) -> int:
        return self.settings.max_parallel

    notice = ""

    def snapshot(self) -> list[dict[str, Any]]:
        return [{"name": "fake", "baseUrl": self.settings.base_url, "up": bool(self.reachable)}]

    async def list_models(self, *, fresh: bool = False) -> list[ModelInfo]:
        if self.down:
            self._failed(FailureKind.UNREACHABLE)
            raise BackendError(FailureKind.UNREACHABLE, DOWN)
        self.reachable, self.problem = True, ""
        return await super().list_models()

    async def probe(self) -> None:
        try:
            await self.list_models(fresh=True)
        except BackendError:
            pass

    async def resolve_model(self) -> str:
        return self.settings.model or (await self.list_models())[0].id

    async def context_length(self, model: str) -> int:
        return self.known_context_length()

    def known_context_length(self) -> int:
        return self.context or self.settings.context_length

    def refresh_model_choice(self) -> None:
        """Its model never changes: nothing to bring up to date."""

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        await self.resolve_model()  # as the real one: a server that is down sends nothing
        return await super().complete(request, on_event)

    def _failed(self, kind: FailureKind) -> None:
        if kind is FailureKind.UNREACHABLE:
            self.down, self.reachable, self.problem = True, False, DOWN


class FakeBackends:
    """A `BackendFactory` handing an Engine these fakes; `claude_keys` records the keys the
    Engine built Claude with."""

    def __init__(
        self,
        local: FakeLocalServer | None = None,
        claude: FakeBackend | None = None,
        embedded: FakeBackend | None = None,
    ) -> None:
        self.local_server = local if local is not None else FakeLocalServer()
        self.claude_backend = claude if claude is not None else FakeBackend(Tier.CLAUDE)
        self.embedded_backend = embedded
        self.claude_keys: list[str] = []

    def local(self, settings: LocalSettings) -> LocalServer:
        self.local_server.settings = settings
        return self.local_server

    def claude(self, settings: ClaudeSettings, api_key: str) -> Backend:
        self.claude_keys.append(api_key)
        return self.claude_backend

    def embedded(self, setting: str) -> Backend | None:
        return self.embedded_backend

    async def aclose(self) -> None:
        pass
