"""The edit must not break the parse: Python still compiles (judged on the unit around the
block when it can be, the whole documents otherwise), other languages gain no tree-sitter
errors.
"""

from __future__ import annotations

import re

from ladder_lsp.analysis import treesitter
from ladder_lsp.analysis.python.parse import compile_error
from ladder_lsp.analysis.text import dedented, indent_width, normalize_newlines
from ladder_lsp.pipeline.checks.context import CheckContext, python_compile_error


def _python_unit_syntax(ctx: CheckContext) -> str | bool | None:
    """The syntax verdict from the statements around the block (see `analysis.python.units`):
    compiling a whole 2,000-line document costs 15-50 ms, the unit well under 1 ms. The
    lines outside the block are identical, so when the old unit compiles the new document
    compiles exactly when the new unit does. False when the unit cannot decide."""
    unit = ctx.cut_unit
    if unit is None or _least_indent(ctx.new_block) < _least_indent(ctx.old_block):
        return False  # a line shallower than the block may break code after the unit
    error = compile_error(unit.new_text)
    if error is None:
        return None if compile_error(unit.old_text) is None else False
    if compile_error(unit.old_text) is not None:
        return False  # already broken here (or a misleading cut): ask the whole documents
    line, message = error
    # "… after 'for' statement on line 6": unit lines, shown as document lines
    message = re.sub(
        r"\bline (\d+)", lambda m: f"line {unit.new_doc_line(int(m.group(1)))}", message
    )
    return f"syntax error at line {unit.new_doc_line(line or 1)}: {message}"


def _least_indent(block: str) -> int:
    widths = [
        indent_width(line)
        for line in normalize_newlines(block).split("\n")
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return min(widths, default=0)


def _python_syntax(ctx: CheckContext) -> str | None:
    verdict = _python_unit_syntax(ctx)
    if verdict is not False:
        return verdict if isinstance(verdict, str) else None
    # The new document alone decides the common case; the old one is compiled only to know
    # whether an error is the answer's fault (one compile instead of two on the happy path).
    error = python_compile_error(ctx.new_document)
    if error is None:
        return None
    if python_compile_error(ctx.old_document) is None:
        line, message = error
        return f"syntax error at line {line or '?'}: {message}"
    # The document was already broken: the new code alone must not be worse than the old.
    old = treesitter.error_count("python", dedented(ctx.old_block))
    new = treesitter.error_count("python", dedented(ctx.new_block))
    if old is not None and new is not None and new > old:
        return f"the new code has syntax errors ({new}, the original had {old})"
    return None


def check_syntax(ctx: CheckContext) -> str | None:
    """The edit must not break the parse: Python compiles, others gain no tree-sitter errors."""
    if ctx.is_python:
        return _python_syntax(ctx)
    language = ctx.language.lower()
    new = treesitter.error_count(language, ctx.new_document)
    if not new:
        return None  # clean, or no grammar for this language
    old = treesitter.error_count(language, ctx.old_document) or 0
    if new > old:
        line = treesitter.first_error_line(language, ctx.new_document)
        where = f" near line {line + 1}" if line is not None else ""
        return f"syntax error{where} ({new} parse errors, the original had {old})"
    return None
