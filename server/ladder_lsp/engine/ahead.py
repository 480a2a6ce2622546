"""Work on the original document done while the model answers, not after its last token.

The checks read the unit around the target, its parse and pyflakes findings, and the
module's names (`pipeline.checks.context.read_original`); none of it depends on the answer.
`Ahead` starts that work once the model has begun to answer (the request is on its way, so
it cannot delay it) and the results wait in the caches the checks read. On the event loop
between stream chunks for ordinary files; in a thread for big ones, so listing keeps
answering. Before the verdict, `settle` waits for a thread still at it (the verdict needs
the same results) or drops work that has not started (the verdict does it itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ladder_lsp.backends.base import OnEvent, StreamEvent
from ladder_lsp.engine.run_types import RunInput
from ladder_lsp.engine.verdict import OFFLOAD_CHARS
from ladder_lsp.pipeline.checks.context import read_original


class Ahead:
    """`work` started at most once, on the first stream event that carries the answer."""

    def __init__(self, work: Callable[[], None], *, in_thread: bool) -> None:
        self._work = work
        self._in_thread = in_thread
        self._handle: asyncio.Handle | None = None
        self._thread: asyncio.Future[None] | None = None

    def around(self, on_event: OnEvent) -> OnEvent:
        """`on_event`, starting the work on the first token (of the answer or its thinking)."""

        def forward(event: StreamEvent) -> None:
            on_event(event)
            if event.text or event.reasoning:
                self.start()

        return forward

    def start(self) -> None:
        if self._handle is not None or self._thread is not None:
            return
        loop = asyncio.get_running_loop()
        if self._in_thread:
            self._thread = asyncio.ensure_future(asyncio.to_thread(self._work))
        else:
            self._handle = loop.call_soon(self._work)

    async def settle(self) -> None:
        """Before the verdict: wait for a thread still working; drop work not yet begun."""
        if self._handle is not None:
            self._handle.cancel()  # a no-op when it already ran
        if self._thread is not None:
            await asyncio.shield(self._thread)


def for_run(inp: RunInput) -> Ahead | None:
    """The work ahead for one run's answers: an edit of Python code (else None)."""
    if not inp.spec.edits_code or inp.spec.id == "tests" or inp.language.lower() != "python":
        return None
    big = len(inp.target.text) > OFFLOAD_CHARS  # the rule the checks themselves follow
    return Ahead(lambda: read_original(inp.target, inp.language), in_thread=big)
