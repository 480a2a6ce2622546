"""The definition around an empty cursor: right block, decorators included, cheap fallbacks."""

from __future__ import annotations

from ladder_lsp.analysis.regions import RegionFinder, python_definition_at
from ladder_lsp.analysis.text import split_lines

SOURCE = '''\
import functools


class Cart:
    """A cart."""

    @functools.cache
    def total(
        self,
        items,
    ):
        t = 0

        for i in items:
            t += i.price
        return t

    def empty(self):
        return not self.items


def helper(x):
    text = """
not code, at column zero
"""
    return text * x
'''


def test_method_with_decorator_and_multiline_signature() -> None:
    lines = split_lines(SOURCE)
    assert python_definition_at(lines, 14) == (6, 16)
    assert python_definition_at(lines, 7) == (6, 16), "cursor on the header itself"


def test_cursor_on_class_body_line_gets_the_class() -> None:
    lines = split_lines(SOURCE)
    assert python_definition_at(lines, 4) == (3, 19)


def test_dedented_string_falls_back_to_a_full_parse() -> None:
    lines = split_lines(SOURCE)
    assert python_definition_at(lines, 25) is None, "unsure: the local scan gives up"
    assert RegionFinder().enclosing("u", 1, "python", lines, 25) == (21, 26)


def test_outside_any_definition() -> None:
    lines = split_lines(SOURCE)
    assert RegionFinder().enclosing("u", 1, "python", lines, 0) is None


def test_other_languages_parse_once_per_version() -> None:
    js = "function a() {\n  return 1;\n}\n\nconst b = () => {\n  return 2;\n};\n"
    finder = RegionFinder()
    lines = split_lines(js)
    assert finder.enclosing("u", 1, "javascript", lines, 1) == (0, 3)
    assert finder.enclosing("u", 1, "javascript", lines, 5) == (4, 7)
    assert len(finder._parsed) == 1


def test_listing_parses_the_block_around_the_cursor_once() -> None:
    """The definition finder and the score read the same block: the second read is a hit,
    and a block that changed is parsed afresh."""
    from ladder_lsp.analysis.python.parse import parse_dedented
    from ladder_lsp.engine.actions import BUILTIN
    from ladder_lsp.engine.routing import _python_parts, score

    lines = split_lines(SOURCE)
    line = next(i for i, text in enumerate(lines) if "return not self.items" in text)
    found = python_definition_at(lines, line)
    assert found is not None
    block = "".join(lines[found[0] : found[1]])
    parse_dedented.cache_clear()
    _python_parts.cache_clear()
    python_definition_at(lines, line)
    score(BUILTIN[0], block, "python")
    assert (parse_dedented.cache_info().hits, parse_dedented.cache_info().misses) == (1, 1)
    changed = block.replace("not self.items", "len(self.items) == 0")
    assert parse_dedented(changed) is not None
    assert parse_dedented.cache_info().misses == 2
