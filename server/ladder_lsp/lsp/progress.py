"""Work-done progress for a run, when the client supports it; cancelling it cancels the run.

The token is created with `window/workDoneProgress/create` beside the run, once the run has
lasted `SHOW_AFTER` (bounded wait; a client that refuses gets no progress), and the client's
`window/workDoneProgress/cancel` cancels the task that started the progress.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid

from lsprotocol import types

from ladder_lsp.lsp.session import LadderServer

log = logging.getLogger(__name__)
PROGRESS_CREATE_TIMEOUT = 5.0
# A run over sooner shows no progress: no flash in the editor, and its round trip stays off
# a fast run's path (a model's first token takes longer: the request is on its way by then).
SHOW_AFTER = 0.02
EARLY_REPORTS = 8  # reports made before `begin` that are sent after it, the latest ones


class Progress:
    """Work-done progress when the client supports it; cancelling it cancels the run.

    `start` does not wait for the client to accept the token: the run starts at once, the
    token is asked for after `SHOW_AFTER`, and the progress begins when the client's reply
    arrives, followed by the latest reports made meanwhile, so the round trip is never on a
    run's critical path. A run that ends first shows none.
    """

    def __init__(self, ls: LadderServer) -> None:
        self._ls = ls
        self._token: str | None = None
        # the latest reports made before the client accepted the token
        self._early: collections.deque[str] = collections.deque(maxlen=EARLY_REPORTS)
        self._ended = False
        self._started = time.monotonic()

    def ended(self) -> bool:
        """Whether the run is over (a method: it changes while `_create` awaits)."""
        return self._ended

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    @classmethod
    def start(cls, ls: LadderServer, title: str) -> Progress:
        """Progress for the current task (the one a cancel from the client cancels)."""
        progress = cls(ls)
        task = asyncio.current_task()
        if ls.features.work_done_progress and task is not None:
            ls.in_background(progress._create(title, task))
        return progress

    async def _create(self, title: str, task: asyncio.Task[object]) -> None:
        await asyncio.sleep(SHOW_AFTER)
        if self.ended():
            return
        ls = self._ls
        token = f"ladder-{uuid.uuid4().hex}"
        try:
            await asyncio.wait_for(
                ls.work_done_progress.create_async(token), PROGRESS_CREATE_TIMEOUT
            )
        except Exception as exc:
            log.info("client refused progress: %s", exc)
            return
        if self.ended():  # the run is over: the token is not needed
            ls.work_done_progress.tokens.pop(token, None)
            return
        future = ls.work_done_progress.tokens.get(token)
        if future is not None:
            loop = asyncio.get_running_loop()
            future.add_done_callback(
                lambda f: loop.call_soon_threadsafe(task.cancel) if f.cancelled() else None
            )
        early = list(self._early)
        self._early.clear()
        first = early.pop(0) if early else "starting"
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, message=first)
        )
        self._token = token
        for message in early:  # the steps the user would have seen (an escalation…)
            self.report(message)

    def report(self, message: str) -> None:
        if self._token is None:
            self._early.append(message)
        else:
            self._ls.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=message)
            )

    def end(self, message: str) -> None:
        self._ended = True
        if self._token is not None:
            self._ls.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))
            self._ls.work_done_progress.tokens.pop(self._token, None)
            self._token = None
