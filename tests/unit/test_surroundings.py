"""Cutting the document's own lines an answer repeats around its target (the enclosing
header, the code just above, the function after) — and nothing the model changed."""

from __future__ import annotations

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.pipeline.surroundings import cut_surroundings
from ladder_lsp.pipeline.target import Target, make_target

DOC = """\
class Cart:
    def __init__(self):
        self.items = []

    def total(self, items):
        t = 0
        for i in items:
            t += i.price
        return t

    def empty(self):
        return not self.items
"""
NEW_TOTAL = "    def total(self, items):\n        return sum(i.price for i in items)"


def total_target() -> Target:
    return make_target("file:///c.py", 1, split_lines(DOC), (4, 0), (9, 0))


def test_the_enclosing_header_repeated_verbatim_is_cut() -> None:
    code, cut = cut_surroundings(total_target(), f"class Cart:\n{NEW_TOTAL}")
    assert (code, cut) == (NEW_TOTAL, 1)


def test_the_lines_just_above_repeated_with_other_indentation_are_cut() -> None:
    answer = f"def __init__(self):\n    self.items = []\n\n{NEW_TOTAL}"
    assert cut_surroundings(total_target(), answer) == (NEW_TOTAL, 2)


def test_header_and_everything_between_repeated_is_cut() -> None:
    answer = f"class Cart:\n    def __init__(self):\n        self.items = []\n\n{NEW_TOTAL}"
    assert cut_surroundings(total_target(), answer) == (NEW_TOTAL, 3)


def test_the_next_method_copied_below_is_cut() -> None:
    answer = f"{NEW_TOTAL}\n\n    def empty(self):\n        return not self.items\n"
    assert cut_surroundings(total_target(), answer) == (NEW_TOTAL, 2)


def test_a_changed_header_is_not_cut() -> None:
    answer = f"class Cart(list):\n{NEW_TOTAL}"
    assert cut_surroundings(total_target(), answer) == (answer, 0)


def test_a_changed_next_method_is_not_cut() -> None:
    answer = f"{NEW_TOTAL}\n\n    def empty(self):\n        return len(self.items) == 0"
    assert cut_surroundings(total_target(), answer) == (answer, 0)


def test_skipping_a_sibling_method_is_not_the_documents_text() -> None:
    doc = DOC.replace("    def total", "    def add(self, x):\n        pass\n\n    def total")
    target = make_target("file:///c.py", 1, split_lines(doc), (7, 0), (12, 0))
    answer = f"class Cart:\n    def __init__(self):\n        self.items = []\n{NEW_TOTAL}"
    assert cut_surroundings(target, answer) == (answer, 0), "__init__ is not right above total"


def test_lines_that_are_also_in_the_selection_are_never_cut() -> None:
    doc = "x = 1\ny = 2\nx = 1\n"
    target = make_target("file:///c.py", 1, split_lines(doc), (2, 0), (3, 0))
    assert cut_surroundings(target, "x = 1") == ("x = 1", 0)


def test_an_answer_of_nothing_but_context_is_left_to_the_checks() -> None:
    answer = "class Cart:\n    def __init__(self):\n        self.items = []"
    assert cut_surroundings(total_target(), answer) == (answer, 0)


def test_an_enclosing_header_far_above_is_still_found() -> None:
    """The document is read upwards only as far as the answer needs, but as far as that."""
    methods = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(300))
    doc = f"class Big:\n{methods}    def total(self):\n        return 0\n"
    lines = split_lines(doc)
    target = make_target("file:///b.py", 1, lines, (len(lines) - 2, 0), (len(lines), 0))
    new = "    def total(self):\n        return 1"
    assert cut_surroundings(target, f"class Big:\n{new}") == (new, 1)
    assert cut_surroundings(target, f"class Other:\n{new}") == (f"class Other:\n{new}", 0)
