"""Fitting code into a document: targets, re-indentation, minimal edits, rebasing, diffs."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_lsp.analysis.text import TAB_WIDTH, indent_width, split_lines
from ladder_lsp.pipeline.edits import (
    LineEdit,
    apply_line_edits,
    edit_range,
    edits_for,
    minimal_edits,
    unified_diff,
)
from ladder_lsp.pipeline.rebase import carry, rebase, shift_edits
from ladder_lsp.pipeline.reindent import build_block
from ladder_lsp.pipeline.target import Target, line_content, line_ending, make_target

CLASS_DOC = """\
class Cart:
    def total(self):
        result = 0
        for item in self.items:
            result += item.price
        return result

    def count(self):
        return len(self.items)
"""


def doc_lines(text: str) -> tuple[str, ...]:
    return tuple(split_lines(text))


def apply(target: Target, code: str) -> str:
    return "".join(apply_line_edits(target.lines, edits_for(target, code)))


# --- targets ---------------------------------------------------------------------------


def test_split_lines_only_splits_where_lsp_does() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
    assert split_lines("page\x0cbreak\u2028same line\n") == ["page\x0cbreak\u2028same line\n"]
    assert split_lines("") == []


def test_end_at_column_zero_excludes_that_line() -> None:
    target = make_target("file:///c.py", 3, doc_lines(CLASS_DOC), (1, 0), (6, 0))
    assert (target.start_line, target.end_line) == (1, 6)
    assert target.prefix == target.suffix == ""
    assert target.selected_text.startswith("    def total(self):\n")
    assert target.selected_text.endswith("        return result")
    assert target.version == 3


def test_partial_selection_keeps_prefix_and_suffix() -> None:
    lines = doc_lines("x = compute(a, b)  # keep\n")
    target = make_target("u", 1, lines, (0, 4), (0, 17))
    assert target.prefix == "x = "
    assert target.suffix == "  # keep"
    assert target.selected_text == "compute(a, b)"
    assert target.block_text == "x = compute(a, b)  # keep\n"


def test_reversed_and_out_of_range_positions_are_clamped() -> None:
    lines = doc_lines("a = 1\nb = 2")
    target = make_target("u", None, lines, (99, 5), (-3, 7))
    assert (target.start_line, target.end_line) == (0, 2)
    assert target.prefix == "" and target.suffix == ""
    assert target.selected_text == "a = 1\nb = 2"
    assert make_target("u", 1, lines, (1, 99), (1, 99)).prefix == "b = 2"


def test_empty_document() -> None:
    target = make_target("u", 1, (), (0, 0), (0, 0))
    assert (target.start_line, target.end_line, target.selected_text) == (0, 0, "")
    assert build_block(target, "print('hi')") == ["print('hi')"]


def test_dominant_line_ending() -> None:
    assert make_target("u", 1, doc_lines("a\r\nb\r\nc\n"), (0, 0), (0, 0)).eol == "\r\n"
    assert make_target("u", 1, doc_lines("one line"), (0, 0), (0, 0)).eol == "\n"


# --- build_block ------------------------------------------------------------------------

METHOD_NEW = "        return sum(item.price for item in self.items)\n"


@pytest.mark.parametrize(
    "code",
    [
        "def total(self):\n    return sum(item.price for item in self.items)",  # dedented
        "    def total(self):\n        return sum(item.price for item in self.items)",  # as is
        "            def total(self):\n"
        "                return sum(item.price for item in self.items)",  # over-indented
        "def total(self):\n\treturn sum(item.price for item in self.items)",  # tabs
        "\n\ndef total(self):\n    return sum(item.price for item in self.items)\n\n",
    ],
    ids=["dedented", "same", "over-indented", "tabs-in-spaces-file", "blank-edges"],
)
def test_reindents_into_a_method(code: str) -> None:
    target = make_target("u", 1, doc_lines(CLASS_DOC), (1, 0), (6, 0))
    assert build_block(target, code) == ["    def total(self):\n", METHOD_NEW]


def test_selection_starting_after_indentation_with_echoed_shape() -> None:
    # The model saw "def total(self):" bare and the body fully indented, and kept that.
    target = make_target("u", 1, doc_lines(CLASS_DOC), (1, 4), (5, 21))
    assert target.prefix == "    "
    echoed = "def total(self):\n        return sum(item.price for item in self.items)"
    dedented = "def total(self):\n    return sum(item.price for item in self.items)"
    expected = ["    def total(self):\n", METHOD_NEW]
    assert build_block(target, echoed) == expected
    assert build_block(target, dedented) == expected


def test_selection_whose_first_line_is_deeper_than_a_later_one() -> None:
    doc = "def f(x):\n    if x:\n        y = 1\n    return y\n"
    target = make_target("u", 1, doc_lines(doc), (2, 0), (4, 0))
    assert build_block(target, "    y = 2\nreturn y * 2") == [
        "        y = 2\n",
        "    return y * 2\n",
    ]


def test_tabs_file_gets_tabs_from_a_spaces_answer() -> None:
    doc = "func Add(a, b int) int {\n\tvar c = a + b\n\treturn c\n}\n"
    target = make_target("u", 1, doc_lines(doc), (0, 0), (4, 0))
    code = "func Add(a, b int) int {\n    if a == 0 {\n        return b\n    }\n    return a + b\n}"
    assert build_block(target, code) == [
        "func Add(a, b int) int {\n",
        "\tif a == 0 {\n",
        "\t\treturn b\n",
        "\t}\n",
        "\treturn a + b\n",
        "}\n",
    ]


def test_two_space_file_converts_a_four_space_answer() -> None:
    doc = "function f(xs) {\n  let s = 0;\n  for (const x of xs) {\n    s += x;\n  }\n"
    doc += "  return s;\n}\n"
    target = make_target("u", 1, doc_lines(doc), (0, 0), (7, 0))
    code = "function f(xs) {\n    if (!xs) {\n        return 0;\n    }\n    return xs.length;\n}"
    assert build_block(target, code) == [
        "function f(xs) {\n",
        "  if (!xs) {\n",
        "    return 0;\n",
        "  }\n",
        "  return xs.length;\n",
        "}\n",
    ]


def test_crlf_document_gets_crlf() -> None:
    doc = "def f():\r\n    a = 1\r\n    return a\r\n"
    target = make_target("u", 1, doc_lines(doc), (1, 0), (3, 0))
    assert build_block(target, "a = 2\r\nreturn a") == ["    a = 2\r\n", "    return a\r\n"]
    assert apply(target, "a = 2\nreturn a") == "def f():\r\n    a = 2\r\n    return a\r\n"


def test_last_line_without_newline_stays_without() -> None:
    doc = "x = 1\ny = 2"
    target = make_target("u", 1, doc_lines(doc), (1, 0), (1, 5))
    assert build_block(target, "y = 3\nz = 4\n") == ["y = 3\n", "z = 4"]
    assert apply(target, "y = 3\nz = 4\n") == "x = 1\ny = 3\nz = 4"


def test_partial_line_selection_inserts_between_prefix_and_suffix() -> None:
    doc = "    total = compute(a, b)  # cached\n"
    target = make_target("u", 1, doc_lines(doc), (0, 12), (0, 25))
    assert build_block(target, "compute_fast(b, a)") == [
        "    total = compute_fast(b, a)  # cached\n"
    ]


def test_non_ascii_text_before_selection() -> None:
    doc = "naïve = «café»; x = 1\nother = 2\n"
    start = doc.index("x = 1")
    target = make_target("u", 1, doc_lines(doc), (0, start), (0, start + 5))
    assert target.prefix == "naïve = «café»; "
    assert target.selected_text == "x = 1"
    assert apply(target, "x = 2") == "naïve = «café»; x = 2\nother = 2\n"


def test_blank_lines_carry_no_whitespace_and_edge_blanks_are_kept() -> None:
    doc = "class A:\n\n    def f(self):\n        return 1\n\n    def g(self): ...\n"
    target = make_target("u", 1, doc_lines(doc), (1, 0), (5, 0))  # blank, f, blank
    code = "def f(self):\n    x = 1\n    \n    return x"
    assert build_block(target, code) == [
        "\n",
        "    def f(self):\n",
        "        x = 1\n",
        "\n",
        "        return x\n",
        "\n",
    ]


def test_empty_code_deletes_whole_lines() -> None:
    doc = "import os\nimport sys\n"
    target = make_target("u", 1, doc_lines(doc), (0, 0), (1, 0))
    assert build_block(target, "") == []
    assert apply(target, "") == "import sys\n"


# --- minimal edits ----------------------------------------------------------------------


def test_one_changed_line_in_forty_is_one_small_edit() -> None:
    old = [f"    line_{i} = {i}\n" for i in range(40)]
    new = list(old)
    new[17] = "    line_17 = 1700\n"
    edits = minimal_edits(old, new, first_line=100)
    assert edits == [LineEdit(117, 118, ("    line_17 = 1700\n",))]


def test_insertion_and_deletion_edits() -> None:
    old = ["a\n", "b\n", "c\n", "d\n"]
    new = ["a\n", "b\n", "x\n", "c\n"]
    edits = minimal_edits(old, new, first_line=10)
    assert edits == [LineEdit(12, 12, ("x\n",)), LineEdit(13, 14, ())]
    document = ["head\n"] * 10 + old
    assert apply_line_edits(document, edits)[10:] == new


def test_edits_for_method_touch_only_changed_lines() -> None:
    target = make_target("u", 1, doc_lines(CLASS_DOC), (1, 0), (6, 0))
    code = (
        "def total(self):\n    result = 0\n    for item in self.items:\n"
        "        result += item.price * item.qty\n    return result"
    )
    assert edits_for(target, code) == [
        LineEdit(4, 5, ("            result += item.price * item.qty\n",))
    ]


def test_apply_rejects_overlapping_and_out_of_range_edits() -> None:
    lines = ["a\n", "b\n", "c\n"]
    with pytest.raises(ValueError, match="overlapping"):
        apply_line_edits(lines, [LineEdit(0, 2, ()), LineEdit(1, 3, ())])
    with pytest.raises(ValueError, match="outside"):
        apply_line_edits(lines, [LineEdit(2, 5, ())])


def test_edit_range_at_eof_without_newline() -> None:
    lines = ["a\n", "b"]
    assert edit_range(lines, LineEdit(1, 2, ("c",))) == ((1, 0), (1, 1), "c")
    assert edit_range(lines, LineEdit(2, 2, ("d\n",))) == ((1, 1), (1, 1), "\nd")
    assert edit_range(["a\n", "b\n"], LineEdit(0, 1, ("x\n",))) == ((0, 0), (1, 0), "x\n")


# --- byte-order mark --------------------------------------------------------------------

BOM_DOC = "\ufeffimport os\nimport sys\n\n\ndef main():\n    return os.getcwd()\n"


@pytest.mark.parametrize("answer_bom", ["", "\ufeff"], ids=["plain answer", "echoed BOM"])
def test_an_edit_of_line_one_keeps_the_bom(answer_bom: str) -> None:
    target = make_target("u", 1, doc_lines(BOM_DOC), (0, 0), (2, 0))
    assert target.selected_text == "import os\nimport sys"  # the mark is not sent as code
    result = apply(target, f"{answer_bom}import os\nimport sys  # noqa")
    assert result == BOM_DOC.replace("import sys", "import sys  # noqa")
    assert edits_for(target, "import sys\nimport os") == [
        LineEdit(0, 2, ("\ufeffimport sys\n", "import os\n"))
    ]


def test_a_partial_first_line_and_a_deleted_first_line_keep_the_bom() -> None:
    target = make_target("u", 1, doc_lines(BOM_DOC), (0, 8), (0, 10))  # the BOM is a column
    assert target.selected_text == "os"
    assert apply(target, "pathlib") == BOM_DOC.replace("import os", "import pathlib")
    first = make_target("u", 1, doc_lines(BOM_DOC), (0, 0), (1, 0))
    assert apply(first, "").startswith("\ufeffimport sys\n")


def test_indented_code_on_line_one_of_a_bom_file_is_reindented() -> None:
    lines = doc_lines("\ufeff    x = 1\n    y = 2\n")
    target = make_target("u", 1, lines, (0, 0), (2, 0))
    assert apply(target, "x = 10\ny = 2") == "\ufeff    x = 10\n    y = 2\n"


# --- rebase -----------------------------------------------------------------------------


def method_target() -> Target:
    return make_target("u", 1, doc_lines(CLASS_DOC), (1, 0), (6, 0))


def test_rebase_typing_above_shifts() -> None:
    target = method_target()
    current = ["import math\n", "import os\n", *target.lines]
    offset = rebase(target, current)
    assert offset == 2
    edits = shift_edits(edits_for(target, "def total(self):\n    return 0"), offset)
    result = apply_line_edits(current, edits)
    assert result[:3] == ["import math\n", "import os\n", "class Cart:\n"]
    assert result[3:5] == ["    def total(self):\n", "        return 0\n"]


def test_rebase_typing_inside_refuses() -> None:
    target = method_target()
    current = list(target.lines)
    current[3] = "        for item in self.items:  # loop\n"
    assert rebase(target, current) is None
    inserted = list(target.lines)
    inserted.insert(3, "        print('debug')\n")
    assert rebase(target, inserted) is None


def test_rebase_typing_below_keeps_offset_zero() -> None:
    target = method_target()
    current = [*target.lines, "\n", "    def empty(self):\n", "        return not self.items\n"]
    assert rebase(target, current) == 0
    current = list(target.lines)
    current[8] = "        return len(self.items) or 0\n"
    assert rebase(target, current) == 0


def test_rebase_changes_above_and_below() -> None:
    target = method_target()
    current = list(target.lines)
    current[0] = "class ShoppingCart:\n"
    del current[8]  # below
    current.insert(0, "# header\n")
    assert rebase(target, current) == 1


def test_rebase_unchanged_and_deleted_lines_above() -> None:
    target = make_target("u", 1, doc_lines("a\nb\nc\nd\n"), (2, 0), (3, 0))
    assert rebase(target, list(target.lines)) == 0
    assert rebase(target, ["b\n", "c\n", "d\n"]) == -1
    assert rebase(target, ["a\n", "b\n", "d\n"]) is None


def test_rebase_duplicate_line_inserted_right_above() -> None:
    # Inserting a copy of the target's first line above it is ambiguous; text decides.
    target = make_target("u", 1, doc_lines("x\nb\nc\ny\n"), (1, 0), (3, 0))
    assert rebase(target, ["x\n", "b\n", "b\n", "c\n", "y\n"]) == 1


# --- carry: edits onto what the user has now ----------------------------------------------

SUM_LINE = "result = sum(item.price for item in self.items)"
SUM_BODY = f"def total(self):\n    {SUM_LINE}\n    return result"
ONE_LINER = "def total(self):\n    return sum(item.price for item in self.items)"


def typed_at_end_of_last_line(target: Target, text: str = "  # keep me") -> list[str]:
    current = list(target.lines)
    last = target.end_line - 1
    current[last] = line_content(current[last]) + text + "\n"
    return current


def test_typing_after_a_whole_line_selection_keeps_the_typed_text() -> None:
    target = method_target()
    current = typed_at_end_of_last_line(target)
    edits = edits_for(target, SUM_BODY)
    assert rebase(target, current) is None  # an offset alone would overwrite the typing
    carried = carry(target, edits, current)
    assert carried is not None
    result = "".join(apply_line_edits(current, carried))
    assert result == CLASS_DOC.replace(
        "        result = 0\n        for item in self.items:\n            result += item.price\n"
        "        return result\n",
        f"        {SUM_LINE}\n        return result  # keep me\n",
    )
    assert all(e.end_line <= 5 for e in carried)  # the typed line is not even touched


def test_typing_after_a_rewritten_last_line_stays_after_the_new_code() -> None:
    target = method_target()
    current = typed_at_end_of_last_line(target)
    carried = carry(target, edits_for(target, ONE_LINER), current)
    assert carried is not None
    result = apply_line_edits(current, carried)
    assert result[1:3] == [
        "    def total(self):\n",
        "        return sum(item.price for item in self.items)  # keep me\n",
    ]
    assert result[3:] == list(target.lines[6:])


def test_typing_after_a_selection_that_ends_mid_line() -> None:
    lines = doc_lines("def f(a, b):\n    return compute(a, b)\n")
    target = make_target("u", 1, lines, (1, 19), (1, 20))  # the second `a`
    assert (target.selected_text, target.suffix) == ("a", ", b)")
    for typed, after in [
        ("    return compute(a, b, c)\n", "    return compute(alpha, b, c)\n"),
        ("    return compute(a)\n", "    return compute(alpha)\n"),  # deleted after it
        ("    return compute(a, b)  # hi\n", "    return compute(alpha, b)  # hi\n"),
    ]:
        current = [lines[0], typed]
        carried = carry(target, edits_for(target, "alpha"), current)
        assert carried is not None, typed
        assert apply_line_edits(current, carried) == [lines[0], after]


def test_typing_above_and_after_the_selection_at_once() -> None:
    target = method_target()
    current = ["import math\n", *typed_at_end_of_last_line(target)]
    carried = carry(target, edits_for(target, ONE_LINER), current)
    assert carried is not None
    result = apply_line_edits(current, carried)
    assert result[0] == "import math\n"
    assert result[3] == "        return sum(item.price for item in self.items)  # keep me\n"


def test_carry_refuses_typing_in_the_code_under_work() -> None:
    target = method_target()
    edits = edits_for(target, ONE_LINER)
    inside = list(target.lines)
    inside[5] = "        return  result\n"  # before the selection's end
    assert carry(target, edits, inside) is None
    split = list(target.lines)
    split[5:6] = ["        return result\n", "  # typed\n"]  # Enter: a new line below is fine
    assert carry(target, edits, split) is not None
    first = typed_at_end_of_last_line(target)
    first[2] = "        result = 1\n"
    assert carry(target, edits, first) is None
    crlf = list(target.lines)
    crlf[5] = "        return result\r\n"
    assert carry(target, edits, crlf) is None
    deleted = carry(target, edits_for(target, ""), typed_at_end_of_last_line(target))
    assert deleted is None  # the new code has no line to keep the typing on


def test_carry_of_an_untouched_document_shifts_like_rebase() -> None:
    target = method_target()
    edits = edits_for(target, ONE_LINER)
    assert carry(target, edits, list(target.lines)) == edits
    above = ["# header\n", *target.lines]
    assert carry(target, edits, above) == shift_edits(edits, 1)


# --- unified diff -----------------------------------------------------------------------


def test_unified_diff_marks_missing_newline() -> None:
    diff = unified_diff("src/a.py", ["x = 1\n", "y = 2"], ["x = 1\n", "y = 3"])
    assert diff.splitlines() == [
        "--- a/src/a.py",
        "+++ b/src/a.py",
        "@@ -1,2 +1,2 @@",
        " x = 1",
        "-y = 2",
        "\\ No newline at end of file",
        "+y = 3",
        "\\ No newline at end of file",
    ]
    assert unified_diff("a.py", ["same\n"], ["same\n"]) == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["x\n", "x\r\n", "x\r", "x", "\n", "\r\n"]), max_size=12))
def test_the_dominant_line_ending_is_the_most_common_and_ties_go_to_the_first(
    pieces: list[str],
) -> None:
    """`Target.eol` counts in the joined text; the rule it keeps, counted line by line."""
    lines = split_lines("".join(pieces))
    counts = collections.Counter(e for e in map(line_ending, lines) if e)
    expected = counts.most_common(1)[0][0] if counts else "\n"
    assert make_target("u", 1, lines, (0, 0), (0, 0)).eol == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=[" ", "\t", "x", "\n"], max_size=12))
def test_indent_width_counts_columns_with_tab_stops(line: str) -> None:
    width = 0
    for char in line:  # the rule, char by char: a tab moves to the next multiple of TAB_WIDTH
        if char not in " \t":
            break
        width = width + 1 if char == " " else (width // TAB_WIDTH + 1) * TAB_WIDTH
    assert indent_width(line) == width
