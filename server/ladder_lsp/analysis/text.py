"""Text facts every layer shares, defined once: where lines split and how wide indentation is.

Lines split where LSP splits them (`\\n`, `\\r\\n`, `\\r`): `str.splitlines` (used by pygls'
`doc.lines`) also splits on form feeds, `\\x85`, `\\u2028`…, which would shift every later line
number against the client's; `normalize_newlines` makes those three endings `\\n` for parsers
that count only `\\n`. A tab in indentation advances to the next multiple of
`TAB_WIDTH` columns (CommonMark's rule, and the editors' default); code that mixes tabs and
spaces ambiguously is rejected by its own compiler anyway.
"""

from __future__ import annotations

import re
import textwrap

TAB_WIDTH = 4
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# where `str.splitlines` splits and LSP does not
_OTHER_BREAKS = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where LSP splits."""
    if _OTHER_BREAKS.search(text) is None:
        return text.splitlines(keepends=True)  # the same lines, three times faster
    return _LINE.findall(text)


def leading_blanks(line: str) -> str:
    """The spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str) -> int:
    """Columns of the blanks `line` starts with (the rest of the line is ignored)."""
    blanks = len(line) - len(line.lstrip(" \t"))
    if "\t" not in line[:blanks]:
        return blanks  # spaces only: one column each (most lines; no loop in Python)
    width = 0
    for char in line[:blanks]:
        width += 1 if char == " " else TAB_WIDTH - width % TAB_WIDTH
    return width


def normalize_newlines(text: str) -> str:
    """`\\r\\n` and lone `\\r` become `\\n`, so every parser numbers lines as LSP does."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def dedented(block: str) -> str:
    """A block as code on its own: newlines normalised, the indentation all its lines share
    removed (`textwrap.dedent`)."""
    return textwrap.dedent(normalize_newlines(block))
