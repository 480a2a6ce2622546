"""What a check sees: one proposed edit (`CheckContext`), the type of a check, and how the
checks read Python text. The guards and the common checks import it; only the runner imports
them, so nothing here depends on a check.

The context also carries, computed on first use and kept for every check after it, where the
block sits in the documents and the unit analysed around it (`analysis.python.location`,
`analysis.python.units`): the common checks and the guards read that one location and one
parse instead of each finding the block again.
"""

from __future__ import annotations

import ast
import functools
import logging
from collections.abc import Callable

import attrs

from ladder_lsp.analysis.python import location, units
from ladder_lsp.analysis.python.findings import unit_findings
from ladder_lsp.analysis.python.names import loaded_names
from ladder_lsp.analysis.python.parse import compile_error, parse
from ladder_lsp.analysis.python.surface import flow
from ladder_lsp.pipeline.target import BOM, Target

log = logging.getLogger(__name__)


@attrs.frozen
class CheckContext:
    """One proposed edit: the documents and edited blocks before and after, and how the
    model stopped. Blocks are whole lines (`Target.block_text` and the built block)."""

    action: str  # "refactor", "docstring", "fix", "tests", "explain" or a custom action id
    language: str  # LSP languageId
    old_document: str
    # None when `where` is given: joined from it on first use (`new_document`)
    given_new_document: str | None = attrs.field(alias="new_document")
    old_block: str
    new_block: str
    finish_reason: str = "stop"
    diagnostics: tuple[str, ...] = ()
    source_path: str = ""  # the file the action ran on (tests: the code under test)
    custom_prompt: str = ""  # a custom action's prompt (`actions.custom`); "" for built-ins
    source_code: str = ""  # tests: the selected code the tests are written for
    instruction: str = ""  # the user's instruction (`edit`; extra guidance elsewhere)
    # where the block is, when the caller put it there (`location.in_place`): saves `locate`
    where: location.Located | None = None

    def __attrs_post_init__(self) -> None:
        if self.given_new_document is None and self.where is None:
            raise ValueError("a CheckContext needs the new document or where the block is")

    @functools.cached_property
    def new_document(self) -> str:
        """The whole new document. Most checks read only the unit around the block, so a
        caller that located it (`where`) need not join the file (0.2 ms at 20,000 lines)."""
        if self.given_new_document is not None:
            return self.given_new_document
        assert self.where is not None  # checked at construction
        return "".join(self.where.new_lines)

    @property
    def is_python(self) -> bool:
        """Python edits get the `ast` and pyflakes analysis; others tree-sitter or text."""
        return self.language.lower() == "python"

    @functools.cached_property
    def located(self) -> location.Located | None:
        """Where the block sits: old = head + old_block + tail, new = head + new_block + tail
        at line boundaries; None when code outside the block changed or the old block is
        empty."""
        if self.where is not None:
            return self.where
        return location.locate(self.old_document, self.new_document, self.old_block, self.new_block)

    @functools.cached_property
    def first_outside_change(self) -> int | None:
        """1-based line of the new document where code outside the block differs, or None."""
        if self.located is not None:
            return None
        return location.first_outside_change(self.old_document, self.new_document, self.old_block)

    @functools.cached_property
    def cut_unit(self) -> units.Unit | None:
        """The unit around the block, cut by indentation, parsed or not; None when the block
        cannot be located."""
        return None if self.located is None else units.cut_unit(self.located)

    @functools.cached_property
    def unit(self) -> units.Unit | None:
        """The unit to analyse (Python): the cut when its old version parses, else the whole
        documents; None when the block cannot be located or the old code does not parse."""
        if self.located is None or self.cut_unit is None:
            return None
        return units.unit_for(self.located, self.cut_unit)

    @functools.cached_property
    def unit_trees(self) -> tuple[ast.Module, ast.Module] | None:
        """`unit` parsed, old and new; None without a unit or when the new one does not parse
        (the syntax check speaks for that)."""
        unit = self.unit
        if unit is None:
            return None
        old, new = parse(unit.old_text), parse(unit.new_text)
        return None if old is None or new is None else (old, new)


Check = Callable[[CheckContext], str | None]


def read_original(target: Target, language: str) -> None:
    """What the checks will read of the document before the answer — the unit around the
    target, its parse, compile and pyflakes findings, the module's names, the names its code
    reads and how its functions return — computed now into the caches they read (`parse`,
    `findings`, `names`, `surface`), so the work is done while the model answers and not
    after it. Python only; never raises."""
    if language.lower() != "python":
        return
    block = target.block_lines
    try:
        where = location.in_place(
            target.lines, target.start_line, target.end_line, block, target.text
        )
        unit = None if where is None else units.unit_for(where, units.cut_unit(where))
        if where is None or unit is None:
            return
        compile_error(unit.old_text)
        unit_findings(unit, where.old_lines, new=False)
        tree = parse(unit.old_text)
        if tree is not None:
            loaded_names(tree)
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    flow(node)
    except Exception:  # a check meets the same failure later and reports it
        log.debug("reading the original ahead failed", exc_info=True)


def python_tree(text: str) -> ast.Module | None:
    """The shared, cached tree of `text` (`analysis.python.parse`) with a file's BOM dropped,
    as Python's decoder drops it before compiling."""
    return parse(text.removeprefix(BOM))


def python_compile_error(text: str) -> tuple[int | None, str] | None:
    """`analysis.python.parse.compile_error` of `text` with a file's BOM dropped."""
    return compile_error(text.removeprefix(BOM))
