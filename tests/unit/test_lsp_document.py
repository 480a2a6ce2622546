"""Documents kept as lines (lsp/document.py): any sequence of incremental changes, in UTF-16
positions as clients send them, gives exactly the text a whole-string edit gives, split as
LSP splits lines; snapshots of the lines never move; full changes and disk reads still work."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import Workspace

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.lsp.document import (
    LineDocument,
    LineWorkspace,
    document_lines,
    keep_documents_as_lines,
    read_lines,
)
from tests.utf16 import utf16_len, utf16_to_index

# characters that stress the rules: line endings of every kind, a form feed and U+2028 (which
# str.splitlines splits on and LSP does not), an emoji (two UTF-16 units), an accent
ALPHABET = st.sampled_from(["a", "b", " ", "\n", "\r\n", "\r", "\x0c", "\u2028", "😀", "é"])
TEXT = st.lists(ALPHABET, max_size=30).map("".join)


def offset(text: str, position: types.Position) -> int:
    lines = split_lines(text)
    if position.line >= len(lines):
        return len(text)
    before = sum(len(line) for line in lines[: position.line])
    return before + utf16_to_index(lines[position.line], position.character)


@st.composite
def position_in(draw: st.DrawFn, text: str) -> types.Position:
    lines = split_lines(text)
    if not lines or draw(st.integers(0, 9)) == 0:
        return types.Position(len(lines), 0)  # after the last line
    line = draw(st.integers(0, len(lines) - 1))
    content = lines[line].rstrip("\r\n")
    column = draw(st.integers(0, len(content)))
    return types.Position(line, utf16_len(content[:column]))


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, list[tuple[types.Range, str]]]:
    text = draw(TEXT)
    current, changes = text, []
    for _ in range(draw(st.integers(1, 6))):
        a, b = draw(position_in(current)), draw(position_in(current))
        if (a.line, a.character) > (b.line, b.character):
            a, b = b, a
        new = draw(TEXT)
        changes.append((types.Range(a, b), new))
        current = current[: offset(current, a)] + new + current[offset(current, b) :]
    return text, changes


def document(text: str) -> LineDocument:
    return LineDocument("file:///p/x.py", text, version=1)


@settings(max_examples=400, deadline=None)
@given(edits())
def test_incremental_changes_match_whole_string_edits(case: tuple[str, list]) -> None:  # type: ignore[type-arg]
    """Every other change follows a snapshot (that change copies the lines), the others edit
    the list in place; the snapshots stay as they were taken."""
    text, changes = case
    doc = document(text)
    expected = text
    snapshots = []
    for i, (rng, new) in enumerate(changes):
        if i % 2:
            snapshots.append((document_lines(doc), split_lines(expected)))
        start, end = offset(expected, rng.start), offset(expected, rng.end)
        doc.apply_change(types.TextDocumentContentChangePartial(range=rng, text=new))
        expected = expected[:start] + new + expected[end:]
        assert list(doc.lines) == split_lines(expected)
        assert doc.source == expected
    assert all(list(taken) == lines for taken, lines in snapshots)


@pytest.mark.parametrize(
    ("text", "at", "typed", "lines"),
    [
        ("a\rb", (1, 0), "\n", ["a\r\n", "b"]),  # a bare CR and a new LF become one ending
        ("a\rb", (0, 1), "\n", ["a\n", "\r", "b"]),
        ("a\r\nb", (1, 0), "\r", ["a\r\n", "\r", "b"]),
        ("", (0, 0), "x\ny", ["x\n", "y"]),
        ("end", (0, 3), "\n", ["end\n"]),
        ("end\n", (1, 0), "more", ["end\n", "more"]),
        ("😀x\n", (0, 2), "é", ["😀éx\n"]),  # after the emoji: UTF-16 column 2
    ],
)
def test_edge_cases(text: str, at: tuple[int, int], typed: str, lines: list[str]) -> None:
    doc = document(text)
    position = types.Position(*at)
    rng = types.Range(position, position)
    doc.apply_change(types.TextDocumentContentChangePartial(range=rng, text=typed))
    assert list(doc.lines) == lines
    assert doc.source == "".join(lines)


def test_a_snapshot_of_the_lines_does_not_move_when_the_document_changes() -> None:
    doc = document("a = 1\nb = 2\n")
    snapshot = document_lines(doc)
    at = types.Position(0, 0)
    doc.apply_change(types.TextDocumentContentChangePartial(range=types.Range(at, at), text="#\n"))
    assert list(snapshot) == ["a = 1\n", "b = 2\n"]
    assert list(document_lines(doc)) == ["#\n", "a = 1\n", "b = 2\n"]


def test_without_a_snapshot_a_change_edits_the_lines_in_place() -> None:
    """Typing between cursor moves (listings read with `read_lines`) never copies the list."""
    doc = document("a = 1\nb = 2\n")
    lines = read_lines(doc)
    at = types.Range(types.Position(1, 4), types.Position(1, 5))
    doc.apply_change(types.TextDocumentContentChangePartial(range=at, text="3"))
    assert read_lines(doc) is lines and list(lines) == ["a = 1\n", "b = 3\n"]
    snapshot = document_lines(doc)
    doc.apply_change(types.TextDocumentContentChangePartial(range=at, text="4"))
    assert read_lines(doc) is not snapshot and list(snapshot) == ["a = 1\n", "b = 3\n"]
    again = read_lines(doc)
    doc.apply_change(types.TextDocumentContentChangePartial(range=at, text="5"))
    assert read_lines(doc) is again, "one copy per snapshot, not per change"


def test_a_full_change_replaces_everything() -> None:
    doc = document("old\ntext\n")
    assert doc.lines[0] == "old\n"
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="new\r\nlines"))
    assert (doc.source, list(doc.lines)) == ("new\r\nlines", ["new\r\n", "lines"])


def test_a_full_change_is_split_when_it_arrives_and_snapshots_stay() -> None:
    """The next listing or run finds the lines ready; a snapshot taken before is untouched."""
    doc = document("old\n")
    snapshot = document_lines(doc)
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="a\nb\n"))
    assert isinstance(doc, LineDocument) and doc._lines == ["a\n", "b\n"]
    assert list(snapshot) == ["old\n"]


def test_a_document_nobody_opened_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "disk.py"
    path.write_text("x = 1\ny = 2\n", encoding="utf-8")
    doc = LineDocument(path.as_uri())
    assert list(doc.lines) == ["x = 1\n", "y = 2\n"]


def test_the_workspace_pygls_builds_keeps_documents_as_lines() -> None:
    workspace = Workspace(None)
    keep_documents_as_lines(workspace)
    assert isinstance(workspace, LineWorkspace)
    workspace.put_text_document(
        types.TextDocumentItem(uri="file:///p/y.py", language_id="python", version=3, text="z\n")
    )
    doc = workspace.get_text_document("file:///p/y.py")
    assert isinstance(doc, LineDocument) and doc.version == 3 and list(doc.lines) == ["z\n"]


@given(
    st.lists(
        st.sampled_from(
            ["a", "\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029", "é"]
        ),
        max_size=40,
    ).map("".join)
)
def test_lines_split_only_where_lsp_splits(text: str) -> None:
    # the fast path (str.splitlines) must give exactly LSP's lines: joined back they are the
    # text, and no line holds a line break other than its own final one
    lines = split_lines(text)
    assert "".join(lines) == text
    for line in lines:
        body = line[:-2] if line.endswith("\r\n") else line[:-1] if line[-1:] in "\r\n" else line
        assert "\n" not in body and "\r" not in body, lines
        assert line.endswith(("\n", "\r")) or line is lines[-1], lines
