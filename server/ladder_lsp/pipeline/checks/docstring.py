"""`docstring` (and comment-only custom actions): only documentation may change, and some
documentation must actually be added or improved.

Python: the code is compared as syntax trees with every docstring removed (comments and
formatting are invisible to `ast`), so `r * r` → `r ** 2` is caught however it is spelled.
Other languages: the tree-sitter token stream must be equal once comment nodes are dropped.
Languages without a grammar fall back to comparing non-comment lines.
"""

from __future__ import annotations

import collections
import re
from typing import TYPE_CHECKING

from ladder_lsp.analysis import treesitter
from ladder_lsp.analysis.python.docstrings import docstrings, first_code_difference
from ladder_lsp.analysis.text import normalize_newlines
from ladder_lsp.pipeline.checks.context import CheckContext

if TYPE_CHECKING:
    import tree_sitter


_COMMENT_ONLY_PROMPT = re.compile(
    r"\b(doc ?strings?|doc ?comments?|comments?|commenting|document\w*|jsdoc|javadoc|"
    r"rustdoc|godoc|annotate)\b",
    re.IGNORECASE,
)
_CODE_CHANGE_PROMPT = re.compile(
    r"\b(refactor\w*|renam\w*|rewrit\w*|fix\w*|optimi\w*|simplif\w*|convert\w*|implement\w*|"
    r"add (?:type hints?|types|tests?|logging|error handling)|type hints?|typ(?:e|ing) "
    r"annotations?|translate the code|port)\b",
    re.IGNORECASE,
)


def is_comment_only_prompt(prompt: str) -> bool:
    """A custom action that asks for documentation or comments and nothing else."""
    return bool(_COMMENT_ONLY_PROMPT.search(prompt)) and not _CODE_CHANGE_PROMPT.search(prompt)


def check_docstring_code_unchanged(ctx: CheckContext) -> str | None:
    """Adding documentation must not change the code."""
    if not ctx.old_block.strip() or not ctx.new_block.strip():
        return None
    outside = ctx.first_outside_change
    if outside is not None:
        return f"changed code while adding a docstring: line {outside}"
    if ctx.is_python:
        return _python_code_changed(ctx)
    return _tokens_changed(ctx)


def check_docstring_added(ctx: CheckContext) -> str | None:
    """The answer must add or improve a docstring (Python) or a doc comment (others)."""
    if not ctx.old_block.strip() or not ctx.new_block.strip() or _same_text(ctx):
        return None  # an unchanged answer has its own reason (and its own outcome)
    comments_count = bool(ctx.custom_prompt)  # comment-only custom actions: comments are it
    if ctx.is_python:
        trees = ctx.unit_trees
        if trees is None:
            return None  # not located, or the syntax check speaks for this
        old_tree, new_tree = trees
        old_docs = collections.Counter(docstrings(old_tree))
        new_docs = collections.Counter(docstrings(new_tree))
        if new_docs - old_docs:
            return None
        if comments_count and _comments(ctx, "python") is True:
            return None
        if old_docs - new_docs:
            return "removed a docstring without adding one"
        return "no docstring was added"
    changed = _comments(ctx, ctx.language.lower())
    if changed is None or changed:
        return None
    return "no doc comment was added"


def _same_text(ctx: CheckContext) -> bool:
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in normalize_newlines(text).strip("\n").split("\n")]

    return lines(ctx.old_block) == lines(ctx.new_block)


# --- Python ---------------------------------------------------------------------------


def _python_code_changed(ctx: CheckContext) -> str | None:
    unit, trees = ctx.unit, ctx.unit_trees
    if unit is None or trees is None:
        return None  # not located, or the syntax check reports a broken answer
    line = first_code_difference(*trees)
    if line is None:
        return None
    return f"changed code while adding a docstring: line {unit.new_doc_line(line)}"


# --- other languages ------------------------------------------------------------------


