"""The vertical slice end to end: list → run on the fake local model → exact, minimal edit."""

from __future__ import annotations

import asyncio
import threading

from lsprotocol import types

from tests.e2e.editor import Editor
from tests.fakes.lmstudio import FakeLMStudio, Reply

URI = "file:///work/project/cart.py"

CART = """\
import math


class Cart:
    def __init__(self):
        self.items = []

    def total(self, items):
        t = 0
        for i in items:
            t = t + i.price * i.qty
        return t


def area(r):
    return math.pi * r * r
"""

TOTAL_RANGE = types.Range(types.Position(7, 0), types.Position(12, 0))

REFACTORED_TOTAL = """\
    def total(self, items):
        t = 0
        for item in items:
            t += item.price * item.qty
        return t
"""

# How chatty local models answer: prose, a fence, the code dedented, more prose.
CHATTY_ANSWER = """Sure! Here is the refactored method:

```python
def total(self, items):
    t = 0
    for item in items:
        t += item.price * item.qty
    return t
```

I renamed the loop variable and used an augmented assignment for clarity."""


def by_title(actions: list[types.CodeAction], title: str) -> types.CodeAction:
    titles = [a.title for a in actions]
    match = [a for a in actions if a.title == title]
    assert match, f"{title!r} not in {titles}"
    return match[0]


async def refactor_total(editor: Editor, uri: str) -> dict[str, object]:
    """Pick "Refactor with local model" for `total` (the editor's menu) and run it."""
    result: dict[str, object] = await editor.execute(
        by_title(await editor.actions(uri, TOTAL_RANGE), "Refactor with local model")
    )
    return result


async def test_listing_offers_catalogue_with_kinds_tags_and_commands(lsp: Editor) -> None:
    lsp.open(URI, CART)
    actions = await lsp.actions(URI, TOTAL_RANGE)
    titles = [a.title for a in actions]
    assert "Refactor with local model" in titles
    assert "Add docstring with local model" in titles
    assert "Explain with local model" in titles
    assert "Write tests with local model" in titles
    assert not any(t.startswith("Fix") for t in titles), "fix needs a diagnostic"
    kinds = {a.title: a.kind for a in actions}
    assert kinds["Refactor with local model"] == types.CodeActionKind.RefactorRewrite
    assert kinds["Explain with local model"] == types.CodeActionKind.Source
    assert kinds["Write tests with local model"] == types.CodeActionKind.Refactor
    for action in actions:
        assert list(action.tags or []) == [types.CodeActionTag.LlmGenerated]
        assert action.command is not None and action.command.command == "ladder.run"
        assert action.disabled is None


async def test_listing_never_calls_the_model(lsp: Editor, fake_local: FakeLMStudio) -> None:
    lsp.open(URI, CART)
    for _ in range(5):
        await lsp.actions(URI, TOTAL_RANGE)
    assert fake_local.chat_requests() == []


async def test_fix_offered_only_for_overlapping_diagnostics(lsp: Editor) -> None:
    lsp.open(URI, CART)
    diag = types.Diagnostic(
        range=types.Range(types.Position(10, 16), types.Position(10, 17)),
        message="undefined name 'qty'",
        source="pyflakes",
    )
    actions = await lsp.actions(URI, TOTAL_RANGE, diagnostics=[diag])
    fix = by_title(actions, "Fix \"undefined name 'qty'\" with local model")
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.diagnostics and fix.diagnostics[0].message == "undefined name 'qty'"
    only = await lsp.actions(URI, TOTAL_RANGE, diagnostics=[diag], only=["quickfix"])
    assert {a.kind for a in only} == {types.CodeActionKind.QuickFix}


async def test_empty_cursor_targets_enclosing_function(lsp: Editor) -> None:
    lsp.open(URI, CART)
    cursor = types.Position(10, 8)
    actions = await lsp.actions(URI, types.Range(cursor, cursor))
    refactor = by_title(actions, "Refactor with local model")
    assert refactor.command is not None and refactor.command.arguments is not None
    rng = refactor.command.arguments[0]["range"]
    assert rng["start"]["line"] == 7 and rng["end"]["line"] == 12


async def test_refactor_chatty_dedented_answer_applies_exact_minimal_edit(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(CHATTY_ANSWER))
    lsp.open(URI, CART)
    refactor = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    result = await lsp.execute(refactor)
    assert result["applied"] is True, result
    assert result["tier"] == "local"
    assert result["model"] == "qwen2.5-coder-7b-instruct"
    expected = CART.replace(
        "        for i in items:\n            t = t + i.price * i.qty\n",
        "        for item in items:\n            t += item.price * item.qty\n",
    )
    assert lsp.docs[URI].text == expected
    (applied,) = lsp.applied
    (doc_edit,) = applied.edit.document_changes or []
    assert isinstance(doc_edit, types.TextDocumentEdit)
    assert doc_edit.text_document.version == 1
    lines_touched = {e.range.start.line for e in doc_edit.edits if isinstance(e, types.TextEdit)}
    assert lines_touched == {9}, "only the two changed lines (one edit at line 9)"
    sent = fake_local.chat_requests()[0]
    user = sent["messages"][1]["content"]
    assert "class Cart:" in user and "import math" in user, "context: class header, imports"
    assert sent["stream"] is True


