"""The block at the cursor's indentation, for any language: what an empty-cursor action works
on where no grammar knows the definitions (Ruby, shell, YAML…).
"""

from __future__ import annotations

from collections.abc import Sequence

from ladder_lsp.analysis.text import indent_width

# Lines that close a block at its header's indentation (`}`, Ruby/Lua `end`, shell `fi`…).
_CLOSERS = ("}", ")", "]", "end", "fi", "done", "esac")


def indentation_block(lines: Sequence[str], line: int) -> tuple[int, int] | None:
    """The block at the cursor's indentation plus its header line, for any language.

    The cursor line's indentation sets the level; the block grows up and down over lines
    at that level or deeper; the nearest less-indented line directly above is its header
    (and a closing `}`/`end` at the header's level below is kept with it). Inside an
    indented body blank lines do not end the block (function bodies have paragraphs); at
    the top level they do, so the block never swallows the file. A cursor on a header line
    takes that header's body. A blank cursor line uses the next non-blank line (else the
    previous one). Linear in the block's size.
    """
    count = len(lines)
    if count == 0:
        return None
    line = min(max(line, 0), count - 1)

    def blank(i: int) -> bool:
        return not lines[i].strip()

    if blank(line):
        below = next((i for i in range(line + 1, count) if not blank(i)), None)
        above = next((i for i in range(line - 1, -1, -1) if not blank(i)), None)
        picked = below if below is not None else above
        if picked is None:
            return None
        line = picked
    level = indent_width(lines[line])
    following = next((i for i in range(line + 1, count) if not blank(i)), None)
    if following is not None and indent_width(lines[following]) > level:
        # The cursor is on a header: take its body, the header included.
        header: int | None = line
        level = indent_width(lines[following])
        first = last = following
    else:
        header = None
        first = last = line
    spans_blanks = level > 0

    # Grow upwards.
    i = first - 1
    while i >= 0 and header is None:
        if blank(i):
            if not spans_blanks:
                break
            i -= 1
            continue
        if indent_width(lines[i]) >= level:
            first = i
            i -= 1
            continue
        header = i
    # Grow downwards.
    i = last + 1
    while i < count:
        if blank(i):
            if not spans_blanks:
                break
            i += 1
            continue
        if indent_width(lines[i]) < level:
            break
        last = i
        i += 1
    start = header if header is not None else first
    end = last + 1
    if header is not None:
        closer = next((j for j in range(last + 1, count) if not blank(j)), None)
        if closer is not None:
            text = lines[closer].strip()
            if indent_width(lines[closer]) == indent_width(lines[header]) and (
                text.startswith(("}", ")", "]")) or text.rstrip(";") in _CLOSERS
            ):
                end = closer + 1
    return start, end
