"""Edits to one document from runs that finish close together, with an editor that sends its
`didChange` late (Eglot waits for an idle moment): the command answers as soon as the editor
says "applied", and the next edit still lands on the text the first one produced."""

from __future__ import annotations

import asyncio

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, TOTAL_RANGE, URI, by_title
from tests.fakes.lmstudio import FakeLMStudio, Reply

AREA_RANGE = types.Range(types.Position(14, 0), types.Position(16, 0))
AREA_WITH_DOCSTRING = '''\
def area(r):
    """The area of a circle of radius r."""
    return math.pi * r * r
'''


async def test_late_did_change_delays_the_next_delivery_not_the_answer(
    lsp: Editor, client: LanguageClient, fake_local: FakeLMStudio
) -> None:
    held = asyncio.Event()
    lsp.hold_changes = held
    lsp.open(URI, CART)
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    first = await asyncio.wait_for(
        lsp.execute(by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")), 30
    )
    assert first["applied"] is True, first
    assert not held.is_set(), "answered while the editor's didChange was still held back"
    # The second run was offered on version 1 and its delivery finds the server still at
    # version 1; the editor's echo arrives while that delivery waits for it.
    runs = len(client.progress_reports)
    # answered once its progress shows: `run_ended` below watches the progress end
    fake_local.push(
        Reply(f"```python\n{AREA_WITH_DOCSTRING}```", after=lambda: lsp.progress_begun(runs))
    )
    docstring = by_title(await lsp.actions(URI, AREA_RANGE), "Add docstring with local model")
    second = asyncio.ensure_future(lsp.execute(docstring))
    await asyncio.wait_for(run_ended(client, runs), 30)  # the run ended: delivery is next
    held.set()
    result = await asyncio.wait_for(second, 30)
    assert result["applied"] is True, result
    text = lsp.docs[URI].text
    assert REFACTORED_TOTAL in text and AREA_WITH_DOCSTRING in text, text
    assert lsp.docs[URI].version == 3


async def run_ended(client: LanguageClient, before: int) -> None:
    """Until the progress of the run after the first `before` ends (the server ends it right
    before delivering)."""

    def ended() -> bool:
        runs = list(client.progress_reports.values())[before:]
        return any(isinstance(r, types.WorkDoneProgressEnd) for reports in runs for r in reports)

    while not ended():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
