"""Refactor guards: public surface kept, nothing outside the target, no new findings."""

from __future__ import annotations

from typing import Any

import pytest

from ladder_lsp.pipeline.checks import refactor
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.runner import run_checks
from tests.unit.test_answer_set import judge

FENCE = "```"

CART = """\
import math
import os
from dataclasses import dataclass


@dataclass
class Item:
    price: float
    qty: int = 1


class Cart(list):
    def __init__(self):
        super().__init__()

    def total(self, items):
        t = 0
        for i in items:
            t = t + i.price * i.qty
        return t

    @property
    def empty(self):
        return not self

    def prices(self, rate=0.0):
        for item in self:
            yield item.price * (1 - rate)

    def lines(self):
        out = {}
        for item in self:
            out[item.price] = item.qty
        return out


def area(r):
    return math.pi * r * r


def home():
    return os.environ["HOME"]
"""
TOTAL = (16, 20)
EMPTY = (22, 24)
PRICES = (26, 28)
LINES = (30, 34)
AREA = (37, 38)


def run(lines: tuple[int, int], answer: str, source: str = CART, **extra: Any) -> tuple[str, ...]:
    case = {
        "action": extra.pop("action", "refactor"),
        "language": "python",
        "source": source,
        "lines": list(lines),
        "answer": f"{FENCE}python\n{answer}{FENCE}",
        **extra,
    }
    return judge(case)


# --- the real failure from the issue --------------------------------------------------


def test_issue_total_answer_is_rejected_for_dropping_self() -> None:
    """SmolLM2 returned a dedented `def total(items)` multiplying the item by its price."""
    answer = "def total(items):\n    return sum(item * item.price for item in items)\n"
    assert run(TOTAL, answer) == ("removed parameter `self` from `total`",)


def test_a_good_refactor_passes() -> None:
    answer = "def total(self, items):\n    return sum(i.price * i.qty for i in items)\n"
    assert run(TOTAL, answer) == ()


# --- surface --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "answer", "reason"),
    [
        (
            EMPTY,
            "def empty(self):\n    return not self\n",
            "removed decorator `@property` from `empty`",
        ),
        (
            EMPTY,
            "@property\n@staticmethod\ndef empty(self):\n    return not self\n",
            "added decorator `@staticmethod` to `empty`",
        ),
        (
            TOTAL,
            "async def total(self, items):\n    return sum(i.price * i.qty for i in items)\n",
            "made `total` async",
        ),
        (
            TOTAL,
            "def total(self, *, items):\n    return sum(i.price * i.qty for i in items)\n",
            "made parameter `items` of `total` keyword-only",
        ),
        (
            TOTAL,
            "def total(self, items, tax):\n    return sum(i.price * i.qty for i in items) * tax\n",
            "added required parameter `tax` to `total`",
        ),
        (
            TOTAL,
            "def total(self, items=()):\n    return sum(i.price * i.qty for i in items)\n",
            "added a default to parameter `items` of `total`",
        ),
        (
            PRICES,
            "def prices(self, rate):\n    for item in self:\n"
            "        yield item.price * (1 - rate)\n",
            "removed the default of parameter `rate` of `prices`",
        ),
        (
            PRICES,
            "def prices(self, rate=0.0):\n    return [i.price * (1 - rate) for i in self]\n",
            "`prices` is no longer a generator",
        ),
        (
            TOTAL,
            "def total(self, items):\n    self.last = sum(i.price * i.qty for i in items)\n",
            "`total` no longer returns a value",
        ),
        (
            LINES,
            "def lines(self):\n    return [(item.price, item.qty) for item in self]\n",
            "`lines` now returns a list instead of a dict",
        ),
        (
            TOTAL,
            "def grand_total(self, items):\n    return sum(i.price * i.qty for i in items)\n",
            "removed or renamed function `total`",
        ),
    ],
)
def test_surface_changes_are_named(lines: tuple[int, int], answer: str, reason: str) -> None:
    reasons = run(lines, answer)
    assert any(reason in r for r in reasons), reasons


def test_class_bases_and_keywords() -> None:
    source = "class Stack(list, metaclass=Meta):\n    def peek(self):\n        return self[-1]\n"
    reasons = run(
        (1, 3), "class Stack(list):\n    def peek(self):\n        return self[-1]\n", source
    )
    assert "changed the bases of class `Stack`" in reasons[0]


