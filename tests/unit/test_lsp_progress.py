"""A run's work-done progress (lsp/progress.py): asked for only once the run has lasted
`SHOW_AFTER`, so a fast run shows none; reports made before the editor accepted the token
are not lost (the latest ones follow `begin`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from lsprotocol import types

from ladder_lsp.lsp.progress import SHOW_AFTER, Progress
from ladder_lsp.lsp.session import LadderServer


@dataclass
class Features:
    work_done_progress: bool = True


class Recorder:
    """What Progress uses of the server, recording what would reach the editor."""

    def __init__(self) -> None:
        self.features = Features()
        self.sent: list[tuple[str, str | None]] = []
        self.tokens: dict[str, asyncio.Future[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def work_done_progress(self) -> Recorder:  # pygls' Progress lives here
        return self

    def in_background(self, work: Any) -> None:
        self.tasks.append(asyncio.ensure_future(work))

    async def create_async(self, token: str) -> None:
        self.sent.append(("create", None))
        self.tokens[token] = asyncio.get_running_loop().create_future()

    def begin(self, token: str, value: types.WorkDoneProgressBegin) -> None:
        self.sent.append(("begin", value.message))

    def report(self, token: str, value: types.WorkDoneProgressReport) -> None:
        self.sent.append(("report", value.message))

    def end(self, token: str, value: types.WorkDoneProgressEnd) -> None:
        self.sent.append(("end", value.message))


async def started(editor: Recorder) -> Progress:
    return Progress.start(cast(LadderServer, editor), "Ladder: Refactor")


async def test_a_run_over_before_show_after_asks_for_no_progress() -> None:
    editor = Recorder()
    run = await started(editor)
    run.report("local model · 3 tok")
    await asyncio.sleep(SHOW_AFTER / 4)  # a fast run (timers fire in deadline order)
    run.end("edit")
    await asyncio.wait_for(asyncio.gather(*editor.tasks), 5)
    assert editor.sent == [], "nothing flashed in the editor"


async def test_a_longer_run_shows_progress_with_what_it_reported_meanwhile() -> None:
    editor = Recorder()
    run = await started(editor)
    run.report("local model · qwen")
    run.report("local model · qwen · 1 tok")
    await asyncio.sleep(SHOW_AFTER / 2)
    assert editor.sent == [], "not asked for before SHOW_AFTER"
    await asyncio.wait_for(asyncio.gather(*editor.tasks), 5)
    assert editor.sent == [
        ("create", None),
        ("begin", "local model · qwen"),
        ("report", "local model · qwen · 1 tok"),
    ]
    run.report("local model · qwen · 9 tok")
    run.end("edit")
    assert editor.sent[-2:] == [("report", "local model · qwen · 9 tok"), ("end", "edit")]
    assert editor.tokens == {}, "the token is forgotten once the run ended"
