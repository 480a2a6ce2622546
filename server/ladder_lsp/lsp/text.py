"""Translation between LSP text coordinates and the edit pipeline's whole-line world.

LSP counts lines on `\\n`, `\\r\\n` and `\\r` only (not on form feeds or U+2028 as
`str.splitlines` does) and characters in the negotiated encoding (UTF-16 by default). The
pipeline replaces whole lines, so every edit starts at character 0; only the end of a file
without a final newline needs the encoding, and that goes through pygls' codec.

Documents are named by URIs as the client spells them (`file:///c%3A/my%20project/caf%C3%A9.py`
from VS Code, which escapes a drive's colon; `file:///C:/...` from Python's `as_uri()`;
lower-case escapes from others), while pygls files open documents under the *unquoted* URI: a
lookup with the URI as sent finds nothing. Every lookup of an open document, and every
URI → path, goes through `open_document` / `document_for_path` / `path_of` here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import PositionCodec, TextDocument, Workspace

from ladder_lsp.pipeline.edits import LineEdit


def path_of(uri: str) -> str:
    """The file-system path a `file:` URI names, escapes decoded (`file:///c%3A/x` → `c:/x`);
    any other URI (`untitled:Untitled-1`) stands for itself."""
    return to_fs_path(uri) or uri


def open_document(workspace: Workspace, uri: str) -> TextDocument | None:
    """The open document `uri` names, however the client spelled its escapes; None when the
    client has not opened it. Never reads the disk (unlike `Workspace.get_text_document`)."""
    docs: dict[str, TextDocument] = workspace.text_documents
    doc = docs.get(unquote(uri))  # the key pygls files a document under
    if doc is not None:
        return doc
    path = to_fs_path(uri)
    if path is None:
        return None
    # the same file spelled differently (a drive letter's case: `file:///C:/x`, `file:///c%3A/x`)
    return next((d for d in docs.values() if d.path == path), None)


def document_for_path(workspace: Workspace, path: Path | str) -> TextDocument | None:
    """The open document of a file on disk, or None."""
    uri = from_fs_path(str(path))
    return open_document(workspace, uri) if uri else None


def uri_for_path(workspace: Workspace, path: Path | str) -> str:
    """The URI to name a file by in an edit: the client's own spelling when it has the file
    open, else the encoded `file:` URI."""
    doc = document_for_path(workspace, path)
    if doc is not None:
        return doc.uri
    return from_fs_path(str(path)) or Path(path).absolute().as_uri()


def strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


def to_index(line: str, units: int, codec: PositionCodec) -> int:
    """Python string index of a client-unit character offset on one line (clamped)."""
    if units <= 0:
        return 0
    text = strip_eol(line)
    count = 0
    for i, ch in enumerate(text):
        if count >= units:
            return i
        count += codec.client_num_units(ch)
    return len(text)


def to_server_position(
    lines: Sequence[str], pos: types.Position, codec: PositionCodec
) -> tuple[int, int]:
    """(line, python index), clamped into the document."""
    if not lines:
        return 0, 0
    if pos.line >= len(lines):
        last = len(lines) - 1
        if lines[last].endswith(("\n", "\r")):
            return len(lines), 0
        return last, len(strip_eol(lines[last]))
    return pos.line, to_index(lines[pos.line], pos.character, codec)


def line_edits_to_text_edits(
    edits: Sequence[LineEdit], lines: Sequence[str], codec: PositionCodec, offset: int = 0
) -> list[types.TextEdit]:
    """Whole-line replacements as TextEdits on `lines` (the current text), shifted by offset."""
    out: list[types.TextEdit] = []
    n = len(lines)
    for edit in edits:
        start = edit.start_line + offset
        end = edit.end_line + offset
        new_text = "".join(edit.new_lines)
        start_pos = _line_start(start, lines, codec)
        if end < n or (n and lines[-1].endswith(("\n", "\r"))):
            end_pos = types.Position(line=end, character=0) if end <= n else _eof(lines, codec)
        else:
            end_pos = _eof(lines, codec)
        if start >= n and n and not lines[-1].endswith(("\n", "\r")):
            # appending after a last line that has no newline: start a new line first
            new_text = _eol_of(lines) + new_text
        out.append(
            types.TextEdit(range=types.Range(start=start_pos, end=end_pos), new_text=new_text)
        )
    return out


def _line_start(line: int, lines: Sequence[str], codec: PositionCodec) -> types.Position:
    n = len(lines)
    if line < n or (n and lines[-1].endswith(("\n", "\r"))) or n == 0:
        return types.Position(line=min(line, n), character=0)
    return _eof(lines, codec)


def _eof(lines: Sequence[str], codec: PositionCodec) -> types.Position:
    if not lines:
        return types.Position(line=0, character=0)
    last = lines[-1]
    if last.endswith(("\n", "\r")):
        return types.Position(line=len(lines), character=0)
    return types.Position(line=len(lines) - 1, character=codec.client_num_units(last))


def _eol_of(lines: Sequence[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
        if line.endswith("\r"):
            return "\r"
    return "\n"


def range_overlaps(a: types.Range, b: types.Range) -> bool:
    """Inclusive overlap, so a diagnostic touching the selection's edge counts."""
    a_start, a_end = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b_start, b_end = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a_start <= b_end and b_start <= a_end
