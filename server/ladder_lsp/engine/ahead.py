"""Work done while the model answers, not after its last token: on the original document
(`Ahead`), and the verdict on an answer whose code is complete before its stream ends
(`EarlyVerdict`).

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
from collections.abc import Awaitable, Callable

from ladder_lsp.backends.base import Completion, OnEvent, StreamEvent, Usage
from ladder_lsp.engine.run_types import RunInput
from ladder_lsp.engine.verdict import OFFLOAD_CHARS, Verdict
from ladder_lsp.pipeline.checks.context import read_original


class Ahead:
    """`work` started at most once, on the first stream event that carries the answer."""

    def __init__(self, work: Callable[[], None], *, in_thread: bool) -> None:
        self._work = work
        self._in_thread = in_thread
        self._handle: asyncio.Handle | None = None
        self._thread: asyncio.Future[None] | None = None
        self.read = False  # the work ran to its end: its results wait in the caches

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
            self._thread = asyncio.ensure_future(asyncio.to_thread(self._run))
        else:
            self._handle = loop.call_soon(self._run)

    def _run(self) -> None:
        self._work()
        self.read = True

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


FENCE = "```"
MAX_EARLY = 3  # answers with many code blocks are judged at the end, not at every fence


class EarlyVerdict:
    """The verdict on an answer, started when its code is complete (a closing fence) rather
    than after the stream's last chunks (the finish reason, the usage, `[DONE]`), and taken
    when the finished answer is that very text, finished normally by the model it came from.
    Anything else (more text, a cut-off, another model, a restart on another server) drops
    it, and the answer is judged as usual: the early verdict can only ever be the same one.
    """

    def __init__(
        self, judge: Callable[[Completion], Awaitable[Verdict]], model: str, *, active: bool
    ) -> None:
        self._judge = judge
        self._model = model
        self._active = active  # edits: the verdict's checks are worth starting early
        self._parts: list[str] = []
        self._fences = 0
        self._reasoning = 0
        self._started = 0
        self._task: asyncio.Task[Verdict] | None = None
        self._text = ""

    def around(self, on_event: OnEvent) -> OnEvent:
        def forward(event: StreamEvent) -> None:
            on_event(event)
            self._see(event)

        return forward

    def _see(self, event: StreamEvent) -> None:
        if not self._active:
            return
        if event.restart:
            self._parts, self._fences, self._reasoning = [], 0, 0
            self.cancel()
        if event.reasoning:
            self._reasoning += 1
        if not event.text:
            return
        self._parts.append(event.text)
        if "`" not in event.text:
            return
        text = "".join(self._parts)
        fences = text.count(FENCE)
        if fences == self._fences:
            return
        self._fences = fences
        if fences % 2 == 0 and self._started < MAX_EARLY:
            self.cancel()
            self._started += 1
            self._text = text
            early = Completion(
                text=text,
                finish_reason="stop",
                model=self._model,
                usage=Usage(),
                reasoning_tokens=self._reasoning,
            )
            self._task = asyncio.ensure_future(self._judge(early))
            self._task.add_done_callback(_retrieved)

    async def take(self, completion: Completion) -> Verdict | None:
        """The early verdict when it judged exactly `completion`; else None (judge it)."""
        task, self._task = self._task, None
        if task is None:
            return None
        same = (
            completion.text == self._text
            and completion.finish_reason == "stop"
            and completion.model == self._model
            and completion.reasoning_tokens == self._reasoning
        )
        if not same:
            task.cancel()
            return None
        return await task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


def _retrieved(task: asyncio.Task[Verdict]) -> None:
    """A dropped early verdict's failure is the late one's to report (it judges the same)."""
    if not task.cancelled():
        task.exception()
