"""The benchmark client's edits: what it sends the server must turn its text into the text it
keeps, or every timed run after the first would work on a different document."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.benchmarks.lsp import apply_text_edits, incremental_changes, span_change


def _apply(text: str, changes: list[dict[str, Any]]) -> str:
    """Content changes one after the other, as a server applies a didChange."""
    for change in changes:
        text = apply_text_edits(text, [{"range": change["range"], "newText": change["text"]}])
    return text


@given(st.text(alphabet="ab\n", max_size=40), st.text(alphabet="ab\n", max_size=40))
def test_a_span_change_turns_one_text_into_the_other(old: str, new: str) -> None:
    change = span_change(old, new)
    assert _apply(old, [change]) == new
    assert len(change["text"]) <= len(new)


def test_a_span_change_covers_only_what_differs() -> None:
    old = "a\nb\nc\nd\n"
    change = span_change(old, "a\nB\nc\nd\n")
    assert change == {
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}},
        "text": "B",
    }


def test_a_workspace_edits_changes_apply_bottom_up_to_the_same_text() -> None:
    text = "line0\nline1\nline2\nline3\n"

    def at(line: int, character: int) -> dict[str, int]:
        return {"line": line, "character": character}

    edits = [
        {"range": {"start": at(0, 1), "end": at(1, 2)}, "newText": "X\nY"},
        {"range": {"start": at(2, 0), "end": at(3, 0)}, "newText": ""},
        {"range": {"start": at(3, 5), "end": at(3, 5)}, "newText": "!!\nnew"},
    ]
    assert _apply(text, incremental_changes(edits)) == apply_text_edits(text, edits)
