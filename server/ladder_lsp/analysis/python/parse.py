"""Parsing and compiling Python text, cached once for every check and guard: they ask about
the same few texts (the unit around the block, the blocks alone, the whole documents), and
retries of one request about the same old document, so each is parsed once.
"""

from __future__ import annotations

import ast
import functools
import textwrap
import warnings

SMALL_TEXT = 20_000  # characters; trees of whole big documents are tens of MB: cache few
LARGE_TREES = 4  # both documents, in the newline forms the checks and the guards read


def parse(text: str) -> ast.Module | None:
    """The tree of `text`, or None when it does not parse."""
    return _parse_small(text) if len(text) <= SMALL_TEXT else _parse_large(text)


@functools.lru_cache(maxsize=32)
def _parse_small(text: str) -> ast.Module | None:
    return _parse(text)


@functools.lru_cache(maxsize=LARGE_TREES)
def _parse_large(text: str) -> ast.Module | None:
    return _parse(text)


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


@functools.lru_cache(maxsize=32)
def parse_dedented(block: str) -> ast.Module | None:
    """The tree of a block cut from inside a definition, dedented first (None when it does
    not parse): listing's definition finder and its score read the same block on each cursor
    move, and parse it once."""
    return _parse(textwrap.dedent(block))


@functools.lru_cache(maxsize=32)
def compile_error(text: str) -> tuple[int | None, str] | None:
    """(1-based line, message) when `text` does not compile (parse or compile time); the line
    is None when the compiler names none (null bytes, nesting too deep). Compiling catches
    what parsing accepts (`return` outside a function after a bad re-indent) and costs less
    than `ast.parse`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<ladder>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc.lineno, str(exc.msg)
    except (ValueError, MemoryError, RecursionError) as exc:
        return None, str(exc)
    return None
