"""Where the edited block sits: `in_place` (built from the run's own lines) agrees with
`locate` (found in the joined documents), and declines what only `locate` can answer."""

from __future__ import annotations

import itertools

import pytest

from ladder_lsp.analysis.python.location import in_place, locate
from ladder_lsp.analysis.text import split_lines

DOC = split_lines("import os\n\n\ndef f(x):\n    return x\n\n\ndef g():\n    pass\n")


def joined(lines: tuple[str, ...] | list[str], start: int, end: int, new: list[str]) -> str:
    return "".join((*lines[:start], *new, *lines[end:]))


@pytest.mark.parametrize(
    ("start", "end", "new"),
    [
        (3, 5, ["def f(x):\n", "    return x + 1\n"]),
        (3, 5, ["def f(x):\n", "    y = x\n", "    return y\n"]),
        (4, 5, []),
        (7, 9, ["def g():\n", "    return None"]),  # the document's end: no ending needed
        (0, 1, ["import sys\n", "import os\n"]),
    ],
)
def test_in_place_is_what_locate_finds(start: int, end: int, new: list[str]) -> None:
    where = in_place(DOC, start, end, new)
    assert where is not None
    old_block, new_block = "".join(DOC[start:end]), "".join(new)
    assert where == locate("".join(DOC), joined(DOC, start, end, new), old_block, new_block)


def test_in_place_keeps_the_lines_it_was_given() -> None:
    lines = tuple(DOC)
    where = in_place(lines, 3, 5, ["def f(x):\n", "    return 0\n"])
    assert where is not None and where.old_lines is lines


@pytest.mark.parametrize(
    ("lines", "start", "end", "new"),
    [
        (["a\r\n", "b\r\n"], 0, 1, ["c\r\n"]),  # other endings: `locate` normalises them
        (DOC, 3, 5, ["def f(x):\n", "    return 0"]),  # would join the next line
        (DOC, 3, 5, ["def f(x):\n    return 0\n"]),  # two lines in one
        (DOC, 3, 5, ["def f(x):\n", ""]),
        (DOC, 1, 3, ["x = 1\n"]),  # an empty old block
        (["a\n", "b", "c\n"], 0, 1, ["d\n"]),  # a line without its ending mid-document
    ],
)
def test_in_place_declines_what_only_locate_can_say(
    lines: list[str], start: int, end: int, new: list[str]
) -> None:
    assert in_place(lines, start, end, new) is None


def test_in_place_agrees_with_locate_on_every_small_edit() -> None:
    """Every block of a small document replaced by each of a few blocks; where the block's
    text also occurs earlier, `locate` may pick that copy, so only unique blocks compare."""
    doc = split_lines("a\n  b\n\nc\nd")
    news = [[], ["x\n"], ["  y\n", "z\n"], ["w"]]
    for start, end in itertools.combinations_with_replacement(range(len(doc) + 1), 2):
        old_block = "".join(doc[start:end])
        for new in news:
            where = in_place(doc, start, end, new)
            if where is None:
                continue
            assert "".join(doc).find(old_block) == len("".join(doc[:start]))
            expected = locate("".join(doc), joined(doc, start, end, new), old_block, "".join(new))
            assert where == expected, (start, end, new)


def test_the_endings_are_judged_per_snapshot_not_by_content_or_the_last_answer() -> None:
    """The endings check is kept for the last lines object: another snapshot, even one
    right after, is judged by its own endings."""
    plain = ("a = 1\n", "def f():\n", "    return 1\n")
    crlf = ("a = 1\r\n", "def f():\r\n", "    return 1\r\n")
    new = ["def f():\n", "    return 2\n"]
    assert in_place(plain, 1, 3, new) is not None
    assert in_place(crlf, 1, 3, new) is None
    assert in_place(plain, 1, 3, new) is not None  # asked again after the other one


@pytest.mark.parametrize(("start", "end"), [(3, 5), (4, 5), (7, 9), (0, 1)])
def test_the_new_lines_are_the_new_document_and_a_span_is_their_slice(start: int, end: int) -> None:
    new = ["    a = 1\n", "    b = 2\n", "    c = 3\n"]
    where = in_place(DOC, start, end, new)
    assert where is not None
    assert where.new_lines == tuple(split_lines(joined(DOC, start, end, new)))
    delta = where.new_end - where.old_end
    for low, high in itertools.combinations(range(len(DOC) + 1), 2):
        assert where.new_span(low, high) == where.new_lines[low : high + delta], (low, high)


def test_a_new_block_that_runs_into_the_next_line_is_not_split_at_a_boundary() -> None:
    old_doc = "".join(DOC)
    merged = joined(DOC, 3, 5, ["def f(x):\n", "    return x"])  # the ending dropped
    assert locate(old_doc, merged, "".join(DOC[3:5]), "def f(x):\n    return x") is None
