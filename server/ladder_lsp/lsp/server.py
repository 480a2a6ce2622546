"""The language server: creates the session and registers the LSP features and commands.

No product logic lives here: each handler hands over to its module: listing to `lsp.listing`,
`ladder.run` to `lsp.run`, settings and status to the session (`lsp.session`).
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

from ladder_lsp.backends.base import BackendError
from ladder_lsp.engine.actions import QUICKFIX, REFACTOR, REFACTOR_REWRITE, SOURCE, kind_allowed
from ladder_lsp.lsp.capabilities import read_features
from ladder_lsp.lsp.document import keep_documents_as_lines, read_lines
from ladder_lsp.lsp.job import JOB_COMMAND, job_action, job_command
from ladder_lsp.lsp.listing import RunArgs, offers
from ladder_lsp.lsp.run import run_command
from ladder_lsp.lsp.session import LadderServer
from ladder_lsp.lsp.text import open_document, path_of

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
        keep_documents_as_lines(ls.workspace)
        ls.apply_settings(announce=False)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: LadderServer, params: types.InitializedParams) -> None:
        await ls.pull_configuration()
        ls.apply_settings()
        ls.send_status(fresh=True)
        ls.warm_up()

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

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: LadderServer, params: types.DidOpenTextDocumentParams) -> None:
        """Split the new document into lines now, not on the user's first cursor move."""
        doc = open_document(ls.workspace, params.text_document.uri)
        if doc is not None:
            read_lines(doc)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: LadderServer, params: types.DidCloseTextDocumentParams) -> None:
        """A document opened again starts afresh: its versions may repeat."""
        ls.deliveries.document_closed(path_of(params.text_document.uri))

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
        lines = read_lines(doc)
        engine = ls.engine
        engine.local.refresh_model_choice()  # the user may pick an action next
        path = path_of(doc.uri)
        at_cursor = params.range.start == params.range.end
        job = [job_action()] if at_cursor and kind_allowed(SOURCE, params.context.only) else []
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
            + job
            or None
        )

    @server.command("ladder.run")
    async def ladder_run(ls: LadderServer, args: RunArgs) -> dict[str, Any]:
        return await run_command(ls, args)

    @server.command(JOB_COMMAND)
    async def ladder_job(ls: LadderServer, *args: Any) -> dict[str, Any]:
        return await job_command(ls, list(args))

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
