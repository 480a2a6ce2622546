"""The one place that builds backends, so an Engine can be given others (tests give it
in-process fakes: tests/fakes/backends.py).

`Backends` builds the real ones: the local pool over one shared keep-alive HTTP client,
Claude through its SDK (imported on first use: the SDK alone costs seconds at start), and the
embedded llama.cpp engine when a GGUF file is found.
"""

from __future__ import annotations

from typing import Protocol

from ladder_lsp.backends.base import Backend, LocalServer
from ladder_lsp.backends.discovery import SharedClient
from ladder_lsp.backends.pool import LocalPool
from ladder_lsp.settings import ClaudeSettings, LocalSettings


class BackendFactory(Protocol):
    def local(self, settings: LocalSettings) -> LocalServer:
        """The local tier: the pool of configured servers (no I/O until it is used)."""
        ...

    def claude(self, settings: ClaudeSettings, api_key: str) -> Backend: ...

    def embedded(self, setting: str) -> Backend | None:
        """The in-process engine for `local.embeddedModel`, or None when no model is found."""
        ...

    async def aclose(self) -> None: ...


class Backends:
    """The real backends."""

    def __init__(self) -> None:
        self._http = SharedClient()

    def local(self, settings: LocalSettings) -> LocalServer:
        return LocalPool(settings, self._http)

    def claude(self, settings: ClaudeSettings, api_key: str) -> Backend:
        from ladder_lsp.backends.anthropic import ClaudeBackend

        return ClaudeBackend(settings, api_key)

    def embedded(self, setting: str) -> Backend | None:
        from ladder_lsp.backends import embedded

        path = embedded.find_model(setting) if embedded.available(setting) else None
        return embedded.EmbeddedBackend(path) if path is not None else None

    async def aclose(self) -> None:
        await self._http.aclose()
