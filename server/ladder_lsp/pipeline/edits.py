"""From a snapshot and the code fitted into it to the smallest correct line edits.

Only lines that really changed become edits, so undo, review and concurrent typing stay sane
(`rebase` moves them onto newer text; `reindent` fits the code first). Lines carry their own
ending; positions are (line, Python str index): the LSP layer converts UTF-16 at the boundary.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import attrs

from ladder_lsp.pipeline.reindent import build_block
from ladder_lsp.pipeline.target import Target, line_ending


@attrs.frozen
class LineEdit:
    """Replace whole lines [start_line, end_line) with `new_lines` (each with its ending)."""

    start_line: int
    end_line: int
    new_lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.new_lines)


def minimal_edits(old: Sequence[str], new: Sequence[str], first_line: int) -> list[LineEdit]:
    """Only the changed runs of lines, as edits in document coordinates."""
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    return [
        LineEdit(first_line + i1, first_line + i2, tuple(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def edits_for(target: Target, code: str) -> list[LineEdit]:
    """`build_block` + `minimal_edits`: the edits that put `code` into the target."""
    return minimal_edits(target.block_lines, build_block(target, code), target.start_line)


def apply_line_edits(lines: Sequence[str], edits: Sequence[LineEdit]) -> list[str]:
    """The document after the edits (non-overlapping, in the original coordinates)."""
    result = list(lines)
    previous_start = len(result) + 1
    for edit in sorted(edits, key=lambda e: (e.start_line, e.end_line), reverse=True):
        if not 0 <= edit.start_line <= edit.end_line <= len(lines):
            raise ValueError(f"edit {edit.start_line}-{edit.end_line} outside the document")
        if edit.end_line > previous_start:
            raise ValueError("overlapping edits")
        result[edit.start_line : edit.end_line] = edit.new_lines
        previous_start = edit.start_line
    return result


def edit_range(
    lines: Sequence[str], edit: LineEdit
) -> tuple[tuple[int, int], tuple[int, int], str]:
    """(start, end, new_text) as (line, str index) positions valid in `lines`.

    Whole-line edits end at (end_line, 0), which lies past the end when the last line has no
    ending: such edits end at the end of the last line instead, and text inserted after it
    starts with a line break.
    """
    count = len(lines)
    text = edit.text
    start = (edit.start_line, 0)
    end = (edit.end_line, 0)
    if count and not line_ending(lines[-1]):
        last = (count - 1, len(lines[-1]))
        if edit.end_line >= count:
            end = last
        if edit.start_line >= count:
            start = last
            ending = next((line_ending(line) for line in lines if line_ending(line)), "\n")
            text = ending + text
            if text.endswith(("\n", "\r")):
                text = text[: len(text) - len(line_ending(text))]
    return start, end, text


def unified_diff(path: str, old_lines: Sequence[str], new_lines: Sequence[str]) -> str:
    """A `git diff`-style patch, with the "No newline at end of file" marker where due.
    An absolute path reads `a/tmp/x.py` as git writes it, not `a//tmp/x.py`; a name holding a
    space ends with a tab, as diff and git write it, so `patch` reads the whole name."""
    out: list[str] = []
    name = path.lstrip("/") + ("\t" if " " in path else "")
    for line in difflib.unified_diff(
        list(old_lines), list(new_lines), fromfile=f"a/{name}", tofile=f"b/{name}"
    ):
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
