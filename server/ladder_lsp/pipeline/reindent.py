"""Fit a model's code into the document the way a careful human would paste it:
re-indented to where it goes, in the file's tabs-or-spaces and line endings, blank lines at
the edges as they were.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import attrs

from ladder_lsp.analysis.text import TAB_WIDTH, indent_width, leading_blanks
from ladder_lsp.pipeline.target import BOM, Target, line_content, line_ending


def _space_unit(indents: Sequence[str]) -> int | None:
    """The most common step between successive space indentations (2, 3, 4 or 8).

    The first indentation is a position, not a step; ties go to the smaller step.
    """
    steps: collections.Counter[int] = collections.Counter()
    previous: int | None = None
    for indent in indents:
        width = indent_width(indent)
        if previous is not None and width != previous and "\t" not in indent:
            step = abs(width - previous)
            if step in (2, 3, 4, 8):
                steps[step] += 1
        previous = width
    if not steps:
        return None
    return max(steps, key=lambda step: (steps[step], -step))


def _indent_style(target: Target) -> tuple[bool, int | None]:
    """(indents with tabs?, spaces per level) — from the block, else the document."""
    block = [leading_blanks(line) for line in target.block_lines if line.strip()]
    unit = _space_unit(block)
    first_indent = next((indent for indent in block if indent), "")
    if unit is None or not first_indent:
        document = [leading_blanks(line) for line in target.style_sample if line.strip()]
        first_indent = first_indent or next((indent for indent in document if indent), "")
        if unit is None:
            unit = _space_unit(document)
    return first_indent.startswith("\t"), unit


def _render(relative: int, code_unit: int, uses_tabs: bool, doc_unit: int) -> str:
    levels, extra = divmod(relative, code_unit)
    if uses_tabs:
        return "\t" * levels + " " * extra
    return " " * (levels * doc_unit + extra)


def build_block(target: Target, code: str) -> list[str]:
    """New lines (with endings) to replace `target.block_lines`.

    prefix + code + suffix. When the selection starts at the line's indentation the code is
    dedented (models answer dedented or over-indented) and re-indented to the block's base
    indentation (its least-indented non-blank line, normally the first), in the file's
    tabs or spaces and indent width. Lines end with the document's ending; the block's last
    line keeps its own (none at EOF). Blank lines carry no whitespace. Blank lines at the
    edges of a whole-line selection are kept, so surrounding spacing does not churn. A BOM
    at the start of the file stays there (models never answer with one).
    """
    if target.start_line == 0 and target.lines and target.lines[0].startswith(BOM):
        plain = attrs.evolve(
            target,
            lines=(target.lines[0][len(BOM) :], *target.lines[1:]),
            prefix=target.prefix.removeprefix(BOM),
        )
        block = _build_block(plain, code.removeprefix(BOM))
        # with line 1 deleted, the bare mark joins the next line: the file still starts with it
        return [BOM + block[0], *block[1:]] if block else [BOM]
    return _build_block(target, code)


def _build_block(target: Target, code: str) -> list[str]:
    old = [line_content(line) for line in target.block_lines]
    code_lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    code_lines = [line if line.strip() else "" for line in code_lines]
    while code_lines and not code_lines[-1]:
        code_lines.pop()
    while code_lines and not code_lines[0]:
        code_lines.pop(0)

    reindent = not target.prefix.strip()
    if not code_lines:
        leftover = target.prefix + target.suffix
        contents = [leftover] if leftover.strip() else []
    elif reindent:
        contents = _reindent(target, old, code_lines)
        lead, trail = _edge_blanks(target, old)
        contents = [""] * lead + contents + [""] * trail
        contents[-1] += target.suffix
    else:
        contents = list(code_lines)
        contents[0] = target.prefix + contents[0]
        contents[-1] += target.suffix

    eol = target.eol
    if target.block_lines:
        last_ending = line_ending(target.block_lines[-1])
    else:
        last_ending = eol if target.start_line < len(target.lines) else ""
    result = [(line if line.strip() else "") + eol for line in contents]
    if result:
        result[-1] = result[-1][: len(result[-1]) - len(eol)] + last_ending
    return result


def _edge_blanks(target: Target, old: list[str]) -> tuple[int, int]:
    """Whole blank lines at the start/end of the selection (kept around the new code)."""
    if not any(line.strip() for line in old):
        return 0, 0
    lead = next(i for i, line in enumerate(old) if line.strip())
    trail = next(i for i, line in enumerate(reversed(old)) if line.strip())
    if target.suffix:
        trail = 0
    return lead, trail


def _reindent(target: Target, old: list[str], code: list[str]) -> list[str]:
    uses_tabs, doc_unit = _indent_style(target)
    old_indents = [leading_blanks(line) for line in old if line.strip()]
    if old_indents:
        base = min(old_indents, key=indent_width)
    else:
        base = target.prefix
    base_width = indent_width(base)

    widths = [indent_width(leading_blanks(line)) for line in code]
    nonblank = [i for i, line in enumerate(code) if line]
    code_tabs = any(leading_blanks(code[i]).startswith("\t") for i in nonblank)
    code_unit = TAB_WIDTH if code_tabs else _space_unit([leading_blanks(code[i]) for i in nonblank])
    code_unit = code_unit or doc_unit or TAB_WIDTH
    doc_unit = doc_unit or code_unit

    absolute = _echo_shape(target, old, code, widths, nonblank)
    if absolute is not None:
        # The model kept the shape it was shown: first line bare, the rest absolute.
        relatives = [max(width - base_width, 0) for width in absolute]
        code_unit = doc_unit
    else:
        lowest = min(widths[i] for i in nonblank)
        relatives = [width - lowest for width in widths]
    result = []
    for line, relative in zip(code, relatives, strict=True):
        if not line:
            result.append("")
            continue
        result.append(base + _render(relative, code_unit, uses_tabs, doc_unit) + line.lstrip(" \t"))
    return result


def _echo_shape(
    target: Target, old: list[str], code: list[str], widths: list[int], nonblank: list[int]
) -> list[int] | None:
    """Absolute widths when the answer mirrors a selection that began after the indentation.

    Such a selection shows the model its first line without indentation and the others with
    their full indentation; answers often come back the same way.
    """
    if not target.prefix or target.prefix.strip() or len(nonblank) < 2:
        return None
    first_old = next((line for line in old if line.strip()), None)
    rest_old = [indent_width(leading_blanks(line)) for line in old[1:] if line.strip()]
    if first_old is None or not rest_old:
        return None
    first_width, rest_min = indent_width(leading_blanks(first_old)), min(rest_old)
    first = nonblank[0]
    code_rest = min(widths[i] for i in nonblank[1:])
    if first != 0 or widths[first] != 0 or not 0 < first_width < rest_min <= code_rest:
        return None
    return [first_width if i == first else width for i, width in enumerate(widths)]
