"""What a local OpenAI-compatible server offers: its models, the one in use, its context window,
and whether it answers at all.

LM Studio's `/api/v0/models` knows what is loaded and each model's context length; other
servers (llama.cpp server, vLLM, Ollama /v1) list what they serve at the plain `/v1/models`.
Answers are cached briefly so listing code actions and status updates never hammer the server;
`reachable` and `problem` keep what the last contact showed, for routing and for messages.
`OpenAICompatBackend` (the chat client) builds on this.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ladder_lsp.backends.base import BackendError, FailureKind, ModelInfo
from ladder_lsp.backends.local_errors import status_error, transport_error
from ladder_lsp.settings import LocalSettings

if TYPE_CHECKING:
    import httpx
else:
    from ladder_lsp.backends.lazy_http import httpx

MODELS_TTL_SECONDS = 10.0
MODEL_CHOICE_TTL_SECONDS = 3.0  # a run re-checks which model is loaded when older than this
NON_CHAT_TYPES = frozenset({"embeddings", "embedding"})


def root_url(base_url: str) -> str:
    """LM Studio's REST API lives beside `/v1`, at the server root."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


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


class ModelDiscovery:
    """One local server's models and reachability, over a shared httpx client."""

    def __init__(self, settings: LocalSettings, client: httpx.AsyncClient | SharedClient) -> None:
        self.settings = settings
        self._client = client
        self._models: list[ModelInfo] | None = None
        self._models_at = 0.0
        self.last_model = ""
        self._lmstudio_api: bool | None = None  # does the server have LM Studio's /api/v0?
        self.reachable: bool | None = None
        self.problem = ""  # the last reason the server could not be used, for messages

    def _http(self) -> httpx.AsyncClient:
        client = self._client
        return client.get_client() if isinstance(client, SharedClient) else client

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

    def models_age(self) -> float:
        """Seconds since the model list was last fetched (infinite: never, or it failed)."""
        return time.monotonic() - self._models_at if self._models is not None else float("inf")

    def cached_models(self) -> list[ModelInfo] | None:
        """The models last listed, without I/O (None: not known)."""
        return self._models

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

    def _waiting_status(self, model: str) -> str:
        """Progress before the first byte: honest about a model LM Studio must load first."""
        for m in self._models or []:
            if m.id == model and m.state == "not-loaded":
                return f"loading model {model}… (the server loads it on first use)"
        return "waiting for the model"

    # -- what a failure tells about the server ---------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError | httpx.InvalidURL) -> BackendError:
        error = transport_error(self.settings, exc)
        if error.kind is FailureKind.UNREACHABLE:
            self.reachable = False
            self.problem = (
                f"the local model server at {self.settings.base_url} is not reachable — is "
                "LM Studio's server running?"
            )
        return error

    def _status_error(self, status: int, body: bytes) -> BackendError:
        error = status_error(self.settings, status, body)
        if error.kind is FailureKind.NO_MODEL:
            self._models = None  # the model went away: ask again next time
        return error


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
