"""Generated Python modules of a given length, with the positions the benchmarks aim at.

Deterministic (same text every run), valid Python, shaped like real code: imports, top-level
functions with docstrings and loops, and classes with methods. Every function keeps its
running value in a local named `result`, so a fake model can "refactor" any function (or any
chunk of them) by renaming it, and Ladder's checks accept the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = [
    '"""A generated module for Ladder\'s benchmarks."""',
    "",
    "from __future__ import annotations",
    "",
    "import math",
    "import os",
    "from collections import defaultdict",
    "",
    "REVISION = 0  # rev 000000",
    "",
    "",
]
REV_LINE = 8  # the line a "typing" benchmark rewrites (same length, new version)
REV_PREFIX = "REVISION = 0  # rev "


@dataclass(frozen=True)
class Function:
    name: str
    start: int  # 0-based line of `def`
    end: int  # exclusive: the line after its last line
    indent: int


@dataclass(frozen=True)
class Module:
    text: str
    functions: tuple[Function, ...]

    @property
    def line_count(self) -> int:
        return self.text.count("\n")


def _function(name: str, i: int, indent: str) -> list[str]:
    return [
        f"{indent}def {name}(items, factor={i % 7 + 1}):",
        f'{indent}    """Scaled total of the items in group {i}."""',
        f"{indent}    result = 0",
        f"{indent}    for item in items:",
        f"{indent}        if item.price > {i % 50}:",
        f"{indent}            result = result + item.price * factor",
        f"{indent}        else:",
        f"{indent}            result -= math.floor(item.price)",
        f"{indent}    return result",
    ]


def _class(i: int) -> tuple[list[str], list[tuple[str, int, int]]]:
    lines = [f"class Ledger{i}:", f'    """Accounts of group {i}."""', ""]
    spans: list[tuple[str, int, int]] = []
    lines += ["    def __init__(self):", "        self.entries = defaultdict(list)", ""]
    for k in range(2):
        name = f"total_{i}_{k}"
        body = _function(name, i + k, "    ")
        body[0] = body[0].replace("(items,", "(self, items,")
        spans.append((name, len(lines), len(lines) + len(body)))
        lines += [*body, ""]
    return lines, spans


def module(line_count: int) -> Module:
    """A module of exactly `line_count` lines (padding with comments at the end)."""
    lines = list(HEADER)
    functions: list[Function] = []
    i = 0
    while True:
        if i % 5 == 4:
            block, spans = _class(i)
            block += [""]
            found = [Function(n, len(lines) + s, len(lines) + e, 4) for n, s, e in spans]
        else:
            name = f"compute_{i}"
            block = [*_function(name, i, ""), "", ""]
            found = [Function(name, len(lines), len(lines) + len(block) - 2, 0)]
        if len(lines) + len(block) > line_count:
            break
        lines += block
        functions += found
        i += 1
    while len(lines) < line_count:
        lines.append(f"# padding {len(lines)}")
    return Module("".join(line + "\n" for line in lines), tuple(functions))


def top_level_functions(count: int) -> Module:
    """`count` top-level functions and nothing else but the imports (the fan-out file)."""
    lines = list(HEADER)
    functions: list[Function] = []
    for i in range(count):
        name = f"compute_{i}"
        body = _function(name, i, "")
        functions.append(Function(name, len(lines), len(lines) + len(body), 0))
        lines += [*body, "", ""]
    return Module("".join(line + "\n" for line in lines), tuple(functions))


def rev_line(n: int) -> str:
    return f"{REV_PREFIX}{n % 1_000_000:06d}"
