"""Preview before applying (`edits.confirm`) over pytest-lsp: a client with its own refactor
preview gets the edit under a change annotation that needs confirmation; any other client is
asked Apply / Show diff / Discard, and nothing lands without Apply."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from lsprotocol import types

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, URI, by_title, refactor_total
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.ledger_file import ledger_rows

ALWAYS = pytest.mark.settings({"edits": {"confirm": "always"}})
NO_PREVIEW = pytest.mark.without_change_annotations
QUESTION = "Ladder: Apply 2 changed lines from"


async def refactor(lsp: Editor, fake: FakeLMStudio) -> dict[str, object]:
    fake.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    lsp.open(URI, CART)
    return await refactor_total(lsp, URI)


def titles(question: types.ShowMessageRequestParams) -> list[str]:
    return [a.title for a in question.actions or []]


@ALWAYS
async def test_a_client_with_a_preview_gets_an_annotated_edit_that_needs_confirmation(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    result = await refactor(lsp, fake_local)
    assert result["applied"] is True, result
    assert lsp.questions == [], "the client's own preview asks, not Ladder"
    [sent] = lsp.applied
    annotations = sent.edit.change_annotations or {}
    [(annotation_id, annotation)] = annotations.items()
    assert annotation.needs_confirmation is True
    assert annotation.label == f"Ladder: {result['model']} (local model)"
    [change] = sent.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.edits and all(
        isinstance(e, types.AnnotatedTextEdit) and e.annotation_id == annotation_id
        for e in change.edits
    )
    assert "t += item.price * item.qty" in lsp.docs[URI].text


@ALWAYS
async def test_discarding_in_the_clients_preview_applies_nothing_and_is_recorded(
    lsp: Editor, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    lsp.refuse_edits = True  # what VS Code answers when the preview is discarded
    result = await refactor(lsp, fake_local)
    assert result["applied"] is False
    assert "discarded in the preview" in str(result["reason"])
    assert lsp.docs[URI].text == CART
    assert ledger_rows(tmp_path / "ledger.sqlite3")[-1]["delivery"] == "refused"


@ALWAYS
@NO_PREVIEW
async def test_show_diff_then_apply(lsp: Editor, fake_local: FakeLMStudio) -> None:
    lsp.answers = ["Show diff", "Apply"]
    result = await refactor(lsp, fake_local)
    assert result["applied"] is True, result
    first, again = lsp.questions
    assert first.message == f"{QUESTION} {result['model']}?"
    assert titles(first) == ["Apply", "Show diff", "Discard"]
    assert again.message == first.message
    [shown] = lsp.shown
    diff = Path(unquote(urlparse(shown).path))
    assert diff.suffix == ".diff" and diff.stat().st_mode & 0o077 == 0, "user-only"
    text = diff.read_text()
    assert "-        for i in items:" in text and "+        for item in items:" in text
    assert "t += item.price * item.qty" in lsp.docs[URI].text
    [sent] = lsp.applied
    assert not sent.edit.change_annotations, "the user already said yes"


@ALWAYS
@NO_PREVIEW
async def test_the_question_comes_after_the_progress_ended(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    """A question waiting for the user is not work: no spinner beside it."""
    lsp.answers = ["Apply"]
    fake_local.answer_after(lsp.progress_begun)
    result = await refactor(lsp, fake_local)
    assert result["applied"] is True, result
    order = [
        m
        for m in lsp.arrivals
        if m in ("$/progress:end", "window/showMessageRequest", "workspace/applyEdit")
    ]
    assert order == ["$/progress:end", "window/showMessageRequest", "workspace/applyEdit"]


@ALWAYS
@NO_PREVIEW
@pytest.mark.parametrize("answer", ["Discard", None], ids=["discard", "closed"])
async def test_discard_or_no_answer_leaves_the_document_and_is_recorded_refused(
    lsp: Editor, fake_local: FakeLMStudio, tmp_path: Path, answer: str | None
) -> None:
    lsp.answers = [answer]
    result = await refactor(lsp, fake_local)
    assert result["applied"] is False
    assert "discarded" in str(result["reason"])
    assert lsp.applied == [], "no edit was sent"
    assert lsp.docs[URI].text == CART
    [row] = ledger_rows(tmp_path / "ledger.sqlite3")
    assert (row["delivery"], row["saved_usd"]) == ("refused", 0.0)


@ALWAYS
@NO_PREVIEW
async def test_typing_while_the_question_is_open_is_kept_and_the_edit_rebased(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    def type_then_apply(_: types.ShowMessageRequestParams) -> str:
        lsp.type_text(URI, types.Range(types.Position(0, 0), types.Position(0, 0)), "# cart\n")
        return "Apply"

    lsp.answers = [type_then_apply]
    result = await refactor(lsp, fake_local)
    assert result["applied"] is True, result
    text = lsp.docs[URI].text
    assert text.startswith("# cart\n"), "the user's typing is kept"
    assert "t += item.price * item.qty" in text


@pytest.mark.settings({"edits": {"confirm": "claude"}})
@NO_PREVIEW
async def test_confirm_claude_lets_local_edits_through_unasked(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    result = await refactor(lsp, fake_local)
    assert result["applied"] is True, result
    assert lsp.questions == []


@ALWAYS
@NO_PREVIEW
@pytest.mark.parametrize("answer", ["Apply", "Discard"])
async def test_a_new_test_file_waits_for_the_same_yes(
    lsp: Editor, fake_local: FakeLMStudio, tmp_path: Path, answer: str
) -> None:
    source = tmp_path / "cart.py"
    source.write_text(CART)
    uri = source.as_uri()
    fake_local.push(
        Reply(
            "```python\nimport cart\n\n\ndef test_area_of_unit_circle():\n"
            "    assert round(cart.area(1), 5) == 3.14159\n```"
        )
    )
    lsp.answers = [answer]
    lsp.open(uri, CART)
    rng = types.Range(types.Position(15, 0), types.Position(17, 0))
    result = await lsp.execute(
        by_title(await lsp.actions(uri, rng), "Write tests with local model")
    )
    [question] = lsp.questions
    assert (
        question.message.startswith("Ladder: Add ") and " to test_cart.py from " in question.message
    )
    assert result["applied"] is (answer == "Apply"), result
    assert bool(lsp.created) is (answer == "Apply")
    assert not (tmp_path / "test_cart.py").exists(), "written by the editor, never by Ladder"
