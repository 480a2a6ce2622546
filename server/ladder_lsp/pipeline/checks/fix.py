"""`fix`: the diagnostic the user asked to fix is gone when Ladder can re-check it, and the
fix brings no new findings.

Ladder re-checks what it can reproduce itself: Python syntax errors (the code around the
block must compile afterwards) and pyflakes-style findings, recognised from the messages of
pyflakes, flake8, ruff (F401, F811, F821, F841…) and Pyright/Pylance. A diagnostic Ladder
cannot reproduce on the original code (a type error, a stale message) is not judged.
"""

from __future__ import annotations

import re

from ladder_lsp.analysis.python.findings import unit_findings
from ladder_lsp.analysis.python.names import bound_names
from ladder_lsp.analysis.python.parse import compile_error
from ladder_lsp.pipeline.checks import refactor
from ladder_lsp.pipeline.checks.context import CheckContext

_Q = r"[`'\"‘’“”]"
_NAME = rf"{_Q}(?P<name>[\w.]+(?: as \w+)?){_Q}"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("UndefinedName", re.compile(rf"undefined name {_NAME}", re.IGNORECASE)),
    ("UndefinedName", re.compile(rf"{_NAME} is not defined", re.IGNORECASE)),
    ("UnusedImport", re.compile(rf"{_NAME} imported but unused", re.IGNORECASE)),
    ("UnusedImport", re.compile(rf"import {_NAME} is not accessed", re.IGNORECASE)),
    ("RedefinedWhileUnused", re.compile(rf"redefinition of (?:unused )?{_NAME}", re.IGNORECASE)),
    (
        "UnusedVariable",
        re.compile(rf"local variable {_NAME} is assigned to but never used", re.IGNORECASE),
    ),
    ("UnusedVariable", re.compile(rf"variable {_NAME} is not accessed", re.IGNORECASE)),
    (
        "UndefinedLocal",
        re.compile(rf"local variable {_NAME} .*referenced before assignment", re.IGNORECASE),
    ),
)
_CODES = {
    "F401": "UnusedImport",
    "F811": "RedefinedWhileUnused",
    "F821": "UndefinedName",
    "F823": "UndefinedLocal",
    "F841": "UnusedVariable",
}
_CODE = re.compile(r"\b(F401|F811|F821|F823|F841)\b")
_ANY_NAME = re.compile(rf"{_Q}(?P<name>[\w.]+){_Q}")
_SYNTAX = re.compile(
    r"syntax ?error|invalid syntax|\bE999\b|\bexpected (?:['\"`]|an indented block|expression"
    r"|\w+ ?['\"`]?[:(\[{])|unexpected indent|unindent does not match|was never closed"
    r"|unmatched ['\"`]|unterminated|invalid character|statements must be separated"
    r"|outside (?:function|loop)|unexpected token|unexpected EOF",
    re.IGNORECASE,
)


def recheckable(message: str) -> tuple[str, str] | None:
    """("syntax", "") or (pyflakes kind, name) for a diagnostic Ladder can re-check."""
    for kind, pattern in _PATTERNS:
        match = pattern.search(message)
        if match:
            return kind, match.group("name")
    code = _CODE.search(message)
    if code:
        name = _ANY_NAME.search(message)
        if name:
            return _CODES[code.group(1)], name.group("name")
    if _SYNTAX.search(message):
        return "syntax", ""
    return None


def _same_name(diagnostic: str, finding: str) -> bool:
    if diagnostic == finding:
        return True
    wanted = bound_names(diagnostic)
    return bool(wanted & bound_names(finding)) or finding.endswith("." + diagnostic)


def _short(message: str, limit: int = 80) -> str:
    line = message.strip().splitlines()[0] if message.strip() else message
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_fix_resolved(ctx: CheckContext) -> str | None:
    """Each re-checkable diagnostic present before the edit must be gone after it."""
    if not ctx.is_python or not ctx.diagnostics:
        return None
    for message in ctx.diagnostics:
        target = recheckable(message)
        if target is None:
            continue
        kind, name = target
        if kind == "syntax":
            still = _syntax_still_there(ctx)
        else:
            still = _finding_still_there(ctx, kind, name)
        if still:
            return f"the diagnostic is still there: {_short(message)}"
    return None


def _syntax_still_there(ctx: CheckContext) -> bool:
    unit = ctx.cut_unit
    if unit is None:
        return False
    if compile_error(unit.old_text) is None:
        return False  # the error is not around the block: cannot tell
    return compile_error(unit.new_text) is not None


def _finding_still_there(ctx: CheckContext, kind: str, name: str) -> bool:
    unit, where = ctx.unit, ctx.located
    if unit is None or where is None:
        return False
    old = unit_findings(unit, where.old_lines, new=False)
    new = unit_findings(unit, where.old_lines, new=True)
    if old is None or new is None:
        return False
    if not any(k == kind and _same_name(name, n) for k, n in old):
        return False  # Ladder does not see it in the original: cannot tell
    return any(k == kind and _same_name(name, n) for k, n in new)


_QUOTED = re.compile(rf"{_Q}(?P<name>[\w.]+){_Q}")
_SUBJECT = re.compile(r"`([^`]+)`")


def check_fix_surface(ctx: CheckContext) -> str | None:
    """A fix keeps the public surface too ("change nothing unrelated"), except where the
    diagnostic asks for it: the missing `self`/`cls` it names, or the redefinition it
    reports. Hiding an undefined name behind a new parameter is not a fix."""
    named: set[str] = set()
    for message in ctx.diagnostics:
        names = {m.group("name") for m in _QUOTED.finditer(message)}
        target = recheckable(message)
        if target is not None and target[0] == "RedefinedWhileUnused":
            named |= names
        named |= names & {"self", "cls"}
    kept: list[str] = []
    for reason in refactor.surface_reasons(ctx):
        subject = _SUBJECT.search(reason)
        if subject is not None and subject.group(1) in named:
            continue
        kept.append(reason)
    return "; ".join(kept[: refactor.MAX_REASONS]) if kept else None
