"""Checks every edit action gets, whatever the language: the answer was not cut off, is not
empty or unchanged, carries no Markdown fences or invisible control characters, and does not
repeat the code around the selection. (Lazy placeholders: `placeholders`; parse errors:
`syntax`.)
"""

from __future__ import annotations

import ast
import collections
import re

from ladder_lsp.analysis.text import dedented, normalize_newlines
from ladder_lsp.pipeline.checks.context import CheckContext, python_tree


def check_truncated(ctx: CheckContext) -> str | None:
    """A cut-off answer may look complete after extraction; never apply it."""
    if ctx.finish_reason in ("length", "max_tokens"):
        return "the answer was cut off at the token limit"
    return None


def check_empty(ctx: CheckContext) -> str | None:
    """No code where there was code. `fix` may legitimately delete (an unused import)."""
    if ctx.action != "fix" and not ctx.new_block.strip() and ctx.old_block.strip():
        return "the answer is empty"
    return None


def _comparable(text: str) -> list[str]:
    lines = [line.rstrip() for line in normalize_newlines(text).split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def check_unchanged(ctx: CheckContext) -> str | None:
    """Trailing whitespace and blank edges do not count as a change."""
    if ctx.new_block.strip() and _comparable(ctx.old_block) == _comparable(ctx.new_block):
        return "the model returned the code unchanged"
    return None


_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})")


def check_markdown(ctx: CheckContext) -> str | None:
    """A fence line inside the code means extraction took Markdown for code."""
    if _fence_lines(ctx.new_block, ctx.is_python) > _fence_lines(ctx.old_block, ctx.is_python):
        return "the answer's code contains Markdown fences"
    return None


def _fence_lines(block: str, python: bool) -> int:
    """Fence-like lines outside string literals: a Python docstring may hold a Markdown
    example with its own fences, and that is code."""
    lines = normalize_newlines(block).split("\n")
    fences = {number for number, line in enumerate(lines, 1) if _FENCE_LINE.match(line)}
    if fences and python:
        fences -= _python_string_lines(block)
    return len(fences)


def _python_string_lines(block: str) -> frozenset[int]:
    """Line numbers (1-based) inside multi-line string literals; none when the block does
    not parse alone (then every fence counts, the strict reading)."""
    tree = python_tree(dedented(block))
    if tree is None:
        return frozenset()
    return frozenset(
        number
        for node in ast.walk(tree)
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno
        for number in range(node.lineno + 1, node.end_lineno + 1)
    )


# C0/C1 controls other than tab and line breaks (ANSI escapes, backspace, NUL), the
# bidirectional controls of "Trojan Source" (CVE-2021-42574) and invisible characters that
# make code read differently from how it runs. ZWJ/ZWNJ (U+200C/D) are left out: emoji and
# several scripts need them in strings.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)


def check_invisible(ctx: CheckContext) -> str | None:
    """Control characters the original did not have: they hide what the code does (a
    reversed string, a terminal escape), and a reviewer cannot see them in the diff."""
    before = collections.Counter(_INVISIBLE.findall(ctx.old_block))
    added = collections.Counter(_INVISIBLE.findall(ctx.new_block)) - before
    if not added:
        return None
    names = ", ".join(f"U+{ord(char):04X}" for char in sorted(added)[:3])
    more = ", …" if len(added) > 3 else ""
    return f"the answer adds invisible or bidirectional control characters ({names}{more})"


def shorten(text: str, limit: int = 60) -> str:
    """A piece of code quoted in a reason, cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DISTINCTIVE = re.compile(r"[A-Za-z_]\w{2,}")


def _neighbours(ctx: CheckContext, count: int = 2) -> list[str]:
    """Distinctive lines right above and below the edited block."""
    where = ctx.located
    if where is None:
        return []
    lines = where.old_lines
    above = (p for i in range(where.start - 1, -1, -1) for p in reversed(lines[i].splitlines()))
    below = (p for i in range(where.old_end, len(lines)) for p in lines[i].splitlines())
    picked: list[str] = []
    for side in (above, below):
        taken = 0
        for line in side:
            text = line.strip()
            if not text:
                continue
            if len(text) >= 6 and _DISTINCTIVE.search(text):
                picked.append(text)
            taken += 1
            if taken == count:
                break
    return picked


def check_repeated_context(ctx: CheckContext) -> str | None:
    """The answer repeats a line from around the selection (the class header, the next
    function): applying it would duplicate that code."""
    if not ctx.old_block.strip() or not ctx.new_block.strip():
        return None
    old_lines = {line.strip() for line in ctx.old_block.splitlines()}
    new_lines = {line.strip() for line in ctx.new_block.splitlines()}
    for line in _neighbours(ctx):
        if line in new_lines and line not in old_lines:
            return f"the answer repeats code from around the selection ({shorten(line)})"
    return None
