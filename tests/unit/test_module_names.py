"""The module-level name scan reads only what changed since the last snapshot it scanned:
whatever the edit, the answer is the one a scan from nothing gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_lsp.analysis.python.names import module_names

LINES = [
    "import os\n",
    "import a.b as c\n",
    "from x import y, z\n",
    "from m import (\n",
    "    p,\n",
    "    q as r,\n",
    ")\n",
    "from s import *\n",
    "def f(a):\n",
    "    return a\n",
    "    global g\n",
    "class K:\n",
    "    k = 1\n",
    "@decorate\n",
    "async def h():\n",
    "if flag:\n",
    "    inside = 1\n",
    "else:\n",
    "try:\n",
    "    import json\n",
    "except ImportError:\n",
    "for i, j in pairs:\n",
    "with open(p) as handle:\n",
    "w = v = 2\n",
    "t: int = 3\n",
    "# a comment\n",
    "\n",
    "last",
]
doc = st.lists(st.sampled_from(LINES), max_size=30)
UNRELATED = ("# nothing of the document above\n",)


def fresh(lines: list[str], skip: tuple[int, int]) -> object:
    """The scan from nothing: after a snapshot that shares no line with `lines`."""
    module_names(UNRELATED, (0, 0))
    return module_names(tuple(lines), skip)


@settings(max_examples=300, deadline=None)
@given(
    before=doc,
    inserted=doc,
    cut=st.tuples(st.integers(0, 30), st.integers(0, 30)),
    skip=st.tuples(st.integers(0, 40), st.integers(0, 40)),
)
def test_an_edit_reads_as_the_whole_edited_text_reads(
    before: list[str], inserted: list[str], cut: tuple[int, int], skip: tuple[int, int]
) -> None:
    low, high = sorted(cut)
    after = before[:low] + inserted + before[high:]
    expected = fresh(after, skip)
    module_names(tuple(before), skip)  # the snapshot before the edit, scanned
    assert module_names(tuple(after), skip) == expected


def test_names_after_a_change_far_from_them_are_found_where_they_moved() -> None:
    lines = ["import os\n", *["x = 1\n"] * 50, "def moved():\n", "    global late\n"]
    module_names(tuple(lines), (0, 0))
    edited = ["# added\n", "# added\n", *lines]
    names = module_names(tuple(edited), (0, 0))
    assert {"os", "x", "moved", "late"} <= names.names
    skipping = module_names(tuple(edited), (len(edited) - 2, len(edited)))
    assert "moved" not in skipping.names and "late" not in skipping.names
    assert "os" in skipping.imports


def test_the_same_text_in_another_snapshot_and_another_skip() -> None:
    lines = ["import os\n", "def f():\n", "    pass\n", "def g():\n", "    pass\n"]
    whole = module_names(tuple(lines), (0, 0))
    assert module_names(tuple(lines), (0, 0)) == whole
    assert "f" not in module_names(tuple(lines), (1, 3)).names
    assert "f" in module_names(tuple(lines), (3, 5)).names