def test_parameter_order() -> None:
    source = "def clamp(value, low, high):\n    return max(low, min(value, high))\n"
    answer = "def clamp(low, high, value):\n    return max(low, min(value, high))\n"
    assert run((1, 2), answer, source) == ("reordered the parameters of `clamp`",)


def test_returning_the_same_kind_and_unknown_kinds_pass() -> None:
    answer = "def lines(self):\n    return {item.price: item.qty for item in self}\n"
    assert run(LINES, answer) == ()
    answer = "def total(self, items):\n    return round(sum(i.price * i.qty for i in items), 2)\n"
    assert run(TOTAL, answer) == ()  # a behaviour change no static guard can see


def test_helpers_may_be_extracted() -> None:
    answer = (
        "def total(self, items):\n    return sum(self._line(i) for i in items)\n\n"
        "@staticmethod\ndef _line(item):\n    return item.price * item.qty\n"
    )
    assert run(TOTAL, answer) == ()


def test_a_piece_of_a_body_must_keep_the_return() -> None:
    answer = "for i in items:\n    t = t + i.price * i.qty\n"  # the loop, without `return t`
    assert run((18, 20), answer) == ("`total` no longer returns a value",)


def test_custom_prompt_may_allow_surface_changes() -> None:
    answer = "def total(self, lines):\n    return sum(i.price * i.qty for i in lines)\n"
    rename = {"action": "rename", "custom_prompt": "Rename the parameters to clearer names"}
    assert run(TOTAL, answer, **rename) == ()
    hints = {"action": "hints", "custom_prompt": "Add type hints to {code}"}
    assert run(TOTAL, answer, **hints)[0].startswith("removed parameter `items` from `total`")
    # even a prompt that allows renames does not allow undefined names
    broken = "def total(self, lines):\n    return sum(i.price * i.qty for i in items)\n"
    assert run(TOTAL, broken, **rename) == ("new undefined name `items`",)


# --- outside the target ---------------------------------------------------------------


def test_changes_outside_the_block_are_caught() -> None:
    old_doc = "a = 1\nb = 2\n\ndef f():\n    return a\n\nc = 3\n"
    block = "def f():\n    return a\n"
    new_block = "def f():\n    return b\n"
    new_doc = old_doc.replace("c = 3", "c = 4").replace(block, new_block)
    ctx = CheckContext("refactor", "python", old_doc, new_doc, block, new_block)
    assert refactor.check_outside_unchanged(ctx) == "changed code outside the selection: line 7"
    new_doc = old_doc.replace("a = 1", "a = 0").replace(block, new_block)
    ctx = CheckContext("refactor", "python", old_doc, new_doc, block, new_block)
    assert refactor.check_outside_unchanged(ctx) == "changed code outside the selection: line 1"
    good = CheckContext(
        "refactor", "python", old_doc, old_doc.replace(block, new_block), block, new_block
    )
    assert refactor.check_outside_unchanged(good) is None


def test_code_that_runs_on_import_is_caught() -> None:
    answer = (
        "def total(self, items):\n    return sum(i.price * i.qty for i in items)\nprint(total)\n"
    )
    reasons = run(TOTAL, answer)
    assert reasons == ("adds code that runs on import: `print(total)` (line 18)",)


# --- pyflakes findings ----------------------------------------------------------------


def test_new_undefined_name() -> None:
    answer = "def area(r):\n    return pi * r * r\n"
    assert run(AREA, answer) == ("new undefined name `pi`; new unused import `math`",)


def test_module_names_defined_elsewhere_are_not_undefined() -> None:
    answer = "def area(r):\n    return math.pi * r * r + len(Cart()) * Item(0).qty * home()\n"
    assert run(AREA, answer) == ()


def test_removing_the_last_use_of_an_import_is_caught() -> None:
    assert run(AREA, "def area(r):\n    return 3.14159 * r * r\n") == ("new unused import `math`",)


def test_an_import_still_used_elsewhere_is_fine() -> None:
    source = CART + "\n\ndef tau():\n    return 2 * math.pi\n"
    assert run(AREA, "def area(r):\n    return 3.14159 * r * r\n", source) == ()


