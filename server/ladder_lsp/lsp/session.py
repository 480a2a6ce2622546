"""The session: the server object and the state one editor connection keeps.

Settings (initializationOptions merged with `workspace/configuration`), the engine and its
ledger, what the client can do (`ClientFeatures`), per-document delivery turns, the region
finder, runs in flight by request id, and the `ladder/status` notification. Handlers
(`lsp.server`) and the run command (`lsp.run`) import this module; it imports neither.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Coroutine
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

from ladder_lsp import __version__
from ladder_lsp.analysis.regions import RegionFinder
from ladder_lsp.backends import lazy_http
from ladder_lsp.backends.base import BackendError
from ladder_lsp.engine.actions import BUILTIN_IDS
from ladder_lsp.engine.engine import Engine
from ladder_lsp.lsp import stdio
from ladder_lsp.lsp.capabilities import ClientFeatures
from ladder_lsp.lsp.deliveries import Deliveries
from ladder_lsp.lsp.protocol import LadderProtocol
from ladder_lsp.privacy import known_secrets
from ladder_lsp.settings import Problem, Settings, merge_raw, parse_settings
from ladder_lsp.store.ledger import Ledger

log = logging.getLogger(__name__)
STATUS_NOTIFICATION = "ladder/status"


class LadderServer(LanguageServer):
    """pygls' server plus Ladder's session state (one per editor connection)."""

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
        self._notice_shown = ""
        self._background: set[asyncio.Future[Any]] = set()
        assert isinstance(self.protocol, LadderProtocol)
        self.protocol.on_cancel = self._cancel_request

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls' stdio server, reading stdin on the event loop when it may (`lsp.stdio`)."""
        if stdin is not None or stdout is not None or not stdio.own_pipe():
            super().start_io(stdin, stdout)
            return
        stop = self._stop_event = threading.Event()  # what pygls' shutdown sets
        self.protocol.set_writer(StdoutWriter(sys.stdout.buffer))

        async def serve() -> None:
            reader = await stdio.loop_reader()
            log.debug("reading stdin on the event loop")
            await run_async(
                stop_event=stop,
                reader=reader,
                protocol=self.protocol,
                logger=log,
                error_handler=self.report_server_error,
            )

        try:
            asyncio.run(serve())
        except BrokenPipeError:
            log.error("Connection to the client is lost! Shutting down the server.")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

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

    # -- status ----------------------------------------------------------------------------

    async def status(self, *, fresh: bool = False) -> dict[str, Any]:
        local = self.engine.local
        models: list[str] = []
        current = local.settings.model
        if fresh:
            await local.probe()  # every idle member of the pool, in parallel
        try:
            infos = await local.list_models()
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
                "members": local.snapshot(),
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
        self.in_background(self._send_status(fresh, force))

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the handlers, holding a reference so it is not collected."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_status(self, fresh: bool, force: bool) -> None:
        status = await self.status(fresh=fresh)
        notice = self.engine.local.notice
        if notice and notice != self._notice_shown:
            self._notice_shown = notice
            self.window_show_message(types.ShowMessageParams(types.MessageType.Info, notice))
        if force or status != self._last_status:
            self._last_status = status
            self.protocol.notify(STATUS_NOTIFICATION, status)

    def warm_up(self) -> None:
        """Idle after `initialized`: build what the first cursor move would otherwise pay,
        and load httpx, left out of the start so `initialize` is answered sooner."""
        assert isinstance(self.protocol, LadderProtocol)
        self.protocol.warm_up()
        lazy_http.load()

    # -- runs ------------------------------------------------------------------------------

    def _cancel_request(self, msg_id: Any) -> None:
        job = self.jobs_by_request.get(msg_id)
        if job is not None:
            job.cancel()
