"""What a check sees: one proposed edit (`CheckContext`), the type of a check, and how the
checks read Python text. The guards and the common checks import it; only the runner imports
them, so nothing here depends on a check.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import attrs

from ladder_lsp.analysis.python.parse import compile_error, parse
from ladder_lsp.pipeline.target import BOM


@attrs.frozen
class CheckContext:
    """One proposed edit: the documents and edited blocks before and after, and how the
    model stopped. Blocks are whole lines (`Target.block_text` and the built block)."""

    action: str  # "refactor", "docstring", "fix", "tests", "explain" or a custom action id
    language: str  # LSP languageId
    old_document: str
    new_document: str
    old_block: str
    new_block: str
    finish_reason: str = "stop"
    diagnostics: tuple[str, ...] = ()
    source_path: str = ""  # the file the action ran on (tests: the code under test)
    custom_prompt: str = ""  # a custom action's prompt (`actions.custom`); "" for built-ins
    source_code: str = ""  # tests: the selected code the tests are written for


Check = Callable[[CheckContext], str | None]


def python_tree(text: str) -> ast.Module | None:
    """The shared, cached tree of `text` (`analysis.python.parse`) with a file's BOM dropped,
    as Python's decoder drops it before compiling."""
    return parse(text.removeprefix(BOM))


def python_compile_error(text: str) -> tuple[int | None, str] | None:
    """`analysis.python.parse.compile_error` of `text` with a file's BOM dropped."""
    return compile_error(text.removeprefix(BOM))
