"""Tree-sitter, offline: the grammar of a served language, a parse, and its errors.

Grammars come from the per-language wheels (`tree-sitter-python`, …, named in
`languages.LANGUAGES`), never from `tree-sitter-language-pack`, which downloads grammars at
run time and fails offline. Line numbers are 0-based LSP lines.
"""

from __future__ import annotations

import functools
import importlib

import tree_sitter

from ladder_lsp.analysis import languages


@functools.cache
def grammar_for(language_id: str) -> tree_sitter.Language | None:
    """The grammar for an LSP languageId, or None when unknown or its wheel is missing."""
    spec = languages.grammar(language_id)
    if spec is None:
        return None
    try:
        module = importlib.import_module(spec.module)
        return tree_sitter.Language(getattr(module, spec.function)())
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


def parse(language_id: str, text: str) -> tree_sitter.Tree | None:
    """A tree-sitter tree, or None for languages without a grammar.

    A fresh parser per call: parsers are cheap and not safe to share across threads.
    """
    language = grammar_for(language_id)
    if language is None:
        return None
    return tree_sitter.Parser(language).parse(text.encode("utf-8", "surrogatepass"))


def error_count(language_id: str, text: str) -> int | None:
    """ERROR regions plus MISSING nodes; None when the language has no grammar.

    Only subtrees flagged `has_error` are visited, so clean files cost one check. A nested
    ERROR inside an ERROR is the same mistake, so it is counted once.
    """
    tree = parse(language_id, text)
    if tree is None:
        return None
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_missing:
            count += 1
            continue
        if node.is_error:
            count += 1
            continue
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return count


def first_error_line(language_id: str, text: str) -> int | None:
    """0-based line of the first ERROR or MISSING node, for a message the user can act on."""
    tree = parse(language_id, text)
    if tree is None or not tree.root_node.has_error:
        return None
    node = tree.root_node
    while True:
        if node.is_error or node.is_missing:
            return int(node.start_point.row)
        culprit = next((c for c in node.children if c.has_error or c.is_missing), None)
        if culprit is None:
            return int(node.start_point.row)
        node = culprit
