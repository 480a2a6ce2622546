"""Splitting a big job into independent chunks for parallel local workers.

A chunk is one top-level definition (Python: a module-level def/class with its decorators,
from `ast`; other languages: a blank-line separated block that starts at column 0). Chunks
never overlap and never include code between definitions, so each worker's whole-line edits
merge into one WorkspaceEdit against the same document version without conflicts.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Sequence

MIN_CHUNKS = 2
_PY_TOP_LEVEL = re.compile(r"^(async\s+def|def|class)\s")
_OTHER_TOP_LEVEL = re.compile(
    r"^(export\s+)?(default\s+)?(async\s+)?(function|class|const|let|func|fn|pub|impl|struct|"
    r"enum|type|interface)\b"
)


def looks_splittable(language: str, lines: Sequence[str], start: int, end: int) -> bool:
    """Cheap test for listing (no parse): at least two top-level definitions in the range."""
    pattern = _PY_TOP_LEVEL if language == "python" else _OTHER_TOP_LEVEL
    count = 0
    for line in itertools.islice(lines, start, end):  # no copy: the range may be the file
        if pattern.match(line):
            count += 1
            if count >= MIN_CHUNKS:
                return True
    return False


def split_chunks(
    language: str, lines: Sequence[str], start: int, end: int
) -> list[tuple[int, int]]:
    """(start, end-exclusive) line spans of the top-level definitions inside [start, end)."""
    if language == "python":
        spans = _python_chunks(lines)
        if spans is not None:
            return [(s, e) for s, e in spans if s >= start and e <= end]
    return [
        (s, e)
        for s, e in _blank_line_chunks(lines, start, end)
        if any(_OTHER_TOP_LEVEL.match(line) or _PY_TOP_LEVEL.match(line) for line in lines[s:e])
    ]


def _python_chunks(lines: Sequence[str]) -> list[tuple[int, int]] | None:
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError, RecursionError):
        return None
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            last = node.end_lineno or node.lineno
            spans.append((first - 1, last))
    return spans


def _blank_line_chunks(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """Blocks separated by blank lines, a new block only where a line starts at column 0."""
    spans: list[tuple[int, int]] = []
    block_start: int | None = None
    last_code = start
    for i in range(start, end):
        line = lines[i]
        if not line.strip():
            continue
        at_margin = not line[0].isspace() and not line.lstrip().startswith(("}", ")", "]"))
        gap = i > last_code + 1 or block_start is None
        if at_margin and gap:
            if block_start is not None:
                spans.append((block_start, last_code + 1))
            block_start = i
        last_code = i
    if block_start is not None:
        spans.append((block_start, last_code + 1))
    return spans
