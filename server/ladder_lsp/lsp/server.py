"""The language server: registers LSP features and commands and hands each to its module.

No product logic lives here: listing is in `listing`, runs in `lsp_run` and `jobs`, settings in
`config`. This module owns the session state (settings, engine, running jobs) and the
`ladder/status` notification.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from ladder_lsp import __version__
from ladder_lsp.analysis.regions import RegionFinder
from ladder_lsp.analysis.text import split_lines
from ladder_lsp.backends.base import BackendError
from ladder_lsp.engine.actions import BUILTIN_IDS, QUICKFIX, REFACTOR, REFACTOR_REWRITE, SOURCE
from ladder_lsp.engine.engine import Engine
from ladder_lsp.lsp.capabilities import ClientFeatures, read_features
from ladder_lsp.lsp.deliveries import Deliveries
from ladder_lsp.lsp.listing import RunArgs, offers
from ladder_lsp.lsp.protocol import LadderProtocol
from ladder_lsp.lsp.run import run_command
from ladder_lsp.lsp.text import open_document, path_of
from ladder_lsp.privacy import known_secrets
from ladder_lsp.settings import Problem, Settings, merge_raw, parse_settings
from ladder_lsp.store.ledger import Ledger

log = logging.getLogger(__name__)
STATUS_NOTIFICATION = "ladder/status"
LINES_CACHE_SIZE = 2  # documents whose split lines listing keeps (bounded: big files are big)


class LadderServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("ladder-lsp", __version__, protocol_cls=LadderProtocol)
        self.init_options: dict[str, Any] = {}
        self.workspace_settings: dict[str, Any] = {}
        self.model_override = ""
        self.features = ClientFeatures()  # read at initialize
        self.settings = Settings()
        self.engine = Engine(self.settings)
        self.regions = RegionFinder()
        self.deliveries = Deliveries()
        self.jobs_by_request: dict[Any, asyncio.Future[Any]] = {}
        self._last_status: dict[str, Any] | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._lines: dict[str, tuple[str, list[str]]] = {}
        assert isinstance(self.protocol, LadderProtocol)
        self.protocol.on_cancel = self._cancel_request

    # -- settings --------------------------------------------------------------------------

    def apply_settings(self, *, announce: bool = True) -> None:
        raw = merge_raw(self.init_options, self.workspace_settings)
        if self.model_override:
            raw = merge_raw(raw, {"local": {"model": self.model_override}})
        settings, problems = parse_settings(raw, reserved_action_ids=BUILTIN_IDS)
        ledger_changed = (
            self.engine.ledger is None
            or settings.ledger != self.settings.ledger
            or settings.claude.model != self.engine.ledger.claude_model
        )
        self.settings = settings
        self.engine.update(settings)
        if ledger_changed:
            # the old ledger stays open: runs in flight may still write to it (closed on GC)
            self.engine.ledger = Ledger.open(settings)
        if announce:
            self._report_problems(problems)

    def _report_problems(self, problems: list[Problem]) -> None:
        for p in problems:
            log.warning("setting %s: %s", p.path, p.message)
        warn = [p for p in problems if p.warn]
        if warn:
            text = "; ".join(f"ladder.{p.path} {p.message}" for p in warn)
            self.window_show_message(
                types.ShowMessageParams(types.MessageType.Warning, f"Ladder settings: {text}")
            )

    async def pull_configuration(self) -> None:
        """`workspace/configuration` section `ladder` (wins over initializationOptions)."""
        if not self.features.configuration:
            return
        folders = list(self.workspace.folders.values())
        items = [types.ConfigurationItem(scope_uri=f.uri, section="ladder") for f in folders]
        items = items or [types.ConfigurationItem(section="ladder")]
        try:
            results = await asyncio.wait_for(
                self.workspace_configuration_async(types.ConfigurationParams(items=items)), 10
            )
        except Exception as exc:
            log.info("workspace/configuration failed: %s", exc)
            return
        merged: dict[str, Any] = {}
        for result in results or []:
            if isinstance(result, dict):
                merged = merge_raw(merged, result)
        self.workspace_settings = merged

    def secrets(self) -> tuple[str, ...]:
        """The API keys this session knows (see `privacy.known_secrets`)."""
        return known_secrets(self.settings, self.init_options, self.workspace_settings)

    def redact(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text

    def lines_of(self, uri: str, source: str) -> list[str]:
        """The document's lines as LSP splits them, kept for the last few texts: listing runs
        on every cursor move, and splitting a 10 MB document costs ~0.1 s each time."""
        cached = self._lines.get(uri)
        if cached is not None and cached[0] is source:
            return cached[1]
        lines = split_lines(source)
        self._lines[uri] = (source, lines)
        while len(self._lines) > LINES_CACHE_SIZE:
            self._lines.pop(next(iter(self._lines)))
        return lines

    # -- status ----------------------------------------------------------------------------

    async def status(self, *, fresh: bool = False) -> dict[str, Any]:
        local = self.engine.local
        models: list[str] = []
        current = local.settings.model
        try:
            infos = await local.list_models(fresh=fresh)
            models = [m.id for m in infos]
            if not current:
                current = await local.resolve_model()
        except BackendError as exc:
            log.info("local status: %s", exc.message)
        ledger = self.engine.ledger
        usage = await asyncio.to_thread(ledger.summary_today) if ledger else {}
        return {
            "local": {
                "baseUrl": local.settings.base_url,
                "reachable": bool(local.reachable),
                "model": current,
                "models": models,
            },
            "claude": {
                "configured": bool(self.engine.claude_key()),
                "model": self.settings.claude.model,
            },
            "usage": {
                "todayUsd": round(float(usage.get("today_usd", 0.0)), 4),
                "savedUsd": round(float(usage.get("saved_usd", 0.0)), 4),
            },
            "lastTokensPerSecond": round(self.engine.last_rate, 1),
        }

    def send_status(self, *, fresh: bool = False, force: bool = False) -> None:
        """Notify `ladder/status` when it changed (always with `force`, e.g. new settings)."""
        task = asyncio.ensure_future(self._send_status(fresh, force))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_status(self, fresh: bool, force: bool) -> None:
        status = await self.status(fresh=fresh)
        if force or status != self._last_status:
            self._last_status = status
            self.protocol.notify(STATUS_NOTIFICATION, status)

    # -- runs ------------------------------------------------------------------------------

    def _cancel_request(self, msg_id: Any) -> None:
        job = self.jobs_by_request.get(msg_id)
        if job is not None:
            job.cancel()


CODE_ACTION_KINDS = [REFACTOR_REWRITE, QUICKFIX, REFACTOR, SOURCE]


class _RedactSecrets(logging.Filter):
    """Masks the session's API keys in every log record (pygls logs message bodies at
    DEBUG, including `workspace/configuration` answers that carry the settings)."""

    def __init__(self, server: LadderServer) -> None:
        super().__init__()
        self._server = server

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # known keys, and any `apiKey` value (pygls logs settings before Ladder has read them)
        redacted = _KEY_FIELD.sub(r"\1\2***\2", self._server.redact(message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_KEY_FIELD = re.compile(r"""(["']?(?:apiKey|api_key)["']?\s*[:=]\s*)(["'])(?:(?!\2).)+\2""")


def create_server() -> LadderServer:
    server = LadderServer()
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactSecrets(server))

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: LadderServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        ls.init_options = options if isinstance(options, dict) else {}
        ls.features = read_features(params.capabilities)
        ls.apply_settings(announce=False)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: LadderServer, params: types.InitializedParams) -> None:
        await ls.pull_configuration()
        ls.apply_settings()
        ls.send_status(fresh=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_config(ls: LadderServer, params: types.DidChangeConfigurationParams) -> None:
        pushed = params.settings.get("ladder") if isinstance(params.settings, dict) else None
        if isinstance(pushed, dict) and not _pulls(ls):
            ls.workspace_settings = pushed
        else:
            await ls.pull_configuration()
        ls.apply_settings()
        ls.send_status(fresh=True, force=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: LadderServer, params: types.DidChangeTextDocumentParams) -> None:
        """pygls has applied the change; a delivery may be waiting for it."""
        ls.deliveries.document_changed(path_of(params.text_document.uri))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=CODE_ACTION_KINDS, resolve_provider=False),
    )
    def on_code_action(
        ls: LadderServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        doc = open_document(ls.workspace, params.text_document.uri)
        if doc is None:
            return None
        lines = ls.lines_of(doc.uri, doc.source)
        engine = ls.engine
        path = path_of(doc.uri)
        return (
            offers(
                uri=doc.uri,
                path=path,
                language=doc.language_id or "plaintext",
                version=doc.version,
                lines=lines,
                requested=params.range,
                context=params.context,
                settings=ls.settings,
                available=engine.availability(path, ""),
                context_tokens=engine.local.known_context_length(),
                regions=ls.regions,
            )
            or None
        )

    @server.command("ladder.run")
    async def ladder_run(ls: LadderServer, args: RunArgs) -> dict[str, Any]:
        return await run_command(ls, args)

    @server.command("ladder.status")
    async def ladder_status(ls: LadderServer) -> dict[str, Any]:
        return await ls.status(fresh=True)

    @server.command("ladder.models")
    async def ladder_models(ls: LadderServer) -> list[dict[str, Any]]:
        try:
            models = await ls.engine.local.list_models(fresh=True)
        except BackendError as exc:
            ls.window_show_message(
                types.ShowMessageParams(types.MessageType.Warning, f"Ladder: {exc.message}")
            )
            return []
        return [
            {
                "id": m.id,
                "state": m.state or None,
                "type": m.type or None,
                "maxContextLength": m.max_context_length,
            }
            for m in models
        ]

    @server.command("ladder.selectModel")
    async def ladder_select_model(ls: LadderServer, model_id: Any) -> dict[str, Any]:
        if not isinstance(model_id, str):  # pygls would turn 42 or null into "42", "None"
            raise JsonRpcInvalidParams.of(TypeError("ladder.selectModel takes a model id string"))
        ls.model_override = model_id
        ls.apply_settings(announce=False)
        ls.window_show_message(
            types.ShowMessageParams(
                types.MessageType.Info, f"Ladder: local model set to {model_id or 'the loaded one'}"
            )
        )
        ls.send_status(fresh=True)
        return {"model": model_id}

    @server.command("ladder.usage")
    async def ladder_usage(ls: LadderServer) -> dict[str, Any]:
        if ls.engine.ledger is None:
            return {"days": [], "tiers": {}, "savedUsd": 0.0, "deliveries": {}}
        return await asyncio.to_thread(ls.engine.ledger.usage_report)

    @server.command("ladder.debug.stats")
    async def ladder_debug_stats(ls: LadderServer) -> dict[str, Any]:
        """INTERNAL, not part of the contract (may change or go): live figures of this
        process for the stress tests — asyncio tasks, open file descriptors, resident memory,
        runs in flight, progress tokens and circuit breakers."""
        return debug_stats(ls)

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: LadderServer, params: Any = None) -> None:
        for job in list(ls.jobs_by_request.values()):
            job.cancel()
        await ls.engine.aclose()

    return server


def debug_stats(ls: LadderServer) -> dict[str, Any]:
    """Figures for `ladder.debug.stats` (Linux /proc; -1 where unavailable)."""
    from ladder_lsp.backends import breaker

    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = -1
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        rss = -1
    return {
        "tasks": len(asyncio.all_tasks()),
        "fds": fds,
        "rss": rss,
        "threads": threading.active_count(),
        "jobs": len(ls.jobs_by_request),
        "progressTokens": len(ls.work_done_progress.tokens),
        "requestFutures": len(ls.protocol._request_futures),
        "breakers": breaker.snapshot(),
    }


def _pulls(ls: LadderServer) -> bool:
    return ls.features.configuration
