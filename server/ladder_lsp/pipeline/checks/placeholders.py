"""Lazy answers: code elided with a placeholder ("# ... rest of the code", `[existing
methods]`) or, in Python, a function body replaced with `...`/`pass`. Applying them deletes
the code they stand for.
"""

from __future__ import annotations

import re

from ladder_lsp.analysis.python.stubs import stub_count
from ladder_lsp.analysis.text import dedented, normalize_newlines
from ladder_lsp.pipeline.checks.common import shorten
from ladder_lsp.pipeline.checks.context import CheckContext, python_tree

_COMMENT_BODY = re.compile(
    r"(?:^|\s)(?:#|//+|/\*+|--|<!--|\{/\*)\s*(?P<body>.*?)\s*(?:\*/\}?|-->)?$"
)
_ELLIPSIS = r"(?:\.{3}|…)"
_PLACEHOLDER_WORD = (
    r"(?:rest|existing|remaining|unchanged|same|other|previous|original|omitted|more|code"
    r"|implementation|logic|here|etc|as before|body|methods?|functions?)"
)
# "… more code ..." but not "Loading more..." or "wait here...": stricter before a final "...".
_TRAILING_WORD = (
    r"(?:rest|existing|remaining|unchanged|same|previous|original|omitted|etc|as before"
    r"|(?:other|more) (?:code|methods?|functions?|cases|logic))"
)
_PLACEHOLDER_COMMENT = re.compile(
    rf"^{_ELLIPSIS}$"
    rf"|^\(?{_ELLIPSIS}\s*[(\[]?{_PLACEHOLDER_WORD}\b"
    rf"|\b{_TRAILING_WORD}\b[^.…]*{_ELLIPSIS}\)?$"
    r"|\brest of (?:the |your |this )?(?:code|file|function|method|class|implementation|body"
    r"|logic|module|component|tests?|cases?|lines?|program|script)\b"
    r"|\b(?:existing|remaining|other|previous|original|unchanged) (?:code|methods?|functions?"
    r"|logic|implementation|lines|cases|fields|properties|tests?|imports?|members)\b"
    r".*\b(?:unchanged|remains?|stays?|same|as (?:is|before)|here|omitted|goes here|go here)\b"
    r"|^\(?(?:unchanged|same as (?:before|above|original|the original)|no changes?(?: here)?"
    r"|omitted(?: for brevity)?)\)?\.?$"
    r"|\b(?:omitted|truncated|elided|skipped) for brevity\b"
    r"|\bkeep (?:the )?(?:rest|existing)\b",
    re.IGNORECASE,
)
_PLACEHOLDER_LINE = re.compile(
    rf"^[\[<({{]\s*{_ELLIPSIS}?\s*(?:rest|remaining|existing|other|previous|unchanged|same"
    rf"|code|more)\b[^\]>)}}]*[\]>)}}]$"
    rf"|^{_ELLIPSIS}$",
    re.IGNORECASE,
)


def _placeholders(block: str, python: bool) -> list[str]:
    found = []
    for line in normalize_newlines(block).split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        # A bare `...` is a statement in Python: the AST count judges it there.
        if _PLACEHOLDER_LINE.match(stripped) and not (python and stripped == "..."):
            found.append(stripped)
            continue
        comment = _COMMENT_BODY.search(stripped)
        if comment and _PLACEHOLDER_COMMENT.search(comment.group("body")):
            found.append(stripped)
    return found


def check_placeholders(ctx: CheckContext) -> str | None:
    """Lazy answers elide code ("# ... rest of the code"); applying them deletes it."""
    old = _placeholders(ctx.old_block, ctx.is_python)
    new = _placeholders(ctx.new_block, ctx.is_python)
    if len(new) > len(old):
        extra = next((line for line in new if line not in old), new[-1])
        return f"the answer leaves code out ({shorten(extra)})"
    if ctx.is_python and re.search(r"\.\.\.|\bpass\b", ctx.new_block):
        counts = _python_stub_count(ctx)
        if counts is not None and counts[1] > counts[0]:
            return "the answer replaces a function body with `...` or `pass`"
    return None


def _python_stub_count(ctx: CheckContext) -> tuple[int, int] | None:
    """(before, after) counts of functions whose body is only `...`/`pass`, plus stray `...`
    statements. Both blocks are parsed alone (dedented) when they can be, else both whole
    documents, so the two counts always cover the same ground; None when neither parses.
    Abstract methods, overloads and Protocol members are real stubs and do not count.
    """
    pairs = (
        (dedented(ctx.old_block), dedented(ctx.new_block)),
        (ctx.old_document, ctx.new_document),
    )
    for old_text, new_text in pairs:
        old, new = python_tree(old_text), python_tree(new_text)
        if old is not None and new is not None:
            return stub_count(old), stub_count(new)
    return None