def test_new_unused_import_and_variable_in_the_block() -> None:
    answer = "def area(r):\n    import sys\n    unused = 2\n    return math.pi * r * r\n"
    assert run(AREA, answer) == ("new unused import `sys`; new unused variable `unused`",)


def test_redefinition_in_the_block() -> None:
    answer = "def area(r):\n    return math.pi * r * r\n\n\ndef area(r):\n    return r\n"
    reasons = run(AREA, answer)
    assert any("redefines `area`" in r for r in reasons), reasons


def test_findings_already_there_do_not_count() -> None:
    source = "def f():\n    return missing + 1\n"
    assert run((1, 2), "def f():\n    return 1 + missing\n", source) == ()


def test_star_imports_make_every_name_possible() -> None:
    source = "from os.path import *\n\n\ndef f(p):\n    return p\n"
    assert run((4, 5), "def f(p):\n    return join(p, 'x')\n", source) == ()


@pytest.mark.parametrize(
    "prelude",
    [
        "try:\n    import json\nexcept ImportError:\n    json = None\n",
        "if True:\n    from json import dumps as json\n",
        "from json import (\n    loads,\n    dumps as json,\n)\n",
        "json, other = 1, 2\n",
        "def setup():\n    global json\n    json = 1\n",
        "for json in range(3):\n    pass\n",
    ],
)
def test_module_level_bindings_are_found(prelude: str) -> None:
    source = prelude + "\n\ndef f(x):\n    return x\n"
    start = source.count("\n") - 1
    assert run((start, start + 1), "def f(x):\n    return json or x\n", source) == ()


# --- units ----------------------------------------------------------------------------


def _ctx(source: str, block: str, new_block: str) -> CheckContext:
    return CheckContext(
        "refactor", "python", source, source.replace(block, new_block), block, new_block
    )


def test_unit_of_a_method_is_class_header_filler_and_method() -> None:
    block = "    def total(self, items):\n" + "".join(CART.splitlines(True)[16:20])
    unit = _ctx(CART, block, block.replace("t = 0", "t = 0.0")).unit
    assert unit is not None and not unit.whole
    assert unit.old_text.startswith("''\nclass Cart(list):\n    pass\n    def total(self, items):")
    assert unit.new_doc_line(4) == 16


def test_unit_of_a_body_piece_is_the_whole_function() -> None:
    block = "        for i in items:\n            t = t + i.price * i.qty\n"
    unit = _ctx(CART, block, block.replace("t + ", "t +")).unit
    assert unit is not None
    assert "    def total(self, items):\n        t = 0\n" in unit.old_text
    assert "def empty" not in unit.old_text


def test_column_zero_text_in_a_string_falls_back_to_whole_documents() -> None:
    source = 'def f():\n    s = """\nnot code\n"""\n    return s\n\n\ndef g():\n    return 1\n'
    block = "    return s\n"
    unit = _ctx(source, block, "    return s.strip()\n").unit
    assert unit is not None and unit.whole
    reasons = run((5, 5), "    return t\n", source)
    assert reasons == ("new undefined name `t`; new unused variable `s`",)


def test_crlf_and_tabs() -> None:
    source = "def f(x):\r\n\tif x:\r\n\t\treturn 1\r\n\treturn 2\r\n"
    assert run((1, 4), "def f(x):\n\treturn 1 if x else 2\n", source) == ()
    assert run((1, 4), "def f(y):\n\treturn 1 if y else 2\n", source)[0].startswith(
        "removed parameter `x`"
    )


def test_guards_never_raise_on_odd_input() -> None:
    odd = [
        CheckContext("refactor", "python", "", "", "", ""),
        CheckContext(
            "refactor", "python", "def f(:\n", "def f(:\n  x\n", "def f(:\n", "def f(:\n  x\n"
        ),
        CheckContext("refactor", "python", "x = 1\n", "y = 2\n", "z\n", "w\n"),
        CheckContext(
            "refactor", "python", "class A:\n", "class A:\n  def", "class A:\n", "class A:\n  def"
        ),
        CheckContext("refactor", "python", "@d\n", "@e\n", "@d\n", "@e\n"),
        CheckContext("fix", "python", "\t\t\n", " \n", "\t\t\n", " \n", diagnostics=("E999",)),
    ]
    for ctx in odd:
        assert not any(r.startswith("internal error") for r in run_checks(ctx)), ctx
