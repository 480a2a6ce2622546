"""The code an empty-cursor action works on: the definition around the cursor.

Listing runs on every cursor move, so it must not parse a 20,000-line file each time. For
Python a local scan finds the enclosing `def`/`class` from its indentation and checks it by
parsing just that block (cost ∝ the block, not the file); anything else — other languages, or
a block that does not parse alone — uses a whole-file parse cached per document version.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

from ladder_lsp.analysis.definitions import Definitions
from ladder_lsp.analysis.python.parse import parse_dedented
from ladder_lsp.analysis.text import indent_width

CACHE_SIZE = 8  # parsed documents kept (one per recently listed version)
_HEADER = re.compile(r"^(\s*)(async\s+def|def|class)\s")


class RegionFinder:
    def __init__(self) -> None:
        self._parsed: OrderedDict[tuple[str, int | None], Definitions] = OrderedDict()

    def enclosing(
        self, uri: str, version: int | None, language: str, lines: Sequence[str], line: int
    ) -> tuple[int, int] | None:
        """(start, end-exclusive) lines of the innermost definition or block at `line`."""
        if line < 0 or line >= len(lines):
            return None
        if language == "python":
            found = python_definition_at(lines, line)
            if found is not None:
                return found
        return self._definitions(uri, version, language, lines).enclosing(line)

    def _definitions(
        self, uri: str, version: int | None, language: str, lines: Sequence[str]
    ) -> Definitions:
        key = (uri, version)
        cached = self._parsed.get(key)
        if cached is None:
            cached = Definitions(language, "".join(lines))
            self._parsed[key] = cached
            if len(self._parsed) > CACHE_SIZE:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(key)
        return cached


def python_definition_at(lines: Sequence[str], line: int) -> tuple[int, int] | None:
    """The innermost def/class containing `line`, found by indentation and verified by
    parsing the block alone; None when unsure (the caller then parses the file)."""
    level = indent_width(lines[line]) if lines[line].strip() else 10**6
    header = None
    for i in range(line, -1, -1):
        text = lines[i]
        if not text.strip():
            continue
        match = _HEADER.match(text)
        if match and (i == line or len(match.group(1)) < level):
            header = i
            break
        if i != line and text.strip() and not text.lstrip().startswith(("#", "@", ")", "]")):
            level = min(level, indent_width(text))
    if header is None:
        return None
    base = indent_width(lines[header])
    start = header
    while start > 0 and lines[start - 1].lstrip().startswith("@"):
        start -= 1
    end = header + 1
    last = header
    while end < len(lines):
        text = lines[end]
        if text.strip():
            if indent_width(text) <= base and not _continues(lines, last, end):
                break
            last = end
        end += 1
    if parse_dedented("".join(lines[start : last + 1])) is None:
        return None
    return start, last + 1


def _continues(lines: Sequence[str], last: int, current: int) -> bool:
    """A closing bracket of a multi-line signature sits at the header's indentation."""
    return lines[current].lstrip().startswith((")", "]", "}")) and current == last + 1
