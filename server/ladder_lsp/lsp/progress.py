"""Work-done progress for a run, when the client supports it; cancelling it cancels the run.

The token is created with `window/workDoneProgress/create` (bounded wait; a client that
refuses gets no progress), and the client's `window/workDoneProgress/cancel` cancels the task
that started the progress.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from lsprotocol import types

from ladder_lsp.lsp.session import LadderServer

log = logging.getLogger(__name__)
PROGRESS_CREATE_TIMEOUT = 5.0


class Progress:
    """Work-done progress when the client supports it; cancelling it cancels the run."""

    def __init__(self, ls: LadderServer, token: str | None) -> None:
        self._ls = ls
        self._token = token
        self._started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    @classmethod
    async def start(cls, ls: LadderServer, title: str) -> Progress:
        if not ls.features.work_done_progress:
            return cls(ls, None)
        token = f"ladder-{uuid.uuid4().hex}"
        try:
            await asyncio.wait_for(
                ls.work_done_progress.create_async(token), PROGRESS_CREATE_TIMEOUT
            )
        except Exception as exc:
            log.info("client refused progress: %s", exc)
            return cls(ls, None)
        task = asyncio.current_task()
        future = ls.work_done_progress.tokens.get(token)
        if future is not None and task is not None:
            loop = asyncio.get_running_loop()
            future.add_done_callback(
                lambda f: loop.call_soon_threadsafe(task.cancel) if f.cancelled() else None
            )
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="starting")
        )
        return cls(ls, token)

    def report(self, message: str) -> None:
        if self._token is not None:
            self._ls.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=message)
            )

    def end(self, message: str) -> None:
        if self._token is not None:
            self._ls.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))
            self._ls.work_done_progress.tokens.pop(self._token, None)
            self._token = None