def _leaves(tree: tree_sitter.Tree, source: bytes) -> tuple[list[tuple[bytes, int]], list[bytes]]:
    """(code tokens with their 0-based row, comment texts) in document order."""
    tokens: list[tuple[bytes, int]] = []
    comments: list[bytes] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type.endswith("comment"):
            comments.append(b" ".join(source[node.start_byte : node.end_byte].split()))
            continue
        if node.child_count == 0:
            text = source[node.start_byte : node.end_byte]
            if text.strip():
                tokens.append((text, int(node.start_point.row)))
            continue
        stack.extend(reversed(node.children))
    return tokens, comments


def _tokens_changed(ctx: CheckContext) -> str | None:
    language = ctx.language.lower()
    old_text = normalize_newlines(ctx.old_block)
    new_text = normalize_newlines(ctx.new_block)
    old_source = old_text.encode("utf-8", "surrogatepass")
    new_source = new_text.encode("utf-8", "surrogatepass")
    old_tree = treesitter.parse(language, old_text)
    new_tree = treesitter.parse(language, new_text)
    start = _block_line(ctx)
    if old_tree is None or new_tree is None:
        old_lines = _code_lines(ctx.old_block)
        new_lines = _code_lines(ctx.new_block)
        for (old_text, _), (new_text, row) in zip(old_lines, new_lines, strict=False):
            if old_text != new_text:
                return f"changed code while adding a doc comment: line {start + row + 1}"
        if len(old_lines) != len(new_lines):
            row = new_lines[-1][1] if new_lines else 0
            return f"changed code while adding a doc comment: line {start + row + 1}"
        return None
    old_tokens, _ = _leaves(old_tree, old_source)
    new_tokens, _ = _leaves(new_tree, new_source)
    for index, (text, row) in enumerate(new_tokens):
        if index >= len(old_tokens) or old_tokens[index][0] != text:
            return f"changed code while adding a doc comment: line {start + row + 1}"
    if len(old_tokens) > len(new_tokens):
        row = new_tokens[-1][1] if new_tokens else 0
        return f"changed code while adding a doc comment: line {start + row + 1}"
    return None


_LINE_COMMENT = re.compile(r"^\s*(?://|#|--|;|/\*|\*|\*/|<!--|\"\"\"|''')")


def _code_lines(block: str) -> list[tuple[str, int]]:
    return [
        (" ".join(line.split()), row)
        for row, line in enumerate(normalize_newlines(block).split("\n"))
        if line.strip() and not _LINE_COMMENT.match(line)
    ]


def _block_line(ctx: CheckContext) -> int:
    """0-based document line where the block starts (0 when it cannot be located)."""
    where = ctx.located
    return where.start if where is not None else 0


def _comments(ctx: CheckContext, language: str) -> bool | None:
    """Whether comments were added or changed; None when it cannot be told."""
    old_text = normalize_newlines(ctx.old_block)
    new_text = normalize_newlines(ctx.new_block)
    old_tree = treesitter.parse(language, old_text)
    new_tree = treesitter.parse(language, new_text)
    if old_tree is None or new_tree is None:
        old = {line for line in ctx.old_block.splitlines() if _LINE_COMMENT.match(line)}
        new = {line for line in ctx.new_block.splitlines() if _LINE_COMMENT.match(line)}
        return bool({" ".join(x.split()) for x in new} - {" ".join(x.split()) for x in old})
    old_source = old_text.encode("utf-8", "surrogatepass")
    new_source = new_text.encode("utf-8", "surrogatepass")
    _, old_comments = _leaves(old_tree, old_source)
    _, new_comments = _leaves(new_tree, new_source)
    added = collections.Counter(new_comments) - collections.Counter(old_comments)
    return any(text.strip(b"/*#-! \t") for text in added)


# --- custom actions -------------------------------------------------------------------


def check_custom_comment_only(ctx: CheckContext) -> str | None:
    """Custom actions that ask for documentation get the docstring guards."""
    if not is_comment_only_prompt(ctx.custom_prompt):
        return None
    reason = check_docstring_code_unchanged(ctx)
    if reason is not None:
        return reason.replace("while adding a docstring", "while adding documentation")
    added = check_docstring_added(ctx)
    if added is not None:
        return "no documentation or comment was added"
    return None
