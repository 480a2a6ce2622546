"""Markdown fenced blocks in a model's answer, read as CommonMark reads them: ``` or ~~~ of
any length, closed only by the same character at least as long, indented at most three
columns (deeper is the code's own indentation: a docstring's Markdown example).
"""

from __future__ import annotations

import re

import attrs

from ladder_lsp.analysis.text import indent_width
from ladder_lsp.pipeline.prose import has_code, trim_prose

_FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
FENCE_ANYWHERE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
FENCE_NOISE = re.compile(r"^(?P<indent>\s*)(?:```|~~~)")
# CommonMark: a fence is indented at most 3 columns (more, relative to where the block's
# fence stands, is the code's own indentation: a docstring's Markdown example).
_MAX_FENCE_INDENT = 3


@attrs.frozen
class Block:
    tag: str
    lines: tuple[str, ...]
    closed: bool
    prose_before: str


def fenced_blocks(lines: list[str], language: str) -> list[Block]:
    """Every fenced block (``` or ~~~, any length, indented or not), in order.

    A fence closes only with the same character at least as long (CommonMark), so a
    ````-fenced answer may quote ``` inside. An answer that starts with code and has one
    stray closing fence (the prompt opened the fence) gets that code as a block.
    """
    fence_rows = [i for i, line in enumerate(lines) if _FENCE_OPEN.match(line)]
    if not fence_rows:
        return []
    blocks: list[Block] = []
    first_row = fence_rows[0]
    first = _FENCE_OPEN.match(lines[first_row])
    assert first is not None
    prose_start = 0
    if len(fence_rows) % 2 == 1 and not first.group("info"):
        before = [line for line in lines[:first_row] if not FENCE_NOISE.match(line)]
        before = trim_prose(before, language)
        if before and has_code(before, language):
            blocks.append(Block("", tuple(before), True, ""))
            prose_start = first_row + 1
    row = prose_start
    prose: list[str] = []
    while row < len(lines):
        match = _FENCE_OPEN.match(lines[row])
        if match is None:
            prose.append(lines[row])
            row += 1
            continue
        fence = match.group("fence")
        indent = len(match.group("indent"))
        deepest = indent_width(match.group("indent")) + _MAX_FENCE_INDENT
        closing = re.compile(rf"^(?P<indent>[ \t]*){re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        row += 1
        closed = False
        while row < len(lines):
            close = closing.match(lines[row])
            if close and indent_width(close.group("indent")) <= deepest:
                closed = True
                row += 1
                break
            reopened = _FENCE_OPEN.match(lines[row])
            if (
                reopened
                and reopened.group("info")
                and reopened.group("fence") == fence
                and indent_width(reopened.group("indent")) <= deepest
            ):
                closed = True  # the model forgot to close before opening the next block
                break
            body.append(_remove_indent(lines[row], indent))
            row += 1
        if not closed and body:
            # Truncated, or the close was glued to the last line: `return x```.
            last = max((i for i, b in enumerate(body) if b.strip()), default=None)
            if last is not None and body[last].rstrip().endswith(fence):
                body[last] = body[last].rstrip()[: -len(fence)].rstrip()
                closed = True
        tag = _info_tag(match.group("info"))
        if len(fence) == 3:  # longer fences may quote ``` lines on purpose
            body = [line for line in body if not _stray_fence(line)]
        blocks.append(Block(tag, tuple(body), closed, "\n".join(prose)))
        prose = []
    return blocks


def _stray_fence(line: str) -> bool:
    """A fence marker inside a block that did not close it (`~~~` in a ``` block). Indented
    4 columns or more it is code (a Markdown example in a docstring), not Markdown."""
    match = FENCE_NOISE.match(line)
    return match is not None and indent_width(match.group("indent")) <= _MAX_FENCE_INDENT


def _info_tag(info: str) -> str:
    """`python title="x.py"`, `{.python}`, `py:src/x.py` -> the language word, lowercased."""
    word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    word = word.strip("{}.").split(":", 1)[0].split(",", 1)[0]
    return word.lower()


def _remove_indent(line: str, width: int) -> str:
    """Drop up to `width` leading blanks: the fence's own indentation (list items)."""
    index = 0
    while index < width and index < len(line) and line[index] in " \t":
        index += 1
    return line[index:]