async def test_progress_reports_tier_model_and_rate(lsp: Editor, fake_local: FakeLMStudio) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```", chunk_delay=0.002))
    fake_local.answer_after(lsp.progress_begun)
    lsp.open(URI, CART)
    await refactor_total(lsp, URI)
    reports = [r for token in lsp.client.progress_reports.values() for r in token]
    begin = reports[0]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.cancellable is True and "Refactor" in begin.title
    # a line the run reported before the client accepted the token is `begin`'s message
    messages = [begin.message] + [
        r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)
    ]
    assert any("local model" in (m or "") and "tok" in (m or "") for m in messages), messages
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


async def test_the_progress_ends_as_the_edit_leaves(lsp: Editor, fake_local: FakeLMStudio) -> None:
    """The progress covers the making of the edit: it ends once the edit is sent, not
    before (the editor learns of both in one go) nor after its answer."""
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    fake_local.answer_after(lsp.progress_begun)
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is True, result
    order = [m for m in lsp.arrivals if m in ("workspace/applyEdit", "$/progress:end")]
    assert order == ["workspace/applyEdit", "$/progress:end"]


async def refactor_while_the_user_types(
    lsp: Editor, fake_local: FakeLMStudio, at: types.Position, typed: str
) -> dict[str, object]:
    """Refactor `total`; while the model answers, the user types `typed` at `at`."""
    gate = threading.Event()

    def answer_after_gate(_: object) -> Reply:
        gate.wait(10)
        return Reply(f"```python\n{REFACTORED_TOTAL}```")

    fake_local.responder = answer_after_gate
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    run = asyncio.ensure_future(lsp.execute(action))
    assert await asyncio.to_thread(fake_local.wait_for_requests, 1, 10)
    lsp.type_text(URI, types.Range(at, at), typed)
    await lsp.client.text_document_code_action_async(  # a round trip: the change has landed
        types.CodeActionParams(
            types.TextDocumentIdentifier(URI), TOTAL_RANGE, types.CodeActionContext(diagnostics=[])
        )
    )
    gate.set()
    result: dict[str, object] = await run
    return result


async def test_stale_target_is_not_applied(lsp: Editor, fake_local: FakeLMStudio) -> None:
    result = await refactor_while_the_user_types(
        lsp, fake_local, types.Position(9, 8), "# hmm\n        "
    )
    assert result["applied"] is False
    assert lsp.applied == []
    assert any("changed the code" in m for m in lsp.messages())


async def test_typing_above_the_target_is_rebased(lsp: Editor, fake_local: FakeLMStudio) -> None:
    result = await refactor_while_the_user_types(
        lsp, fake_local, types.Position(1, 0), "import os\n"
    )
    assert result["applied"] is True, result
    expected = CART.replace("import math\n", "import math\nimport os\n").replace(
        "        for i in items:\n            t = t + i.price * i.qty\n",
        "        for item in items:\n            t += item.price * item.qty\n",
    )
    assert lsp.docs[URI].text == expected


async def test_typing_after_the_selection_on_its_last_line_is_kept(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    end_of_return = types.Position(11, len("        return t"))
    result = await refactor_while_the_user_types(lsp, fake_local, end_of_return, "  # total")
    assert result["applied"] is True, result
    expected = CART.replace(
        "        for i in items:\n            t = t + i.price * i.qty\n        return t\n",
        "        for item in items:\n            t += item.price * item.qty\n"
        "        return t  # total\n",
    )
    assert lsp.docs[URI].text == expected


async def test_utf16_positions_with_emoji_before_selection(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    text = 'label = "é😀"; total = price * qty  # café\nnext_line = 1\n'
    # the selection `price * qty` starts after an emoji: UTF-16 column 24, Python index 23
    start = text.index("price")
    utf16_start = start + 1
    rng = types.Range(types.Position(0, utf16_start), types.Position(0, utf16_start + 11))
    fake_local.push(Reply("`qty * price`"))
    uri = "file:///work/project/prices.py"
    lsp.open(uri, text)
    action = by_title(await lsp.actions(uri, rng), "Refactor with local model")
    result = await lsp.execute(action)
    assert result["applied"] is True, result
    assert lsp.docs[uri].text == 'label = "é😀"; total = qty * price  # café\nnext_line = 1\n'


async def test_crlf_document_gets_crlf_edit(lsp: Editor, fake_local: FakeLMStudio) -> None:
    text = CART.replace("\n", "\r\n")
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    lsp.open(URI, text)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is True
    new = lsp.docs[URI].text
    assert "\r\n" in new and "\n" not in new.replace("\r\n", "")
    assert "t += item.price * item.qty\r\n" in new


async def test_unchanged_answer_is_reported_as_no_change(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    original = "".join(CART.splitlines(True)[7:12])
    fake_local.push(Reply(f"```python\n{original}```"))
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is False
    assert lsp.applied == []
    assert any("unchanged" in m for m in lsp.messages())
