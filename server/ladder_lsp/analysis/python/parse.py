"""Parsing and compiling Python text, cached: every check and guard asks about the same few
texts (the unit around the block, the blocks alone, the whole documents), so each is parsed
once per version.
"""

from __future__ import annotations

import ast
import functools
import warnings

SMALL_TEXT = 20_000  # characters; trees of whole big documents are tens of MB: cache few


def parse(text: str) -> ast.Module | None:
    """The tree of `text`, or None when it does not parse. Cached: guards share trees."""
    return _parse_small(text) if len(text) <= SMALL_TEXT else _parse_large(text)


@functools.lru_cache(maxsize=32)
def _parse_small(text: str) -> ast.Module | None:
    return _parse(text)


@functools.lru_cache(maxsize=2)
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
def compile_error(text: str) -> tuple[int, str] | None:
    """(1-based line, message) when `text` does not compile (parse or compile time)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<ladder>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return int(exc.lineno or 1), str(exc.msg)
    except (ValueError, MemoryError, RecursionError) as exc:
        return 1, str(exc)
    return None
