"""Parallel local workers: one chunk per top-level definition, merged into one edit."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from lsprotocol import types

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import by_title
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.fakes.script import Fault

URI = "file:///work/project/shapes.py"
N = 8
SOURCE = "import math\n\n\n" + "\n\n".join(
    f"def f{i}(x):\n    y = x * {i}\n    return y\n" for i in range(N)
)
CURSOR = types.Range(types.Position(0, 0), types.Position(0, 0))


def rewrite(request: dict[str, Any]) -> Reply:
    """Answer each chunk with its own function, `y` renamed — content-dependent, like a model."""
    prompt = request["messages"][1]["content"]
    i = int(re.search(r"def f(\d+)\(x\)", prompt).group(1))  # type: ignore[union-attr]
    return Reply(f"```python\ndef f{i}(x):\n    result = x * {i}\n    return result\n```")


def expected(skip: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    out = SOURCE
    for i in range(N):
        if i not in skip:
            out = out.replace(
                f"def f{i}(x):\n    y = x * {i}\n    return y\n",
                f"def f{i}(x):\n    result = x * {i}\n    return result\n",
            )
    return out


async def test_listing_offers_workers_for_a_file_with_many_definitions(lsp: Editor) -> None:
    lsp.open(URI, SOURCE)
    titles = [a.title for a in await lsp.actions(URI, CURSOR)]
    assert "Refactor file with local workers" in titles
    assert "Add docstrings with local workers" in titles


async def test_eight_chunks_merge_into_one_edit(lsp: Editor, fake_local: FakeLMStudio) -> None:
    fake_local.responder = rewrite
    fake_local.answer_after(lsp.progress_begun)  # the progress is read below
    lsp.open(URI, SOURCE)
    action = by_title(await lsp.actions(URI, CURSOR), "Refactor file with local workers")
    result = await lsp.execute(action)
    assert result["applied"] is True, result
    assert lsp.docs[URI].text == expected()
    assert len(lsp.applied) == 1, "one WorkspaceEdit for all chunks"
    assert len(fake_local.chat_requests()) == N
    reports = lsp.progress_messages()
    assert any(m.startswith(f"{N}/{N} done") for m in reports), reports


async def test_one_failing_chunk_leaves_the_others_applied(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    def answer(request: dict[str, Any]) -> Reply:
        if "def f3(x)" in request["messages"][1]["content"]:
            return Reply("Sorry, I can't do that.")
        return rewrite(request)

    fake_local.responder = answer
    lsp.open(URI, SOURCE)
    result = await lsp.execute(
        by_title(await lsp.actions(URI, CURSOR), "Refactor file with local workers")
    )
    assert result["applied"] is True
    assert lsp.docs[URI].text == expected(skip={3})
    assert any("7 of 8" in m and "no code" in m for m in lsp.messages()), lsp.messages()


async def test_parallelism_is_bounded_by_max_parallel(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    gate = threading.Event()
    peak = 0

    def answer(request: dict[str, Any]) -> Reply:
        nonlocal peak
        peak = max(peak, fake_local.in_flight)
        gate.wait(10)
        return rewrite(request)

    fake_local.responder = answer
    lsp.open(URI, SOURCE)
    action = by_title(await lsp.actions(URI, CURSOR), "Refactor file with local workers")
    run = asyncio.ensure_future(lsp.execute(action))

    def four_chats() -> bool:
        return len(fake_local.chat_requests()) >= 4

    assert await asyncio.to_thread(fake_local.wait_until, four_chats, 10)
    gate.set()
    assert (await run)["applied"] is True
    assert peak <= 4


async def test_cancel_stops_every_chunk(lsp: Editor, fake_local: FakeLMStudio) -> None:
    fake_local.default = Reply(fault=Fault.endless())
    lsp.open(URI, SOURCE)
    action = by_title(await lsp.actions(URI, CURSOR), "Refactor file with local workers")
    run = asyncio.ensure_future(lsp.execute(action))
    assert await asyncio.to_thread(fake_local.wait_for_active_streams, 4, 10)
    token = await lsp.progress_token()
    lsp.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(run, 10)
    assert result["reason"] == "cancelled"
    assert await asyncio.to_thread(fake_local.wait_for_disconnect, 10, 4)
    assert lsp.applied == [] and lsp.docs[URI].text == SOURCE
