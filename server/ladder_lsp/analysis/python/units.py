"""The *unit*: the smallest piece of the document around the edited block that means the
same on its own, in both versions, so `ast` and pyflakes need not read the whole file.

Why units: parsing or running pyflakes on a whole 2,000-line file costs 20-90 ms each here,
and the guards compare two versions. The edit only replaces the block, and the lines outside
it are checked to be identical, so analysing the statement that contains the block tells the
same story for a fraction of the cost:

- a block inside a function: that whole function (its locals are in scope);
- a block inside a class: the class header(s), a `pass` standing for the class members
  before the block, then the block's own statements (class scope is invisible to methods);
- a block of top-level statements: those statements, after a `''` standing for any code
  above (so a string at the start of the block is not taken for the module docstring).

Module-level names bound elsewhere (imports, defs, assignments) are found with a line scan
(`names`), so pyflakes does not call them undefined. Units are cut by indentation; when that
misleads (a triple-quoted string with text at column 0) the old unit fails to parse and the
whole documents are analysed instead: slower, never wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from ladder_lsp.analysis.memo import last_by_identity
from ladder_lsp.analysis.python.location import Located
from ladder_lsp.analysis.python.parse import parse
from ladder_lsp.analysis.text import indent_width

_CONTINUES = re.compile(r"(?:else|elif|except|finally)\b")
_HEADER_END = re.compile(r":\s*(?:#.*)?$")
_CLASS = re.compile(r"class\b")


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _starts_statement(lines: Sequence[str], index: int) -> bool:
    """Whether the line opens a statement (not a continuation of the previous one)."""
    stripped = lines[index].strip()
    if not stripped or stripped[0] in "#)]}" or _CONTINUES.match(stripped):
        return False
    previous = index - 1
    while previous >= 0 and not _is_code(lines[previous]):
        previous -= 1
    if previous >= 0:
        text = lines[previous].rstrip()
        if text.endswith(("\\", "(", "[", "{", ",")):
            return False
    return True


def _statement_end(lines: Sequence[str], after: int, level: int, limit: int) -> int:
    """First line at or after `after` that opens a statement at `level` or shallower."""
    index = after
    while index < limit:
        line = lines[index]
        if _is_code(line) and indent_width(line) <= level and _starts_statement(lines, index):
            return index
        index += 1
    return limit


def _statement_start(lines: Sequence[str], before: int, level: int, floor: int) -> int | None:
    """The statement at `level` that contains line `before`, decorators included."""
    index = before
    while index >= floor:
        line = lines[index]
        if _is_code(line):
            indent = indent_width(line)
            if indent < level:
                return None
            if indent == level and _starts_statement(lines, index):
                break
        index -= 1
    else:
        return None
    while index - 1 >= floor and lines[index - 1].strip().startswith("@"):
        if indent_width(lines[index - 1]) != level:
            break
        index -= 1
    return index


def _keyword_line(lines: Sequence[str], start: int, limit: int) -> int:
    """The `def`/`class` line of a statement that may start with decorators."""
    index = start
    while index < limit - 1 and lines[index].strip().startswith("@"):
        index += 1
    return index


def _header_end(lines: Sequence[str], keyword: int, limit: int) -> int:
    index = keyword
    while index < limit:
        if _HEADER_END.search(lines[index].rstrip()):
            return index
        index += 1
    return keyword


@attrs.frozen
class UnitShape:
    """How a unit is cut from the old document: synthetic lines first (class headers and
    fillers, with their document line or -1), then the real lines [start, end)."""

    prefix: tuple[tuple[int, str], ...]
    start: int
    end: int
    top: tuple[int, int]  # the outermost statement(s) covered, for the module-name scan


def unit_shape(lines: Sequence[str], block_start: int, block_end: int) -> UnitShape:
    """Cut by indentation; see the module docstring."""
    count = len(lines)
    prefix: list[tuple[int, str]] = []
    lo, hi, level = 0, count, 0
    top: tuple[int, int] | None = None
    code = [i for i in range(block_start, block_end) if _is_code(lines[i])]
    if not code:
        return UnitShape((), block_start, block_end, (block_start, block_end))
    first = code[0]
    while True:
        start = _statement_start(lines, first, level, lo)
        if start is None:
            start = min(block_start, first)
        whole_end = _statement_end(lines, max(block_end, start + 1), level, hi)
        inside = all(indent_width(lines[i]) > level for i in code)
        keyword = _keyword_line(lines, start, hi)
        header = _header_end(lines, keyword, hi)
        own_end = _statement_end(lines, header + 1, level, hi)
        begin = min(start, block_start)
        if top is None:
            top = (begin, max(whole_end, own_end))
        descend = (
            inside
            and block_start > header
            and own_end >= block_end
            and _CLASS.match(lines[keyword].strip()) is not None
        )
        if not descend:
            end = max(whole_end, own_end) if not inside else max(own_end, block_end)
            return UnitShape(tuple(prefix), begin, end, top)
        body = [i for i in range(header + 1, own_end) if _is_code(lines[i])]
        if not body:
            return UnitShape(tuple(prefix), begin, own_end, top)
        body_level = indent_width(lines[body[0]])
        prefix.extend((i, lines[i]) for i in range(start, header + 1))
        inner = _statement_start(lines, first, body_level, header + 1)
        inner_start = min(inner if inner is not None else first, block_start)
        if any(_is_code(lines[i]) for i in range(header + 1, inner_start)):
            pad = lines[body[0]][: len(lines[body[0]]) - len(lines[body[0]].lstrip())]
            prefix.append((-1, f"{pad}pass\n"))
        lo, hi, level = header + 1, own_end, body_level


@attrs.frozen
class Unit:
    old_text: str
    new_text: str
    old_map: tuple[int, ...]  # unit line (0-based) -> document line (0-based), -1 synthetic
    new_map: tuple[int, ...]
    old_block: tuple[int, int]  # the block in unit lines [start, end)
    new_block: tuple[int, int]
    top: tuple[int, int]  # outermost statements covered, old document lines
    whole: bool  # the whole documents (the cheap cut did not parse)

    def new_doc_line(self, unit_lineno: int) -> int:
        """1-based document line for a 1-based line of the new unit."""
        index = min(max(unit_lineno - 1, 0), len(self.new_map) - 1)
        while index > 0 and self.new_map[index] < 0:
            index -= 1
        return max(self.new_map[index], 0) + 1 if self.new_map else 1


def _has_code_before(lines: Sequence[str], line: int) -> bool:
    return any(_is_code(text) for text in lines[:line])


@last_by_identity
def _old_shape(lines: Sequence[str], block_start: int, block_end: int) -> UnitShape:
    """`unit_shape` depends on the old document alone: the original read ahead of the answer
    (`checks.context.read_original`) and every answer's checks cut the same one, from the
    same lines object."""
    return unit_shape(lines, block_start, block_end)


def cut_unit(where: Located) -> Unit:
    """The unit around the located block in both versions, cut by indentation; it may not
    parse (see `unit_for`)."""
    shape = _old_shape(where.old_lines, where.start, where.old_end)
    delta = where.new_end - where.old_end
    head: list[tuple[int, str]] = []
    first_real = shape.prefix[0][0] if shape.prefix else shape.start
    if _has_code_before(where.old_lines, first_real):
        head.append((-1, "''\n"))  # code above: nothing here is the module docstring
    head.extend(shape.prefix)
    old_part = where.old_lines[shape.start : shape.end]
    new_part = where.new_span(shape.start, shape.end)
    offset = len(head) - shape.start
    return Unit(
        "".join(text for _, text in head) + _closed("".join(old_part)),
        "".join(text for _, text in head) + _closed("".join(new_part)),
        tuple(i for i, _ in head) + tuple(range(shape.start, shape.end)),
        tuple(i for i, _ in head) + tuple(range(shape.start, shape.end + delta)),
        (where.start + offset, where.old_end + offset),
        (where.start + offset, where.new_end + offset),
        shape.top,
        whole=False,
    )


def unit_for(where: Located, cut: Unit) -> Unit | None:
    """The unit to analyse: the cheap cut (`cut_unit(where)`) when its old version parses,
    else the whole documents; None when the old code does not parse."""
    if parse(cut.old_text) is not None:
        return cut
    old_doc = "".join(where.old_lines)
    if parse(old_doc) is None:
        return None
    return Unit(
        old_doc,
        "".join(where.new_lines),
        tuple(range(len(where.old_lines))),
        tuple(range(len(where.new_lines))),
        (where.start, where.old_end),
        (where.start, where.new_end),
        (0, len(where.old_lines)),
        whole=True,
    )


def _closed(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
